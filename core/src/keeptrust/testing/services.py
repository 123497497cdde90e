"""Real Redis and PostgreSQL for tests, never mocks.

A test asks for ``redis_url`` (a pytest fixture). It is, in order: ``KEEPTRUST_TEST_REDIS_URL`` when
set (CI starts the server with ``scripts/test-services``), else a ``redis-server`` started from the
PATH on a free loopback port for the test session. Without either the test is skipped, except under
``CI=true``, where a missing service is a failure: a suite must not pass by skipping what it exists
to test.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def missing(what: str) -> None:
    """Skip the test for a service that is not available (fail under CI)."""
    message = f'{what} is not available: run `eval "$(scripts/test-services)"` (installs and starts it)'
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    """The base URL (``redis://127.0.0.1:PORT``) of a Redis for this session; see the module docstring."""
    url = os.environ.get("KEEPTRUST_TEST_REDIS_URL")
    if url:
        yield url.rsplit("/", 1)[0] if url.count("/") > 2 else url
        return
    binary = shutil.which("redis-server")
    if binary is None:
        missing("Redis (redis-server)")
    port = _free_port()
    with tempfile.TemporaryDirectory() as workdir:
        proc = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", workdir],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while not _redis_ping(port):
                if proc.poll() is not None or time.monotonic() > deadline:
                    missing("Redis (redis-server did not start)")
                time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(timeout=10)


@pytest.fixture
def redis_url(redis_server_url: str) -> Iterator[str]:
    """A Redis database emptied for this test (``redis://127.0.0.1:PORT/15``)."""
    url = f"{redis_server_url}/15"
    _redis_flushdb(url)
    try:
        yield url
    finally:
        _redis_flushdb(url)


def _redis_flushdb(url: str) -> None:
    from keeptrust.ratelimit.redis_url import parse_url

    address = parse_url(url)
    commands = [("SELECT", str(address.db)), ("FLUSHDB",)]
    if address.password is not None:
        commands.insert(0, ("AUTH", address.username or "default", address.password))
    with socket.create_connection((address.host, address.port), timeout=5) as sock:
        for command in commands:  # RESP arrays of bulk strings
            sock.sendall(f"*{len(command)}\r\n".encode())
            for arg in command:
                sock.sendall(b"$%d\r\n%s\r\n" % (len(arg.encode()), arg.encode()))
        answer = b""
        while answer.count(b"\r\n") < len(commands):
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    if answer.count(b"+OK\r\n") != len(commands):
        raise RuntimeError(f"the test Redis at {address} did not empty database {address.db}: {answer[:200]!r}")

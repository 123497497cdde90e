"""The gateway as operators run it: `kt gateway run` in its own process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

import httpx
import pytest

from keeptrust.demo import FakeOpenAI, Fault
from keeptrust.testing import openai_target, serve_app
from keeptrust.testing.process import KT
from keeptrust.testing.process import GatewayProcess as Gateway

MARKER = "sk-SECRET-MARKER-7f3a9c2e41"
GATEWAY_KEY = "gw-KEY-MARKER-55b1e0d9a3"


@pytest.fixture
def upstream():
    server = serve_app(FakeOpenAI(token=MARKER))
    yield server
    server.stop()


def _config(upstream_url: str, **server) -> dict:
    return {
        "pack": {"name": "proc", "version": "1.0.0"},
        "server": server,
        "providers": {"targets": [openai_target(upstream_url, secret_key_ref={"env": "UPSTREAM_KEY"})]},
    }


def test_sigterm_drains_an_in_flight_stream_then_exits_0(tmp_path, upstream):
    upstream.app.chunk_delay = 0.15
    upstream.app.reply = "one two three four five six seven eight"
    gw = Gateway(tmp_path, _config(upstream.url), env={"UPSTREAM_KEY": MARKER})
    lines = []
    with httpx.stream(
        "POST",
        gw.url + "/v1/chat/completions",
        timeout=20,
        json={"model": "fake/model", "messages": [{"role": "user", "content": "x"}], "stream": True},
    ) as r:
        for line in r.iter_lines():
            if line and not lines:
                os.killpg(gw.proc.pid, signal.SIGTERM)  # mid-stream
            if line:
                lines.append(line)
    assert lines[-1] == "data: [DONE]"
    assert gw.proc.wait(timeout=30) == 0
    assert "draining in-flight requests" in gw.log.read_text()


def test_workers_share_the_port(tmp_path, upstream):
    gw = Gateway(tmp_path, _config(upstream.url), "--workers", "2", env={"UPSTREAM_KEY": MARKER})
    try:
        for _ in range(6):
            r = httpx.post(
                gw.url + "/v1/chat/completions",
                timeout=10,
                json={"model": "fake/model", "messages": [{"role": "user", "content": "w"}]},
            )
            assert r.status_code == 200
    finally:
        assert gw.stop() == 0


def test_no_secret_ever_appears_in_answers_or_logs(tmp_path, upstream):
    config = _config(upstream.url, auth={"keys": [{"key_ref": {"env": "GATEWAY_KEY"}, "role": "dev"}]})
    gw = Gateway(tmp_path, config, "--log-level", "debug", env={"UPSTREAM_KEY": MARKER, "GATEWAY_KEY": GATEWAY_KEY})
    seen: list[str] = []
    chat = {"model": "fake/model", "messages": [{"role": "user", "content": "hello"}]}
    auth = {"authorization": f"Bearer {GATEWAY_KEY}"}
    try:
        with httpx.Client(base_url=gw.url, timeout=10) as client:
            seen.append(client.post("/v1/chat/completions", json=chat).text)  # no key: 401
            seen.append(
                client.post("/v1/chat/completions", json=chat, headers={"authorization": "Bearer " + MARKER}).text
            )
            seen.append(client.post("/v1/chat/completions", json=chat, headers=auth).text)  # ok
            # The upstream echoes the credentials it got in its error (a real pattern).
            for status in (401, 400, 500, 500, 500):
                upstream.app.fail_next(
                    Fault(status=status, body={"error": {"message": f"bad key Bearer {MARKER} {MARKER}"}})
                )
            seen.append(client.post("/v1/chat/completions", json=chat, headers=auth).text)
            seen.append(client.post("/v1/chat/completions", json=chat, headers=auth).text)
            seen.append(client.post("/v1/chat/completions", json=chat, headers=auth).text)
            seen.append(client.post("/v1/chat/completions", json={**chat, "stream": True}, headers=auth).text)
            seen.append(client.get("/v1/models", headers=auth).text)
    finally:
        assert gw.stop() == 0
    log = gw.log.read_text()
    everything = "\n".join(seen) + log
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.name != "policy-config.yaml":
            everything += path.read_text(errors="replace")
    assert MARKER not in everything and GATEWAY_KEY not in everything
    # The 401 names the variable in the operator's log only: clients never learn where keys live.
    assert "UPSTREAM_KEY" not in "\n".join(seen)
    assert "UPSTREAM_KEY" in log
    assert upstream.app.requests[-1].headers["authorization"] == f"Bearer {MARKER}"


def test_config_errors_stop_the_gateway_with_a_clear_message(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "providers:\n  targets:\n    - id: x\n      provider: openai\n      base_url: http://127.0.0.1:1/v1\n"
        "      secret_key_ref: {env: NOT_SET_ANYWHERE}\n"
    )
    result = subprocess.run(
        [KT, "gateway", "run", "--policy-config", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "KEEPTRUST_LOAD_PLUGINS": "none"},
        timeout=30,
    )
    assert result.returncode == 1
    assert "NOT_SET_ANYWHERE" in result.stderr and "target 'x'" in result.stderr


def test_cli_validate_and_plugins_list(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("providers:\n  targets:\n    - {id: x, provider: openai, base_url: 'http://127.0.0.1:1/v1'}\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("pack:\n  nmae: x\n")
    env = {**os.environ, "KEEPTRUST_LOAD_PLUGINS": "none"}
    ok = subprocess.run([KT, "config", "validate", str(good)], capture_output=True, text=True, env=env)
    assert ok.returncode == 0 and "OK" in ok.stdout
    ko = subprocess.run([KT, "config", "validate", str(bad)], capture_output=True, text=True, env=env)
    assert ko.returncode == 1 and f"{bad}:2: pack.nmae: unknown key; did you mean 'name'?" in ko.stderr
    listing = subprocess.run([KT, "plugins", "list"], capture_output=True, text=True, env=env)
    assert "openai_provider (built-in): keeptrust" in listing.stdout and "provider: openai" in listing.stdout
    disabled = subprocess.run(
        [KT, "plugins", "list", "--disable-plugin", "router_policy"], capture_output=True, text=True, env=env
    )
    assert "router_policy" not in disabled.stdout


def _connect(gw: Gateway) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
    return sock


def _read_answer(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def _connect_served(gw: Gateway) -> socket.socket:
    """A kept-alive connection that got a 200: the gateway counts a closed connection (the
    readiness probe's, a test's own) only once it has read its EOF, so a place may take a moment."""
    deadline = time.monotonic() + 5
    while True:
        sock = _connect(gw)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        if _read_answer(sock).startswith(b"HTTP/1.1 200"):
            return sock
        sock.close()
        assert time.monotonic() < deadline, "no place freed within 5 s"
        time.sleep(0.05)


def test_dripped_headers_get_408_within_the_header_deadline(tmp_path, upstream):
    # --workers 2: each worker process applies the deadline itself.
    config = _config(upstream.url, header_timeout_seconds=1, keep_alive_timeout_seconds=30)
    gw = Gateway(tmp_path, config, "--workers", "2", env={"UPSTREAM_KEY": MARKER})
    try:
        # A slowloris: one header line every 0.2 s, never the blank line that ends them.
        with _connect(gw) as sock:
            started = time.monotonic()
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            sock.settimeout(0.2)
            answer = b""
            for i in range(50):
                try:
                    sock.sendall(b"X-Drip-%d: y\r\n" % i)
                    answer += sock.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if answer.endswith(b"}"):
                    break
            elapsed = time.monotonic() - started
        assert answer.startswith(b"HTTP/1.1 408 "), answer
        assert b'"code":"request_timeout"' in answer and b"header_timeout_seconds" in answer
        assert elapsed < 5
        # A new connection that sends nothing is cut the same way.
        with _connect(gw) as sock:
            assert _read_answer(sock).startswith(b"HTTP/1.1 408 ")
        # A keep-alive connection may stay idle longer than the header deadline between requests.
        with _connect(gw) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert _read_answer(sock).startswith(b"HTTP/1.1 200")
            time.sleep(1.5)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert _read_answer(sock).startswith(b"HTTP/1.1 200")
        assert httpx.get(gw.url + "/healthz", timeout=5).status_code == 200
    finally:
        assert gw.stop() == 0
    assert "request headers not complete in time" in gw.log.read_text()


def test_open_connections_per_client_are_capped(tmp_path, upstream):
    gw = Gateway(tmp_path, _config(upstream.url, max_connections_per_client=2), env={"UPSTREAM_KEY": MARKER})
    try:
        held = [_connect_served(gw), _connect_served(gw)]
        with _connect(gw) as extra:
            answer = _read_answer(extra)
        assert answer.startswith(b"HTTP/1.1 429 "), answer
        assert b"retry-after: 1" in answer.lower() and b'"code":"too_many_connections"' in answer
        held.pop().close()
        held.append(_connect_served(gw))  # the freed place can be taken again
        for sock in held:
            sock.close()
    finally:
        assert gw.stop() == 0
    assert "over the per-client connection cap" in gw.log.read_text()

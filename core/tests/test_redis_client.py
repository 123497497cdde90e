"""The rate limiter's trio-native Redis client against real redis-server processes: a password, a
Unix socket, a flushed script cache, a server that stops answering, one that is killed and restarted."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
import trio

from keeptrust.ratelimit import Rate, StoreUnavailable
from keeptrust.ratelimit.redis_client import RedisClient, ReplyError, Script
from keeptrust.ratelimit.redis_store import GCRA_LUA, RedisStore
from keeptrust.ratelimit.redis_url import parse_url
from keeptrust.testing.services import missing

PASSWORD = "s3cret-Pa55/word"  # a '/' to check it is read from the URL, percent-encoded
BURST_5 = Rate(per_minute=60, burst=5)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisProcess:
    """A redis-server of this test's own, on a loopback port (and a Unix socket), no persistence."""

    def __init__(self, tmp: str, *args: str) -> None:
        self.port = _free_port()
        self.socket = os.path.join(tmp, f"redis-{self.port}.sock")
        self.args = args
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            missing("Redis (redis-server)")
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--unixsocket",
                self.socket,
                "--unixsocketperm",
                "700",
                *self.args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:  # answering at all (PING may be refused for want of a password)
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64):
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                missing("Redis (redis-server did not start)")
            time.sleep(0.02)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)
        self.proc.kill()
        self.proc.wait(timeout=10)

    def pause(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def url(self, db: int = 0, password: str | None = None, user: str = "") -> str:
        auth = f"{user}:{password.replace('/', '%2F')}@" if password is not None else ""
        return f"redis://{auth}127.0.0.1:{self.port}/{db}"


@pytest.fixture
def redis_process(tmp_path) -> Iterator:
    started: list[RedisProcess] = []

    def start(*args: str) -> RedisProcess:
        started.append(RedisProcess(str(tmp_path), *args))
        return started[-1]

    yield start
    for server in started:
        if server.proc is not None and server.proc.poll() is None:
            server.kill()


async def test_many_tasks_share_a_small_pool_and_count_exactly(redis_url):
    # 300 tasks queue for 4 connections, and the wait for one counts against a call's timeout: the
    # default 250 ms ran out on a busy CI machine. What is checked here is sharing and counting.
    client = RedisClient(redis_url, max_connections=4, timeout=10)
    store = RedisStore(redis_url, max_connections=4, timeout=10)
    allowed = []

    async def one(i: int) -> None:
        await client.execute("INCR", "keeptrust:test:count")
        allowed.append((await store.take("keeptrust:test:limit", Rate(per_minute=37, burst=37), 1)).allowed)

    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            for i in range(300):
                nursery.start_soon(one, i)
    assert await client.execute("GET", "keeptrust:test:count") == b"300"
    assert allowed.count(True) == 37
    assert client.idle <= 4 and store.client.idle <= 4
    await client.aclose()
    await store.aclose()
    assert client.idle == 0


async def test_the_script_is_sent_again_after_script_flush(redis_process):
    server = redis_process()
    store = RedisStore(server.url())
    assert (await store.take("k", BURST_5, 1)).allowed
    await store.client.execute("SCRIPT", "FLUSH")
    assert await store.client.execute("SCRIPT", "EXISTS", GCRA_LUA.sha) == [0]
    second = await store.take("k", BURST_5, 1)
    assert second.allowed and second.remaining == 3  # the state survived; only the script was gone
    assert await store.client.execute("SCRIPT", "EXISTS", GCRA_LUA.sha) == [1]
    with pytest.raises(ReplyError, match="NOSCRIPT"):  # a plain EVALSHA has no fallback
        await store.client.execute("EVALSHA", Script("return 1").sha, 0)
    await store.aclose()


async def test_a_password_and_a_database_from_the_url(redis_process):
    server = redis_process("--requirepass", PASSWORD)
    for url in (server.url(db=3, password=PASSWORD), server.url(db=3, password=PASSWORD, user="default")):
        store = RedisStore(url)
        assert (await store.take("k", BURST_5, 1)).allowed
        assert await store.client.execute("EXISTS", "k") == 1
        await store.aclose()
    other = RedisClient(server.url(db=0, password=PASSWORD))
    assert await other.execute("EXISTS", "k") == 0  # the key went to database 3
    assert await other.execute("CONFIG", "GET", "databases")  # logged in
    await other.aclose()


@pytest.mark.parametrize("password", [None, "wrong-password-42"])
async def test_a_wrong_or_missing_password_never_leaks(redis_process, password):
    server = redis_process("--requirepass", PASSWORD)
    store = RedisStore(server.url(password=password))
    with pytest.raises(StoreUnavailable) as caught:
        await store.take("k", BURST_5, 1)
    message = str(caught.value)
    assert ("WRONGPASS" if password else "NOAUTH") in message
    assert f"127.0.0.1:{server.port}" in message
    assert "wrong-password-42" not in message and PASSWORD not in message
    if password:  # a connection that failed its login is not kept
        assert store.client.idle == 0
    await store.aclose()


async def test_a_unix_socket(redis_process):
    server = redis_process()
    store = RedisStore(f"unix://{server.socket}?db=2")
    assert (await store.take("k", BURST_5, 1)).allowed
    check = RedisClient(server.url(db=2))
    assert await check.execute("EXISTS", "k") == 1
    await store.aclose()
    await check.aclose()


async def test_a_server_that_stops_answering_times_out_and_its_connection_is_dropped(redis_process):
    server = redis_process()
    store = RedisStore(server.url(), timeout=0.3)
    client = store.client
    assert await client.execute("ECHO", "warm") == b"warm"
    assert client.idle == 1
    server.pause()
    try:
        started = trio.current_time()
        with pytest.raises(StoreUnavailable, match=r"did not answer within 300 ms"):
            await store.take("k", BURST_5, 1)
        assert trio.current_time() - started < 2
        assert client.idle == 0  # the connection with an unread reply is closed
        # Cancelled from outside midway, the same: the connection is not lent again.
        other = RedisClient(server.url(), timeout=5)
        with trio.move_on_after(0.2):
            await other.execute("ECHO", "lost")
        assert other.idle == 0
    finally:
        server.resume()
    # The resumed server answers the abandoned commands; those replies must not reach the next ones.
    assert await client.execute("ECHO", "next") == b"next"
    assert await other.execute("ECHO", "next2") == b"next2"
    await store.aclose()
    await other.aclose()


async def test_a_killed_server_then_its_restart(redis_process):
    server = redis_process()
    store = RedisStore(server.url(), timeout=0.5)
    assert (await store.take("k", BURST_5, 1)).allowed
    server.kill()
    with pytest.raises(StoreUnavailable, match=rf"Redis at 127\.0\.0\.1:{server.port}"):
        await store.take("k", BURST_5, 1)
    with pytest.raises(StoreUnavailable, match="cannot connect"):
        await store.take("k", BURST_5, 1)
    server.start()
    assert (await store.take("k", BURST_5, 1)).allowed
    # Restarted while connections sat idle: they fail before any reply, and the call goes on to a
    # new connection without an error (the command never reached a server, so it is not doubled).
    assert store.client.idle == 1
    server.kill()
    server.start()
    outcome = await store.take("k", BURST_5, 1)
    assert outcome.allowed and outcome.remaining == 4  # the new server's first (and only) charge
    await store.aclose()


def test_urls_are_read_like_redis_py_and_errors_never_quote_them():
    address = parse_url("rediss://alice:p%40ss@cache.example:6380/4?ssl_cert_reqs=none")
    assert (address.host, address.port, address.db, address.tls) == ("cache.example", 6380, 4, True)
    assert (address.username, address.password, address.ssl_cert_reqs) == ("alice", "p@ss", "none")
    assert "p@ss" not in repr(address) and str(address) == "cache.example:6380"
    assert parse_url("redis://:pw@[::1]").host == "::1" and str(parse_url("redis://[::1]")) == "[::1]:6379"
    unix = parse_url("unix:///run/redis.sock?db=2&password=pw")
    assert (unix.path, unix.db, unix.password, str(unix)) == ("/run/redis.sock", 2, "pw", "unix:/run/redis.sock")
    for bad in (
        "http://u:hunter2@host",
        "redis://u:hunter2@host:port/0",
        "redis://u:hunter2@host/zero",
        "redis://u:hunter2@host/0?timeout=1",
        "redis://u:hunter2@/0",
        "unix://u:hunter2@",
        "rediss://u:hunter2@host?ssl_cert_reqs=maybe",
    ):
        with pytest.raises(ValueError) as caught:
            parse_url(bad)
        assert "hunter2" not in str(caught.value), bad

"""The upstream transport: pooling, stale keep-alive connections, timeouts and errors."""

from __future__ import annotations

import socket
import ssl

import httpx
import pytest
import trio

from keeptrust.demo import FakeOpenAI
from keeptrust.h11_transport import TrioH11Transport
from keeptrust.testing import BackgroundServer

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def server():
    srv = BackgroundServer(FakeOpenAI(chunk_delay=0.05))
    srv.config.keep_alive_timeout = 0.3  # the server drops idle connections quickly
    srv.start()
    yield srv
    srv.stop()


def _client(**kwargs) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=TrioH11Transport(**kwargs), timeout=5)


async def test_sequential_requests_reuse_one_connection(server):
    transport = TrioH11Transport()
    async with httpx.AsyncClient(transport=transport, timeout=5) as client:
        for _ in range(5):
            r = await client.post(server.url + "/v1/chat/completions", json=CHAT)
            assert r.json()["choices"][0]["message"]["content"] == "You said: hi"
        assert sum(len(v) for v in transport._idle.values()) == 1


async def test_concurrent_requests_open_parallel_connections(server):
    transport = TrioH11Transport()
    async with httpx.AsyncClient(transport=transport, timeout=5) as client:

        async def one() -> None:
            r = await client.post(server.url + "/v1/chat/completions", json={**CHAT, "stream": True})
            assert r.text.endswith("data: [DONE]\n\n")

        async with trio.open_nursery() as nursery:
            for _ in range(4):
                nursery.start_soon(one)
        assert sum(len(v) for v in transport._idle.values()) == 4


async def test_connection_closed_by_server_while_idle_is_replaced(server):
    async with _client(keepalive_expiry=60) as client:
        await client.post(server.url + "/v1/chat/completions", json=CHAT)
        await trio.sleep(0.8)  # past the server's keep-alive timeout: the pooled connection is dead
        r = await client.post(server.url + "/v1/chat/completions", json=CHAT)
        assert r.status_code == 200


async def test_streamed_body_arrives_in_parts_and_partial_read_is_not_pooled(server):
    transport = TrioH11Transport()
    async with httpx.AsyncClient(transport=transport, timeout=5) as client:
        async with client.stream("POST", server.url + "/v1/chat/completions", json={**CHAT, "stream": True}) as r:
            parts = [p async for p in r.aiter_raw()]
        assert len(parts) > 2
        assert sum(len(v) for v in transport._idle.values()) == 1
        async with client.stream("POST", server.url + "/v1/chat/completions", json={**CHAT, "stream": True}) as r:
            async for _ in r.aiter_raw():
                break
        # Abandoned mid-answer: the connection is closed, never handed to the next request.
        assert sum(len(v) for v in transport._idle.values()) == 0


async def test_read_timeout(server):
    server.app.fail_next(delay=1.0)
    async with httpx.AsyncClient(transport=TrioH11Transport(), timeout=httpx.Timeout(5, read=0.2)) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post(server.url + "/v1/chat/completions", json=CHAT)


async def test_connect_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with _client() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/")


async def test_connection_limit_waits_then_times_out(server):
    server.app.chunk_delay = 0.3
    async with (
        httpx.AsyncClient(transport=TrioH11Transport(max_connections=1), timeout=httpx.Timeout(5, pool=0.2)) as client,
        client.stream("POST", server.url + "/v1/chat/completions", json={**CHAT, "stream": True}),
    ):
        with pytest.raises(httpx.PoolTimeout):
            await client.post(server.url + "/v1/chat/completions", json=CHAT)


@pytest.fixture
def tls_server(tmp_path):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("localhost")
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_path))
    cert.private_key_pem.write_to_path(str(key_path))
    srv = BackgroundServer(FakeOpenAI())
    srv.config.certfile, srv.config.keyfile = str(cert_path), str(key_path)
    srv.config.bind = ["localhost:0"]
    srv.start()
    yield srv, ca
    srv.stop()


async def test_https_with_certificate_verification(tls_server):
    srv, ca = tls_server
    port = srv.url.rsplit(":", 1)[1]
    trusted = ssl.create_default_context()
    ca.configure_trust(trusted)
    async with httpx.AsyncClient(transport=TrioH11Transport(ssl_context=trusted), timeout=5) as client:
        r = await client.post(f"https://localhost:{port}/v1/chat/completions", json=CHAT)
        assert r.json()["choices"][0]["message"]["content"] == "You said: hi"
    # Without the CA (the default context trusts the public roots only) the certificate is refused.
    async with httpx.AsyncClient(transport=TrioH11Transport(), timeout=5) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"https://localhost:{port}/v1/models")

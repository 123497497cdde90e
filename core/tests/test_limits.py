"""Bad input always gets an OpenAI-shaped error with the right status, and the gateway keeps serving."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

CHAT = {"model": "fake/model", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def gw(gateway_factory, simple_config, env):
    simple_config["server"] = {
        "max_body_bytes": 4096,
        "body_timeout_seconds": 0.5,
        "max_header_bytes": 2048,
        "max_streams_per_client": 2,
    }
    return gateway_factory(simple_config, environ=env)


def _ok(gw):
    r = httpx.post(gw.base_url + "/chat/completions", json=CHAT)
    assert r.status_code == 200, r.text


def _error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["code"] == code
    return body["error"]


def _raw(gw, data: bytes, wait: float = 5.0) -> bytes:
    host, port = gw.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks) and b'"error"' in b"".join(chunks):
                    break
        except TimeoutError:
            pass
    return b"".join(chunks)


def test_malformed_json(gw):
    err = _error(
        httpx.post(
            gw.base_url + "/chat/completions", content=b'{"model": ', headers={"content-type": "application/json"}
        ),
        400,
        "invalid_json",
    )
    assert "not valid JSON" in err["message"]
    _error(httpx.post(gw.base_url + "/chat/completions", json=[1, 2]), 400, "invalid_json")
    _ok(gw)


def test_wrong_types_and_missing_fields_name_the_param(gw):
    err = _error(
        httpx.post(gw.base_url + "/chat/completions", json={"model": "fake/model"}), 400, "missing_required_parameter"
    )
    assert err["param"] == "messages"
    err = _error(
        httpx.post(gw.base_url + "/chat/completions", json={**CHAT, "temperature": "hot"}), 400, "invalid_type"
    )
    assert err["param"] == "temperature"
    err = _error(httpx.post(gw.base_url + "/chat/completions", json={**CHAT, "stream": "yes"}), 400, "invalid_type")
    assert err["param"] == "stream"
    err = _error(
        httpx.post(gw.base_url + "/embeddings", json={"model": "fake/model", "input": {"a": 1}}), 400, "invalid_type"
    )
    assert err["param"] == "input"
    _ok(gw)


def test_body_over_limit_is_413_by_header_and_while_reading(gw):
    big = {**CHAT, "messages": [{"role": "user", "content": "x" * 5000}]}
    _error(httpx.post(gw.base_url + "/chat/completions", json=big), 413, "request_too_large")

    def chunks():
        for _ in range(10):
            yield b" " * 1000

    _error(
        httpx.post(gw.base_url + "/chat/completions", content=chunks(), headers={"content-type": "application/json"}),
        413,
        "request_too_large",
    )
    _ok(gw)


def test_unsupported_media_type_and_deep_json(gw):
    _error(
        httpx.post(gw.base_url + "/chat/completions", content=b"a=b", headers={"content-type": "text/plain"}),
        415,
        "unsupported_media_type",
    )
    deep = b'{"model": "fake/model", "messages": ' + b"[" * 100 + b"]" * 100 + b"}"
    err = _error(
        httpx.post(gw.base_url + "/chat/completions", content=deep, headers={"content-type": "application/json"}),
        400,
        "invalid_json",
    )
    assert "nested deeper" in err["message"]
    _ok(gw)


def test_unknown_route_and_wrong_method(gw):
    _error(httpx.get(gw.url + "/v2/whatever"), 404, "not_found")
    _error(httpx.get(gw.base_url + "/chat/completions"), 405, "method_not_allowed")
    _error(httpx.post(gw.base_url + "/models"), 405, "method_not_allowed")
    assert httpx.get(gw.url + "/healthz").json() == {"status": "ok"}
    assert httpx.get(gw.url + "/readyz").status_code == 200


def test_slow_body_gets_408(gw):
    host, port = gw.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"model"'
        )
        time.sleep(1.0)  # longer than body_timeout_seconds (0.5 s): the gateway answers on its own
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 408") and b'"request_timeout"' in answer
    _ok(gw)


def test_headers_over_limit_are_431(gw):
    headers = {f"x-filler-{i}": "y" * 100 for i in range(30)}
    _error(httpx.post(gw.base_url + "/chat/completions", json=CHAT, headers=headers), 431, "headers_too_large")
    _ok(gw)


def test_content_length_with_chunked_is_refused(gw):
    request = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{}\n\r\n0\r\n\r\n"
    )
    answer = _raw(gw, request)
    assert answer.startswith(b"HTTP/1.1 400") and b"ambiguous_framing" in answer
    _ok(gw)


def test_concurrent_streams_per_client_are_bounded(fake_upstream, gw):
    fake_upstream.app.chunk_delay = 0.2
    body = {**CHAT, "stream": True}
    with httpx.Client(timeout=10) as client:
        streams = [client.stream("POST", gw.base_url + "/chat/completions", json=body) for _ in range(2)]
        opened = [s.__enter__() for s in streams]
        try:
            assert all(r.status_code == 200 for r in opened)
            third = client.post(gw.base_url + "/chat/completions", json=body)
            _error(third, 429, "rate_limit_exceeded")
        finally:
            for s in streams:
                s.__exit__(None, None, None)
    fake_upstream.app.chunk_delay = 0
    _ok(gw)

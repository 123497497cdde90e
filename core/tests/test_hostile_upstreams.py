"""A real gateway process in front of a loopback upstream that misbehaves on demand: answers too
large to hold, event-stream lines that never end, redirects, answers of the wrong shape."""

from __future__ import annotations

import time

import httpx
import pytest

from keeptrust.demo import FakeOpenAI, Fault
from keeptrust.testing import openai_target, serve_app
from keeptrust.testing.process import GatewayProcess

KEY = "sk-hostile-upstream-key-6c1d0a9f"
CHAT = {"model": "fake/model", "messages": [{"role": "user", "content": "hi"}]}
MIB = 1 << 20


@pytest.fixture(scope="module")
def upstream():
    server = serve_app(FakeOpenAI(token=KEY))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def gateway(upstream, tmp_path_factory):
    config = {
        "pack": {"name": "hostile", "version": "1.0.0"},
        "providers": {"targets": [openai_target(upstream.url, secret_key_ref={"env": "UPSTREAM_KEY"}, max_retries=0)]},
    }
    gw = GatewayProcess(tmp_path_factory.mktemp("gw"), config, env={"UPSTREAM_KEY": KEY})
    yield gw
    gw.stop()


def _upstream_error(response: httpx.Response) -> dict:
    assert response.status_code == 502, response.text[:300]
    error = response.json()["error"]
    assert error["type"] == "upstream_error"
    assert "target 'fake'" in error["message"]
    return error


@pytest.mark.parametrize("declare_length", [False, True])
def test_a_huge_answer_is_a_quick_502_and_memory_stays_flat(gateway, upstream, declare_length):
    httpx.post(gateway.url + "/v1/chat/completions", json=CHAT, timeout=30).raise_for_status()
    before = gateway.rss_bytes()
    for _ in range(3):
        upstream.app.fail_next(Fault(body_bytes=80 * MIB, declare_length=declare_length))
        started = time.monotonic()
        response = httpx.post(gateway.url + "/v1/chat/completions", json=CHAT, timeout=60)
        elapsed = time.monotonic() - started
        error = _upstream_error(response)
        assert "larger than 32 MiB" in error["message"]
        assert elapsed < 20, elapsed
    # At most the 32 MiB bound is buffered, and freed with the failed request: three such answers
    # cost no more memory than one.
    assert gateway.rss_bytes() - before < 24 * MIB
    httpx.post(gateway.url + "/v1/chat/completions", json=CHAT, timeout=30).raise_for_status()


def test_an_endless_event_stream_line_ends_the_stream_with_an_error(gateway, upstream):
    upstream.app.fail_next(Fault(endless_line_bytes=200 * MIB))
    before = gateway.rss_bytes()
    started = time.monotonic()
    with httpx.stream("POST", gateway.url + "/v1/chat/completions", json={**CHAT, "stream": True}, timeout=60) as r:
        assert r.status_code == 200
        events = [line for line in r.iter_lines() if line.startswith("data:")]
    assert time.monotonic() - started < 20
    assert "max_event_bytes" in events[-1], events[-1][:300]
    assert '"upstream_error"' in events[-1]
    assert gateway.rss_bytes() - before < 40 * MIB
    httpx.post(gateway.url + "/v1/chat/completions", json=CHAT, timeout=30).raise_for_status()


def test_a_redirect_is_a_502_and_is_not_followed(gateway, upstream):
    seen = len(upstream.app.requests)
    upstream.app.fail_next(status=302, headers={"location": upstream.url + "/v1/models"}, body={})
    error = _upstream_error(httpx.post(gateway.url + "/v1/chat/completions", json=CHAT, timeout=30))
    assert "redirect (302)" in error["message"]
    assert len(upstream.app.requests) == seen + 1


def test_a_401_does_not_name_the_environment_variable(gateway, upstream):
    upstream.app.fail_next(status=401)
    response = httpx.post(gateway.url + "/v1/chat/completions", json=CHAT, timeout=30)
    assert response.status_code == 401
    assert "UPSTREAM_KEY" not in response.text
    assert "UPSTREAM_KEY" in gateway.log.read_text()  # the operator's log says where to look


WRONG_SHAPES = [
    ("/v1/chat/completions", CHAT, {"id": "x", "object": "chat.completion"}, "`choices` is missing"),
    ("/v1/chat/completions", CHAT, {"choices": [{"index": 0, "text": "hi"}]}, "`choices[0]` has no `message`"),
    ("/v1/chat/completions", CHAT, {"error": "overloaded"}, "`choices` is missing"),
    ("/v1/chat/completions", CHAT, ["not", "an", "object"], "not a JSON object"),
    ("/v1/embeddings", {"model": "fake/model", "input": "hi"}, {"data": [{"index": 0}]}, "no `embedding`"),
    ("/v1/embeddings", {"model": "fake/model", "input": "hi"}, {"object": "list"}, "`data` is missing"),
    ("/v1/images/generations", {"model": "fake/model", "prompt": "a cat"}, {"data": [{}]}, "neither `url`"),
    ("/v1/responses", {"model": "fake/model", "input": "hi"}, {"id": "resp_1"}, "`output` is missing"),
]


@pytest.mark.parametrize(("path", "request_body", "answer", "problem"), WRONG_SHAPES)
def test_an_answer_of_the_wrong_shape_is_a_502_never_a_200(gateway, upstream, path, request_body, answer, problem):
    upstream.app.fail_next(Fault(body=answer))
    error = _upstream_error(httpx.post(gateway.url + path, json=request_body, timeout=30))
    assert "is not a valid" in error["message"] and problem in error["message"], error["message"]


def test_a_stream_chunk_of_the_wrong_shape_ends_the_stream_with_an_error(gateway, upstream):
    upstream.app.fail_next(
        Fault(body=b'data: {"choices": [{"index": 0, "delta": {"content": "hi"}}]}\n\ndata: {"oops": 1}\n\n')
    )
    with httpx.stream("POST", gateway.url + "/v1/chat/completions", json={**CHAT, "stream": True}, timeout=30) as r:
        events = [line for line in r.iter_lines() if line.startswith("data:")]
    assert '"hi"' in events[0]
    assert "not a valid chat completion stream" in events[-1] and "`choices` is missing" in events[-1]


def _echoes_of(key: str) -> list[str]:
    import base64

    return [
        " ".join(key),  # spaced out
        key[:9] + "\n" + key[9:20] + "\r\n" + key[20:],  # split over lines
        "-".join(key[i : i + 4] for i in range(0, len(key), 4)),  # broken up by separators
        base64.b64encode(key.encode()).decode(),
        base64.b64encode(f"gateway:{key}".encode()).decode(),  # a Basic credential
        base64.urlsafe_b64encode(f'{{"token": "{key}"}}'.encode()).decode(),
    ]


@pytest.mark.parametrize("status", [400, 500])
def test_the_key_echoed_spaced_split_or_base64_never_reaches_the_client_or_the_log(gateway, upstream, status):
    import base64

    for echo in _echoes_of(KEY):
        upstream.app.fail_next(status=status, body={"error": {"message": f"invalid credential: {echo}"}})
        response = httpx.post(gateway.url + "/v1/chat/completions", json=CHAT, timeout=30)
        assert response.status_code == (400 if status == 400 else 502)
        message = response.json()["error"]["message"]
        assert "***" in message, message
        assert echo not in message
    seen = response.text + gateway.log.read_text()
    compact = "".join(ch for ch in seen if ch.isalnum())
    assert "".join(ch for ch in KEY if ch.isalnum()) not in compact
    assert base64.b64encode(KEY.encode()).decode()[4:-4] not in seen

"""Upstream faults: retries before the first byte, clear errors after, cancellation on disconnect."""

from __future__ import annotations

import socket
import time

import httpx
import openai
import pytest

from keeptrust.demo import Fault
from keeptrust.testing import openai_target

MSG = [{"role": "user", "content": "hello"}]


def test_429_and_5xx_are_retried_with_backoff(fake_upstream, gateway_factory, simple_config, env):
    gw = gateway_factory(simple_config, environ=env)
    fake_upstream.app.fail_next(status=429, retry_after=0.1)
    fake_upstream.app.fail_next(status=502)
    answer = gw.client().chat.completions.create(model="fake/model", messages=MSG)
    assert answer.choices[0].message.content == "You said: hello"
    assert [r.path for r in fake_upstream.app.requests].count("/v1/chat/completions") == 3


def test_final_5xx_is_502_with_a_clear_message(fake_upstream, gateway_factory, simple_config, env):
    simple_config["providers"]["targets"][0]["max_retries"] = 1
    gw = gateway_factory(simple_config, environ=env)
    for _ in range(2):
        fake_upstream.app.fail_next(status=500)
    with pytest.raises(openai.InternalServerError) as err:
        gw.client().chat.completions.create(model="fake/model", messages=MSG)
    assert err.value.status_code == 502
    assert "target 'fake': the upstream failed with 500" in err.value.body["message"]


def test_unreachable_upstream_is_502(gateway_factory, env):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = {"providers": {"targets": [openai_target(f"http://127.0.0.1:{port}", max_retries=1)]}}
    gw = gateway_factory(config, environ=env)
    with pytest.raises(openai.InternalServerError) as err:
        gw.client().chat.completions.create(model="fake/model", messages=MSG)
    assert err.value.status_code == 502 and "could not be reached" in err.value.body["message"]


def test_upstream_timeout_is_504(fake_upstream, gateway_factory, simple_config, env):
    simple_config["providers"]["targets"][0].update(timeout_seconds=0.3, max_retries=0)
    gw = gateway_factory(simple_config, environ=env)
    fake_upstream.app.fail_next(delay=2.0)
    with pytest.raises(openai.APIStatusError) as err:
        gw.client().chat.completions.create(model="fake/model", messages=MSG)
    assert err.value.status_code == 504 and err.value.body["code"] == "upstream_timeout"


def test_a_generic_target_retries_a_503_at_most_max_retries(fake_upstream, gateway_factory, simple_config, env):
    # A Hugging Face cold-start body means nothing to an OpenAI-compatible target: it gets the
    # bounded retries every error answer gets, not a wait as long as the request's budget.
    simple_config["providers"]["targets"][0].update(max_retries=2, timeout_seconds=30)
    gw = gateway_factory(simple_config, environ=env)
    loading = {"error": "Model fake/model is currently loading", "estimated_time": 30.0}
    for _ in range(20):
        fake_upstream.app.fail_next(status=503, body=loading)
    before = len(fake_upstream.app.requests)
    with pytest.raises(openai.APIStatusError) as err:
        gw.client(max_retries=0).chat.completions.create(model="fake/model", messages=MSG)
    assert err.value.status_code == 503
    assert len(fake_upstream.app.requests) - before == 3  # the first attempt and max_retries more
    fake_upstream.app.faults.clear()


def test_a_generic_target_honours_retry_after(fake_upstream, gateway_factory, simple_config, env):
    simple_config["providers"]["targets"][0].update(max_retries=2, timeout_seconds=5)
    gw = gateway_factory(simple_config, environ=env)
    # A short Retry-After is waited for, then the retry succeeds.
    fake_upstream.app.fail_next(status=503, headers={"retry-after": "0"})
    answer = gw.client(max_retries=0).chat.completions.create(model="fake/model", messages=MSG)
    assert answer.choices[0].message.content == "You said: hello"
    # One beyond the request's budget is not waited for: the client gets the error and the hint.
    before = len(fake_upstream.app.requests)
    fake_upstream.app.fail_next(status=503, headers={"retry-after": "120"})
    with pytest.raises(openai.APIStatusError) as err:
        gw.client(max_retries=0).chat.completions.create(model="fake/model", messages=MSG)
    assert err.value.status_code == 503 and err.value.response.headers["retry-after"] == "120"
    assert len(fake_upstream.app.requests) - before == 1


def test_reset_mid_stream_raises_in_the_sdk(fake_upstream, gateway_factory, simple_config, env):
    gw = gateway_factory(simple_config, environ=env)
    fake_upstream.app.fail_next(Fault(reset_after_chunks=3))
    stream = gw.client().chat.completions.create(model="fake/model", messages=MSG, stream=True)
    with pytest.raises(openai.APIError) as err:
        for _ in stream:
            pass
    assert "stream broke" in str(err.value.message) or "upstream" in str(err.value.message)


def test_error_before_stream_starts_is_a_json_error(fake_upstream, gateway_factory, simple_config, env):
    simple_config["providers"]["targets"][0]["max_retries"] = 0
    gw = gateway_factory(simple_config, environ=env)
    fake_upstream.app.fail_next(
        status=400, body={"error": {"message": "bad stop sequence", "type": "invalid_request_error"}}
    )
    with pytest.raises(openai.BadRequestError) as err:
        gw.client().chat.completions.create(model="fake/model", messages=MSG, stream=True)
    assert "bad stop sequence" in err.value.body["message"]


def test_client_disconnect_cancels_the_upstream_stream(fake_upstream, gateway_factory, simple_config, env):
    fake_upstream.app.chunk_delay = 0.2
    gw = gateway_factory(simple_config, environ=env)
    with (
        httpx.Client(timeout=10) as client,
        client.stream(
            "POST", gw.base_url + "/chat/completions", json={"model": "fake/model", "messages": MSG, "stream": True}
        ) as response,
    ):
        next(response.iter_raw())
    deadline = time.monotonic() + 5
    while fake_upstream.app.cancelled == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake_upstream.app.cancelled == 1

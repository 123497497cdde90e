"""End to end with the official openai client, as users drive the gateway."""

from __future__ import annotations

import base64
import struct

import httpx
import openai
import pytest

from keeptrust.demo import Fault


def test_chat_non_stream(fake_upstream, gateway_factory, simple_config, env):
    gw = gateway_factory(simple_config, environ=env)
    answer = gw.client().chat.completions.create(
        model="fake/model", messages=[{"role": "user", "content": "Hello gateway"}], temperature=0.3, max_tokens=10
    )
    assert answer.choices[0].message.content == "You said: Hello gateway"
    assert answer.usage.total_tokens > 0
    sent = fake_upstream.app.last
    assert sent.path == "/v1/chat/completions"
    assert sent.body["temperature"] == 0.3 and sent.body["max_tokens"] == 10
    assert sent.headers["authorization"] == "Bearer " + env["FAKE_KEY"]


def test_target_id_selects_target_and_model_is_rewritten(fake_upstream, gateway_factory, simple_config, env):
    gw = gateway_factory(simple_config, environ=env)
    gw.client().chat.completions.create(model="fake", messages=[{"role": "user", "content": "x"}])
    assert fake_upstream.app.last.body["model"] == "fake/model"


def test_chat_stream_with_usage(fake_upstream, gateway_factory, simple_config, env):
    gw = gateway_factory(simple_config, environ=env)
    stream = gw.client().chat.completions.create(
        model="fake/model",
        messages=[{"role": "user", "content": "one two three"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, finish, usage = "", None, None
    for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
        if chunk.usage:
            usage = chunk.usage
    assert text == "You said: one two three"
    assert finish == "stop"
    assert usage is not None and usage.completion_tokens == 5


def test_stream_helper_of_the_sdk(gateway_factory, simple_config, env):
    gw = gateway_factory(simple_config, environ=env)
    with gw.client().chat.completions.stream(model="fake/model", messages=[{"role": "user", "content": "hi"}]) as s:
        final = s.get_final_completion()
    assert final.choices[0].message.content == "You said: hi"


def test_embeddings_float_and_base64(fake_upstream, gateway_factory, simple_config, env):
    gw = gateway_factory(simple_config, environ=env)
    client = gw.client()
    # The SDK asks for base64 by default and decodes it.
    result = client.embeddings.create(model="fake/model", input=["alpha", "beta"])
    assert [d.index for d in result.data] == [0, 1]
    assert len(result.data[0].embedding) == 16
    assert fake_upstream.app.last.body["encoding_format"] == "base64"
    floats = client.embeddings.create(model="fake/model", input="alpha", encoding_format="float")
    assert floats.data[0].embedding == pytest.approx(result.data[0].embedding, abs=1e-6)
    raw = httpx.post(
        gw.base_url + "/embeddings", json={"model": "fake/model", "input": "alpha", "encoding_format": "base64"}
    ).json()
    decoded = struct.unpack("<16f", base64.b64decode(raw["data"][0]["embedding"]))
    assert decoded == pytest.approx(floats.data[0].embedding, abs=1e-6)


def test_models_list(gateway_factory, simple_config, env):
    gw = gateway_factory(simple_config, environ=env)
    ids = [m.id for m in gw.client().models.list()]
    assert ids == ["fake", "fake/model"]
    assert gw.client().models.retrieve("fake/model").id == "fake/model"
    with pytest.raises(openai.NotFoundError):
        gw.client().models.retrieve("nope")


def test_unknown_model_is_404_listing_valid_names(gateway_factory, simple_config, env):
    gw = gateway_factory(simple_config, environ=env)
    with pytest.raises(openai.NotFoundError) as err:
        gw.client().chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "x"}])
    body = err.value.body
    assert body["code"] == "model_not_found"
    assert "gpt-9" in body["message"] and "fake/model" in body["message"]


def test_errors_map_to_sdk_exceptions(fake_upstream, gateway_factory, simple_config, env):
    gw = gateway_factory(simple_config, environ=env)
    client = gw.client()
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="fake/model", messages=[])
    assert err.value.body["param"] == "messages"
    # A Retry-After longer than the target's budget is not waited out: it reaches the client.
    fake_upstream.app.fail_next(status=429, retry_after=120)
    with pytest.raises(openai.RateLimitError) as rate:
        client.chat.completions.create(model="fake/model", messages=[{"role": "user", "content": "x"}])
    assert rate.value.response.headers["retry-after"] == "120"
    fake_upstream.app.fail_next(status=401)
    with pytest.raises(openai.AuthenticationError) as auth:
        client.chat.completions.create(model="fake/model", messages=[{"role": "user", "content": "x"}])
    # Where the gateway keeps its credentials is for the operator's log, never the client.
    assert "FAKE_KEY" not in str(auth.value.body)
    assert env["FAKE_KEY"] not in str(auth.value.body)
    fake_upstream.app.fail_next(Fault(invalid_json=True))
    with pytest.raises(openai.APIStatusError) as bad:
        client.chat.completions.create(model="fake/model", messages=[{"role": "user", "content": "x"}])
    assert bad.value.status_code == 502


def test_request_id_is_echoed_or_generated(gateway_factory, simple_config, env):
    gw = gateway_factory(simple_config, environ=env)
    body = {"model": "fake/model", "messages": [{"role": "user", "content": "x"}]}
    given = httpx.post(gw.base_url + "/chat/completions", json=body, headers={"x-request-id": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    hostile = httpx.post(gw.base_url + "/chat/completions", json=body, headers={"x-request-id": "bad id\\n<script>"})
    assert hostile.headers["x-request-id"].startswith("req_")

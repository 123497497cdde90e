"""The Anthropic Messages API end to end, driven by the official ``anthropic`` client against the
fake OpenAI-compatible upstream: the request reaches the target as chat, the answer returns as a
Message (or Anthropic's event stream), errors in Anthropic's shape."""

from __future__ import annotations

import anthropic
import httpx
import orjson
import pytest

from keeptrust.demo import Fault
from keeptrust.testing import openai_target

PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
GATEWAY_KEY = "kt-anthropic-test-key-0001"


def client(gw, base: str = "", **kwargs) -> anthropic.Anthropic:
    kwargs.setdefault("api_key", "unused")
    return anthropic.Anthropic(base_url=gw.url + base, max_retries=0, timeout=30.0, **kwargs)


@pytest.fixture
def gw(gateway_factory, simple_config, env):
    return gateway_factory(simple_config, environ=env)


def test_non_stream_message_with_system_and_turns(gw, fake_upstream):
    message = client(gw).messages.create(
        model="fake/model",
        max_tokens=64,
        system="You are terse.",
        messages=[
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": [{"type": "text", "text": "first answer"}]},
            {"role": "user", "content": "Hello gateway"},
        ],
        stop_sequences=["\n\nHuman:"],
        metadata={"user_id": "user-42"},
        extra_body={"temperature": 0.2, "top_p": 0.9, "top_k": 40},
    )
    assert message.type == "message" and message.role == "assistant"
    assert message.id.startswith("msg_")
    assert message.model == "fake/model"
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == "You said: Hello gateway"
    assert message.stop_reason == "end_turn" and message.stop_sequence is None
    assert message.usage.input_tokens > 0 and message.usage.output_tokens == 4
    sent = fake_upstream.app.last.body
    assert sent["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": "Hello gateway"},
    ]
    assert {k: sent[k] for k in ("max_tokens", "temperature", "top_p", "top_k", "stop", "user")} == {
        "max_tokens": 64,
        "temperature": 0.2,
        "top_p": 0.9,
        "top_k": 40,
        "stop": ["\n\nHuman:"],
        "user": "user-42",
    }


def test_system_blocks_and_images(gw, fake_upstream):
    client(gw).messages.create(
        model="fake/model",
        max_tokens=16,
        system=[
            {"type": "text", "text": "Rule one."},
            {"type": "text", "text": "Rule two.", "cache_control": {"type": "ephemeral"}},
        ],
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL}},
                    {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
                    {"type": "text", "text": "what is this?"},
                ],
            }
        ],
    )
    sent = fake_upstream.app.last.body["messages"]
    assert sent[0] == {"role": "system", "content": "Rule one.\nRule two."}
    assert sent[1]["content"] == [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + PIXEL}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
        {"type": "text", "text": "what is this?"},
    ]


def test_stop_sequence_and_max_tokens_stop_reasons(gw):
    c = client(gw)
    hit = c.messages.create(
        model="fake/model", max_tokens=50, stop_sequences=["STOP"], messages=[{"role": "user", "content": "a b STOP c"}]
    )
    assert hit.stop_reason == "stop_sequence" and hit.stop_sequence == "STOP"
    assert hit.content[0].text == "You said: a b "
    cut = c.messages.create(model="fake/model", max_tokens=2, messages=[{"role": "user", "content": "one two three"}])
    assert cut.stop_reason == "max_tokens"
    assert cut.content[0].text == "You said: "


def test_raw_stream_has_anthropics_event_sequence(gw):
    with httpx.stream(
        "POST",
        gw.url + "/v1/messages",
        json={
            "model": "fake/model",
            "max_tokens": 32,
            "stream": True,
            "messages": [{"role": "user", "content": "hi there"}],
        },
        timeout=30,
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        body = response.read().decode()
    events = []
    for block in body.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        data = orjson.loads(lines["data"])
        assert data["type"] == lines["event"]
        events.append(data)
    kinds = [e["type"] for e in events]
    assert kinds[:3] == ["message_start", "content_block_start", "ping"]
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(kinds[3:-3]) == {"content_block_delta"}
    assert events[0]["message"]["content"] == [] and events[0]["message"]["stop_reason"] is None
    assert events[1]["content_block"] == {"type": "text", "text": ""}
    text = "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta")
    assert text == "You said: hi there"
    delta = events[-2]
    assert delta["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert delta["usage"]["output_tokens"] == 4 and delta["usage"]["input_tokens"] == 2


def test_sdk_stream_helpers(gw):
    c = client(gw)
    with c.messages.stream(
        model="fake/model", max_tokens=32, messages=[{"role": "user", "content": "stream me please"}]
    ) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(pieces) == "You said: stream me please"
    assert final.content[0].text == "You said: stream me please"
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 5 and final.usage.input_tokens == 3
    raw = c.messages.create(
        model="fake/model", max_tokens=32, stream=True, messages=[{"role": "user", "content": "raw events"}]
    )
    kinds = [e.type for e in raw]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"


WEATHER = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.mark.parametrize("stream", [False, True])
def test_tools_round_trip(gw, fake_upstream, stream):
    c = client(gw)
    ask = [{"role": "user", "content": "Paris"}]
    if stream:
        with c.messages.stream(
            model="fake/model", max_tokens=64, tools=[WEATHER], tool_choice={"type": "any"}, messages=ask
        ) as s:
            first = s.get_final_message()
    else:
        first = c.messages.create(
            model="fake/model", max_tokens=64, tools=[WEATHER], tool_choice={"type": "any"}, messages=ask
        )
    sent = fake_upstream.app.last.body
    assert sent["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": WEATHER["input_schema"],
                "description": "Current weather for a city",
            },
        }
    ]
    assert sent["tool_choice"] == "required"
    assert first.stop_reason == "tool_use"
    use = first.content[-1]
    assert use.type == "tool_use" and use.name == "get_weather" and use.input == {"city": "Paris"}
    second = c.messages.create(
        model="fake/model",
        max_tokens=64,
        tools=[WEATHER],
        messages=[
            *ask,
            {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": use.id,
                        "content": [{"type": "text", "text": "sunny, 21C"}],
                    }
                ],
            },
        ],
    )
    sent = fake_upstream.app.last.body["messages"]
    assert sent[1]["role"] == "assistant" and sent[1]["tool_calls"][0]["id"] == use.id
    assert orjson.loads(sent[1]["tool_calls"][0]["function"]["arguments"]) == {"city": "Paris"}
    assert sent[2] == {"role": "tool", "tool_call_id": use.id, "content": "sunny, 21C"}
    assert second.content[0].text == "Tool said: sunny, 21C"
    assert second.stop_reason == "end_turn"


def test_tool_choice_and_tool_result_variants(gw, fake_upstream):
    c = client(gw)
    c.messages.create(
        model="fake/model",
        max_tokens=8,
        tools=[WEATHER, {**WEATHER, "name": "other"}],
        tool_choice={"type": "tool", "name": "other", "disable_parallel_tool_use": True},
        messages=[{"role": "user", "content": "x"}],
    )
    sent = fake_upstream.app.last.body
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "other"}}
    assert sent["parallel_tool_calls"] is False
    c.messages.create(
        model="fake/model",
        max_tokens=8,
        tools=[WEATHER],
        tool_choice={"type": "none"},
        messages=[
            {"role": "user", "content": "x"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "no such city", "is_error": True},
                    {"type": "text", "text": "try again"},
                ],
            },
        ],
    )
    sent = fake_upstream.app.last.body
    assert sent["tool_choice"] == "none"
    assert sent["messages"][1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}],
    }
    assert sent["messages"][2] == {"role": "tool", "tool_call_id": "toolu_1", "content": "Error: no such city"}
    assert sent["messages"][3] == {"role": "user", "content": "try again"}


def test_anthropic_base_url_prefix_and_count_tokens(gw):
    c = client(gw, "/anthropic")
    message = c.messages.create(model="fake/model", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    assert message.content[0].text == "You said: hi"
    small = c.messages.count_tokens(model="fake/model", messages=[{"role": "user", "content": "hi"}])
    big = client(gw).messages.count_tokens(
        model="fake/model",
        system="a system prompt of some length",
        tools=[WEATHER],
        messages=[{"role": "user", "content": "a much longer question " * 20}],
    )
    assert 1 <= small.input_tokens < big.input_tokens


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"model": "fake/model", "messages": [{"role": "user", "content": "x"}]}, "max_tokens"),
        ({"model": "fake/model", "max_tokens": 5, "messages": []}, "messages"),
        ({"model": "fake/model", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]}, "messages.0.role"),
        (
            {
                "model": "fake/model",
                "max_tokens": 5,
                "messages": [
                    {"role": "user", "content": [{"type": "image", "source": {"type": "file", "file_id": "f"}}]}
                ],
            },
            "messages.0.content.0.source.type",
        ),
        (
            {
                "model": "fake/model",
                "max_tokens": 5,
                "tools": [{"type": "web_search_20250305", "name": "web_search"}],
                "messages": [{"role": "user", "content": "x"}],
            },
            "tools.0.type",
        ),
        (
            {"model": "fake/model", "max_tokens": 5, "temperature": 3, "messages": [{"role": "user", "content": "x"}]},
            "temperature",
        ),
    ],
)
def test_invalid_requests_are_anthropic_400s(gw, body, field):
    response = httpx.post(gw.url + "/v1/messages", json=body, timeout=30)
    assert response.status_code == 400
    error = response.json()
    assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
    assert error["error"]["message"].startswith(field + ":")
    assert error["request_id"] == response.headers["x-request-id"]


def test_sdk_raises_the_right_errors(gateway_factory, fake_upstream, env):
    target = openai_target(fake_upstream.url, secret_key_ref={"env": "FAKE_KEY"}, timeout_seconds=1)
    config = {
        "providers": {"targets": [target]},
        "server": {"auth": {"keys": [{"key_ref": {"env": "GW_KEY"}, "role": "dev"}]}},
    }
    gw = gateway_factory(config, environ={**env, "GW_KEY": GATEWAY_KEY})
    ask = {"max_tokens": 8, "messages": [{"role": "user", "content": "x"}]}
    with pytest.raises(anthropic.AuthenticationError) as bad_key:
        client(gw, api_key="wrong").messages.create(model="fake/model", **ask)
    assert bad_key.value.body["error"]["type"] == "authentication_error"
    good = client(gw, api_key=GATEWAY_KEY)  # sent as x-api-key, as the SDK does
    assert good.messages.create(model="fake/model", **ask).content[0].text == "You said: x"
    bearer = anthropic.Anthropic(base_url=gw.url, auth_token=GATEWAY_KEY, max_retries=0)
    assert bearer.messages.create(model="fake/model", **ask).content[0].text == "You said: x"
    with pytest.raises(anthropic.NotFoundError) as missing:
        good.messages.create(model="no/such-model", **ask)
    assert missing.value.body["error"]["type"] == "not_found_error"
    fake_upstream.app.fail_next(status=429, retry_after=7)  # longer than the target's budget: passed on
    with pytest.raises(anthropic.RateLimitError) as limited:
        good.messages.create(model="fake/model", **ask)
    assert limited.value.response.headers["retry-after"] == "7"
    assert limited.value.body["error"]["type"] == "rate_limit_error"
    for _ in range(30):  # more than fit in the target's 1 s budget
        fake_upstream.app.fail_next(status=503)
    with pytest.raises(anthropic.InternalServerError) as overloaded:
        good.messages.create(model="fake/model", **ask)
    assert overloaded.value.status_code == 529
    assert overloaded.value.body["error"]["type"] == "overloaded_error"
    wrong_method = httpx.get(gw.url + "/v1/messages", headers={"x-api-key": GATEWAY_KEY})
    assert wrong_method.status_code == 405 and wrong_method.json()["type"] == "error"


def test_policy_blocks_and_rewrites(gateway_factory, fake_upstream, env, words_plugin):
    config = {
        "providers": {"targets": [openai_target(fake_upstream.url, secret_key_ref={"env": "FAKE_KEY"})]},
        "policies": {
            "chain": ["words"],
            "policy": {"words": {"block": ["forbidden"], "replace": {"secret": "[X]"}, "response_block": ["BOOM"]}},
        },
    }
    gw = gateway_factory(config, environ=env, extra_plugins=[words_plugin])
    c = client(gw)
    with pytest.raises(anthropic.BadRequestError) as blocked:
        c.messages.create(model="fake/model", max_tokens=8, messages=[{"role": "user", "content": "a forbidden word"}])
    assert blocked.value.body["error"] == {
        "type": "invalid_request_error",
        "message": "the request contains a blocked word",
    }
    # Policies read and rewrite the translated body: system, text blocks and tool results alike.
    answer = c.messages.create(
        model="fake/model",
        max_tokens=32,
        system="keep the secret",
        messages=[{"role": "user", "content": [{"type": "text", "text": "my secret"}]}],
    )
    assert answer.content[0].text == "You said: my [X]"
    assert fake_upstream.app.last.body["messages"][0]["content"] == "keep the [X]"
    # A block mid-stream ends the stream as a refusal.
    with c.messages.stream(
        model="fake/model", max_tokens=32, messages=[{"role": "user", "content": "say BOOM now"}]
    ) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "refusal"
    assert "BOOM" not in "".join(b.text for b in final.content if b.type == "text")


def test_upstream_failure_mid_stream_is_an_error_event(gw, fake_upstream):
    fake_upstream.app.fail_next(Fault(reset_after_chunks=3))
    ask = [{"role": "user", "content": "one two three four"}]
    with (
        pytest.raises(anthropic.APIStatusError) as failed,
        client(gw).messages.stream(model="fake/model", max_tokens=32, messages=ask) as stream,
    ):
        stream.get_final_message()
    assert failed.value.body["error"]["type"] == "api_error"

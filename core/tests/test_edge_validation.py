"""Requests OpenAI would refuse are refused at the edge with a 400 ``invalid_request_error`` whose
``param`` names the exact field; roles are normalised before any policy or upstream sees them."""

from __future__ import annotations

import openai
import pytest

from keeptrust.testing import openai_target


@pytest.fixture
def client(fake_upstream, gateway_factory, env):
    config = {"providers": {"targets": [openai_target(fake_upstream.url)]}, "policies": {"chain": []}}
    return gateway_factory(config, environ=env).client()


def _refused(client, **kwargs):
    with pytest.raises(openai.BadRequestError) as err:
        if "input" in kwargs:
            client.responses.create(model="fake/model", **kwargs)
        else:
            client.chat.completions.create(model="fake/model", **kwargs)
    body = err.value.body
    assert err.value.status_code == 400
    assert err.value.response.json()["error"]["type"] == "invalid_request_error"
    return body


def test_roles_are_normalised_before_the_upstream(client, fake_upstream):
    client.chat.completions.create(
        model="fake/model",
        messages=[{"role": " System", "content": "be brief"}, {"role": "USER ", "content": "hi"}],
    )
    assert [m["role"] for m in fake_upstream.app.last.body["messages"]] == ["system", "user"]


@pytest.mark.parametrize("role", ["admin", "human", "", "model", "assistant\u200b"])
def test_unknown_role_is_refused_naming_the_field(client, fake_upstream, role):
    body = _refused(client, messages=[{"role": "user", "content": "a"}, {"role": role, "content": "b"}])
    assert body["param"] == "messages[1].role"
    assert body["code"] == "invalid_value"
    assert "system" in body["message"] and "developer" in body["message"]
    assert not any(r.path.endswith("/chat/completions") for r in fake_upstream.app.requests)


@pytest.mark.parametrize(
    ("message", "param"),
    [
        (
            {"role": "system", "content": [{"type": "image_url", "image_url": {"url": "https://x/y.png"}}]},
            "messages[0].content[0].type",
        ),
        (
            {"role": "user", "content": [{"type": "text", "text": "a"}, {"text": "untyped"}]},
            "messages[0].content[1].type",
        ),
        ({"role": "user", "content": [{"type": "refusal", "refusal": "no"}]}, "messages[0].content[0].type"),
        ({"role": "user", "content": [{"type": "video", "video": {}}]}, "messages[0].content[0].type"),
        ({"role": "user", "content": [{"type": "text", "text": 42}]}, "messages[0].content[0].text"),
        ({"role": "user", "content": [{"type": "image_url", "image_url": {}}]}, "messages[0].content[0].image_url.url"),
        ({"role": "tool", "content": "result"}, "messages[0].tool_call_id"),
        (
            {"role": "tool", "tool_call_id": "c", "content": [{"type": "image_url", "image_url": {"url": "u"}}]},
            "messages[0].content[0].type",
        ),
        ({"role": "user", "content": None}, "messages[0].content"),
        ({"role": "assistant"}, "messages[0].content"),
        ({"role": "function", "content": "x"}, "messages[0].name"),
        ({"role": "user", "content": "a", "tool_calls": []}, "messages[0].tool_calls"),
        (
            {"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            "messages[0].tool_calls[0].id",
        ),
        (
            {
                "role": "assistant",
                "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": {"a": 1}}}],
            },
            "messages[0].tool_calls[0].function.arguments",
        ),
        (
            {"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {"arguments": "{}"}}]},
            "messages[0].tool_calls[0].function.name",
        ),
        (
            {"role": "assistant", "tool_calls": [{"id": "c", "type": "magic", "magic": {}}]},
            "messages[0].tool_calls[0].type",
        ),
        ({"role": "assistant", "content": "x", "function_call": {"name": "f"}}, "messages[0].function_call.arguments"),
    ],
)
def test_message_shapes_are_refused_naming_the_exact_field(client, message, param):
    body = _refused(client, messages=[message])
    assert body["param"] == param


def test_valid_shapes_of_every_role_pass(client, fake_upstream):
    messages = [
        {"role": "developer", "content": [{"type": "text", "text": "rules"}]},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "look"},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}},
                {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
                {"type": "file", "file": {"file_id": "file-1"}},
            ],
        },
        {
            "role": "assistant",
            "content": [{"type": "refusal", "refusal": "no"}],
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
        },
        {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "done"}]},
        {"role": "assistant", "content": None, "function_call": {"name": "f", "arguments": "{}"}},
        {"role": "function", "name": "f", "content": "ok"},
        {"role": "user", "content": "thanks"},
    ]
    client.chat.completions.create(model="fake/model", messages=messages)
    assert fake_upstream.app.last.body["messages"] == messages


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"tools": [{"type": "function", "function": {"description": "no name"}}]}, "tools[0].function.name"),
        ({"tools": [{"type": "retrieval"}]}, "tools[0].type"),
        (
            {"tools": [{"type": "function", "function": {"name": "f", "parameters": "a schema"}}]},
            "tools[0].function.parameters",
        ),
        ({"functions": [{"description": "d"}]}, "functions[0].name"),
        ({"response_format": {"type": "yaml"}}, "response_format.type"),
        ({"response_format": {"type": "json_schema"}}, "response_format.json_schema"),
    ],
)
def test_tool_and_format_shapes_are_refused_naming_the_field(client, extra, param):
    body = _refused(client, messages=[{"role": "user", "content": "hi"}], **extra)
    assert body["param"] == param


@pytest.mark.parametrize(
    ("items", "param"),
    [
        ([{"role": "root", "content": "x"}], "input[0].role"),
        (
            [{"type": "message", "role": "system", "content": [{"type": "input_image", "image_url": "u"}]}],
            "input[0].content[0].type",
        ),
        ([{"role": "user", "content": [{"type": "input_text"}]}], "input[0].content[0].text"),
        ([{"type": "function_call_output", "output": "x"}], "input[0].call_id"),
        (
            [{"type": "function_call_output", "call_id": "c", "output": [{"type": "output_text", "text": "x"}]}],
            "input[0].output[0].type",
        ),
        ([{"type": "function_call", "call_id": "c", "name": "f", "arguments": {"a": 1}}], "input[0].arguments"),
    ],
)
def test_responses_items_are_refused_naming_the_field(client, items, param):
    body = _refused(client, input=items)
    assert body["param"] == param


def test_responses_roles_are_normalised(client, fake_upstream):
    client.responses.create(model="fake/model", input=[{"role": "User", "content": "hi"}])
    assert fake_upstream.app.last.body["input"][0]["role"] == "user"

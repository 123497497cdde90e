"""Unit tests of the Messages ↔ chat translation: the cases the end-to-end tests do not reach."""

from __future__ import annotations

import orjson
import pytest

from keeptrust.anthropic.answer import MessagesStream, to_message
from keeptrust.anthropic.request import to_chat
from keeptrust.context import RequestContext
from keeptrust.errors import PolicyViolation, RequestError, UpstreamError

PIXEL = "iVBORw0KGgo="


def ctx() -> RequestContext:
    return RequestContext(request_id="req_abc", operation="chat", endpoint="/v1/messages", body={})


def test_tool_result_with_images_and_documents():
    chat = to_chat(
        {
            "model": "m",
            "max_tokens": 10,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": "toolu_1",
                            "content": [
                                {"type": "text", "text": "see chart"},
                                {
                                    "type": "image",
                                    "source": {"type": "base64", "media_type": "image/png", "data": PIXEL},
                                },
                            ],
                        },
                        {
                            "type": "document",
                            "source": {"type": "text", "media_type": "text/plain", "data": "doc body"},
                        },
                    ],
                }
            ],
        }
    )
    assert chat["messages"] == [
        {"role": "tool", "tool_call_id": "toolu_1", "content": "see chart"},
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": "data:image/png;base64," + PIXEL}},
                {"type": "text", "text": "doc body"},
            ],
        },
    ]


def test_assistant_text_and_tool_use_and_thinking_dropped():
    chat = to_chat(
        {
            "model": "m",
            "max_tokens": 10,
            "messages": [
                {"role": "user", "content": "q"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                        {"type": "text", "text": "Let me check."},
                        {"type": "tool_use", "id": "toolu_9", "name": "lookup", "input": {"q": "x"}},
                    ],
                },
            ],
            "stream": True,
        }
    )
    assert chat["messages"][1] == {
        "role": "assistant",
        "content": "Let me check.",
        "tool_calls": [{"id": "toolu_9", "type": "function", "function": {"name": "lookup", "arguments": '{"q":"x"}'}}],
    }
    assert chat["stream"] is True and chat["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize(
    ("patch", "where"),
    [
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": True}, "max_tokens"),
        ({"top_k": -1}, "top_k"),
        ({"stop_sequences": "END"}, "stop_sequences"),
        (
            {"tool_choice": {"type": "tool"}, "tools": [{"name": "t", "input_schema": {"type": "object"}}]},
            "tool_choice.name",
        ),
        ({"tool_choice": {"type": "any"}}, "tool_choice"),
        ({"tools": [{"name": "t"}]}, "tools.0.input_schema"),
        ({"metadata": {"user_id": 5}}, "metadata.user_id"),
        ({"system": [{"type": "image"}]}, "system.0"),
        (
            {"messages": [{"role": "user", "content": [{"type": "tool_use", "id": "a", "name": "b", "input": {}}]}]},
            "messages.0.content.0.type",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "image", "source": {"type": "base64", "media_type": "image/tiff", "data": "x"}}
                        ],
                    }
                ]
            },
            "messages.0.content.0.source.media_type",
        ),
    ],
)
def test_bad_fields_are_named(patch, where):
    body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], **patch}
    with pytest.raises(RequestError) as err:
        to_chat(body)
    assert err.value.message.startswith(where + ":")


def test_message_from_a_completion_with_tool_calls_and_bad_arguments():
    body = {
        "id": "chatcmpl-1",
        "model": "up",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",  # some upstreams say stop with tool calls
                "message": {
                    "role": "assistant",
                    "content": "calling",
                    "tool_calls": [
                        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}
                    ],
                },
            }
        ],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3},
    }
    message = to_message(body, ctx(), "client-model", [])
    assert message["id"] == "msg_abc" and message["model"] == "client-model"
    assert message["content"] == [
        {"type": "text", "text": "calling"},
        {"type": "tool_use", "id": "c1", "name": "f", "input": {"a": 1}},
    ]
    assert message["stop_reason"] == "tool_use"
    assert message["usage"] == {"input_tokens": 7, "output_tokens": 3}
    body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = "{not json"
    with pytest.raises(UpstreamError):
        to_message(body, ctx(), "m", [])


def events(data: bytes) -> list[dict]:
    return [orjson.loads(block.split(b"data: ", 1)[1]) for block in data.strip().split(b"\n\n")]


def test_stream_encoder_text_then_parallel_tool_calls_and_refusal():
    enc = MessagesStream(ctx(), "m", [])
    base = {"id": "x", "model": "up"}
    out = enc.chunk({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi"}}]})
    out += enc.chunk(
        {
            **base,
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "a", "arguments": '{"x"'}}]},
                }
            ],
        }
    )
    out += enc.chunk(
        {**base, "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]}}]}
    )
    out += enc.chunk(
        {
            **base,
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 1, "id": "c2", "function": {"name": "b", "arguments": "{}"}}]},
                }
            ],
        }
    )
    out += enc.chunk({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
    out += enc.chunk({**base, "choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 9}})
    out += enc.end()
    got = events(out)
    assert [e["type"] for e in got] == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert got[5]["content_block"] == {"type": "tool_use", "id": "c1", "name": "a", "input": {}}
    assert [e["delta"]["partial_json"] for e in got[6:8]] == ['{"x"', ": 1}"]
    assert got[9]["index"] == 2
    assert got[-2]["delta"]["stop_reason"] == "tool_use"
    assert got[-2]["usage"] == {"input_tokens": 4, "output_tokens": 9}
    refused = MessagesStream(ctx(), "m", [])
    data = refused.chunk({**base, "choices": [{"index": 0, "delta": {"content": "some"}}]})
    data += refused.blocked(PolicyViolation("blocked"))
    assert [e["type"] for e in events(data)][-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert events(data)[-2]["delta"]["stop_reason"] == "refusal"

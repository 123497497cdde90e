"""Every streamed text field passes the stream filters, and the same answer streamed and not
streamed reaches the client with the same redaction: chat content, reasoning, refusals, tool-call
arguments, legacy function calls and logprob tokens; Responses output text, refusals, reasoning
summaries, function-call arguments and logprobs. The upstream cuts every field into 3-character
pieces, so each secret crosses chunk boundaries."""

from __future__ import annotations

import copy
import json
from typing import Any

import attrs
import httpx
import orjson
import pytest

from keeptrust import Modify, Policy, PolicyConfig, hookimpl, request_texts, response_texts
from keeptrust.demo.asgi import lifespan, read_request
from keeptrust.testing import openai_target
from keeptrust.testing.servers import BackgroundServer

SECRET = "Zanzibar-4411"
GONE = "[gone]"


@attrs.frozen(kw_only=True)
class RedactConfig(PolicyConfig):
    pass


class _Hold:
    """Replaces SECRET across chunk boundaries, holding back only what could still start it."""

    def __init__(self) -> None:
        self.buffer = ""

    def feed(self, text: str) -> str:
        self.buffer = (self.buffer + text).replace(SECRET, GONE)
        keep = 0
        for n in range(min(len(SECRET) - 1, len(self.buffer)), 0, -1):
            if SECRET.startswith(self.buffer[-n:]):
                keep = n
                break
        out, self.buffer = self.buffer[: len(self.buffer) - keep], self.buffer[len(self.buffer) - keep :]
        return out

    def flush(self) -> str:
        out, self.buffer = self.buffer, ""
        return out


class RedactPolicy(Policy):
    name = "redact"
    config_class = RedactConfig

    async def on_request(self, ctx: Any) -> Any:
        for ref in request_texts(ctx.operation, ctx.body):
            if SECRET in ref.text:
                ref.set(ref.text.replace(SECRET, GONE))
        return None

    async def on_response(self, ctx: Any, body: Any) -> Any:
        changed = 0
        for ref in response_texts(ctx.operation, body):
            if SECRET in ref.text:
                ref.set(ref.text.replace(SECRET, GONE))
                changed += 1
        return Modify(reason="redacted") if changed else None

    def stream_filter(self, ctx: Any) -> Any:
        return _Hold()


class RedactPlugin:
    @staticmethod
    @hookimpl
    def register_policies(register: Any) -> None:
        register(RedactPolicy)


def _pieces(text: str, size: int = 3) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _tokens(text: str) -> list[dict[str, Any]]:
    return [
        {"token": t, "logprob": -0.25, "bytes": list(t.encode()), "top_logprobs": [{"token": t, "logprob": -0.25}]}
        for t in _pieces(text, 2)
    ]


CONTENT = f"Your code is {SECRET}. Keep {SECRET} safe."
REASONING = f"The user asked for the code; it is {SECRET}."
REFUSAL = f"I will not repeat {SECRET} again."
ARGS = json.dumps({"code": SECRET, "note": f"again {SECRET}"})
LEGACY = json.dumps({"code": SECRET})

COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "fake/model",
    "choices": [
        {
            "index": 0,
            "finish_reason": "tool_calls",
            "message": {
                "role": "assistant",
                "content": CONTENT,
                "reasoning_content": REASONING,
                "refusal": REFUSAL,
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "store", "arguments": ARGS}},
                    {"id": "call_2", "type": "function", "function": {"name": "log", "arguments": ARGS}},
                ],
                "function_call": {"name": "legacy", "arguments": LEGACY},
            },
            "logprobs": {"content": _tokens(CONTENT), "refusal": None},
        }
    ],
    "usage": {"prompt_tokens": 3, "completion_tokens": 20, "total_tokens": 23},
}


def _chat_chunks() -> list[dict[str, Any]]:
    message = COMPLETION["choices"][0]["message"]
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "fake/model"}

    def chunk(delta: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None, **extra}]}

    out = [chunk({"role": "assistant", "content": ""})]
    out += [chunk({"reasoning_content": p}) for p in _pieces(REASONING)]
    tokens = _tokens(CONTENT)
    out += [chunk({"content": t["token"]}, logprobs={"content": [t]}) for t in tokens]
    out += [chunk({"refusal": p}) for p in _pieces(REFUSAL)]
    for k, call in enumerate(message["tool_calls"]):
        first = {"index": k, "id": call["id"], "type": "function", "function": {"name": call["function"]["name"]}}
        out.append(chunk({"tool_calls": [first]}))
        out += [chunk({"tool_calls": [{"index": k, "function": {"arguments": p}}]}) for p in _pieces(ARGS)]
    out.append(chunk({"function_call": {"name": "legacy", "arguments": ""}}))
    out += [chunk({"function_call": {"arguments": p}}) for p in _pieces(LEGACY)]
    out.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
    return out


OUTPUT_TEXT = f"Here: {SECRET}, twice {SECRET}."
SUMMARY = f"Looked up {SECRET}."
RESP_ARGS = json.dumps({"code": SECRET})
RESPONSE = {
    "id": "resp_1",
    "object": "response",
    "created_at": 1,
    "status": "completed",
    "model": "fake/model",
    "output": [
        {
            "type": "reasoning",
            "id": "rs_1",
            "summary": [{"type": "summary_text", "text": SUMMARY}],
        },
        {
            "type": "message",
            "id": "msg_1",
            "role": "assistant",
            "status": "completed",
            "content": [
                {"type": "output_text", "text": OUTPUT_TEXT, "annotations": [], "logprobs": _tokens(OUTPUT_TEXT)},
                {"type": "refusal", "refusal": REFUSAL},
            ],
        },
        {
            "type": "function_call",
            "id": "fc_1",
            "call_id": "call_1",
            "name": "store",
            "arguments": RESP_ARGS,
            "status": "completed",
        },
    ],
    "usage": {"input_tokens": 3, "output_tokens": 9, "total_tokens": 12},
}


def _response_events() -> list[dict[str, Any]]:
    full = copy.deepcopy(RESPONSE)
    shell = {**full, "status": "in_progress", "output": []}
    ev: list[dict[str, Any]] = [{"type": "response.created", "response": shell}]
    reasoning, message, call = full["output"]
    ev.append({"type": "response.output_item.added", "output_index": 0, "item": {**reasoning, "summary": []}})
    ev += [
        {
            "type": "response.reasoning_summary_text.delta",
            "output_index": 0,
            "summary_index": 0,
            "item_id": "rs_1",
            "delta": p,
        }
        for p in _pieces(SUMMARY)
    ]
    ev.append(
        {
            "type": "response.reasoning_summary_text.done",
            "output_index": 0,
            "summary_index": 0,
            "item_id": "rs_1",
            "text": SUMMARY,
        }
    )
    ev.append({"type": "response.output_item.done", "output_index": 0, "item": reasoning})
    ev.append({"type": "response.output_item.added", "output_index": 1, "item": {**message, "content": []}})
    ev += [
        {
            "type": "response.output_text.delta",
            "output_index": 1,
            "content_index": 0,
            "item_id": "msg_1",
            "delta": t["token"],
            "logprobs": [t],
        }
        for t in _tokens(OUTPUT_TEXT)
    ]
    ev.append(
        {
            "type": "response.output_text.done",
            "output_index": 1,
            "content_index": 0,
            "item_id": "msg_1",
            "text": OUTPUT_TEXT,
            "logprobs": _tokens(OUTPUT_TEXT),
        }
    )
    ev.append(
        {
            "type": "response.content_part.done",
            "output_index": 1,
            "content_index": 0,
            "item_id": "msg_1",
            "part": message["content"][0],
        }
    )
    ev += [
        {"type": "response.refusal.delta", "output_index": 1, "content_index": 1, "item_id": "msg_1", "delta": p}
        for p in _pieces(REFUSAL)
    ]
    ev.append(
        {"type": "response.refusal.done", "output_index": 1, "content_index": 1, "item_id": "msg_1", "refusal": REFUSAL}
    )
    ev.append({"type": "response.output_item.done", "output_index": 1, "item": message})
    ev.append({"type": "response.output_item.added", "output_index": 2, "item": {**call, "arguments": ""}})
    ev += [
        {"type": "response.function_call_arguments.delta", "output_index": 2, "item_id": "fc_1", "delta": p}
        for p in _pieces(RESP_ARGS)
    ]
    ev.append(
        {"type": "response.function_call_arguments.done", "output_index": 2, "item_id": "fc_1", "arguments": RESP_ARGS}
    )
    ev.append({"type": "response.output_item.done", "output_index": 2, "item": call})
    ev.append({"type": "response.completed", "response": full})
    return [{**e, "sequence_number": i} for i, e in enumerate(ev)]


class Scripted:
    """An upstream that answers COMPLETION / RESPONSE whole or streamed in small pieces."""

    def __init__(self) -> None:
        self.requests: list[Any] = []
        self.only_final = False  # a terse upstream: no deltas, only response.completed

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        incoming = await read_request(scope, receive)
        if incoming is None:
            return
        body = incoming.json or {}
        self.requests.append(body)
        responses = incoming.path.endswith("/responses")
        if not body.get("stream"):
            payload = orjson.dumps(RESPONSE if responses else COMPLETION)
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
            )
            await send({"type": "http.response.body", "body": payload})
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        if responses:
            events = _response_events()
            if self.only_final:
                events = [e for e in events if e["type"] == "response.completed"]
            for event in events:
                data = b"event: " + event["type"].encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"
                await send({"type": "http.response.body", "body": data, "more_body": True})
        else:
            for chunk in _chat_chunks():
                await send(
                    {"type": "http.response.body", "body": b"data: " + orjson.dumps(chunk) + b"\n\n", "more_body": True}
                )
            await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": True})
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture
def scripted():
    server = BackgroundServer(Scripted()).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def gateway(scripted, gateway_factory, env):
    config = {
        "providers": {"targets": [openai_target(scripted.url)]},
        "policies": {"chain": ["redact"], "policy": {"redact": {}}},
    }
    return gateway_factory(config, environ=env, extra_plugins=[RedactPlugin])


def _merge(acc: dict[str, Any], delta: dict[str, Any]) -> None:
    """Accumulate a chat delta the way the openai SDK's stream helper does."""
    for key, value in delta.items():
        if key == "tool_calls":
            calls = acc.setdefault("tool_calls", [])
            for call in value:
                while len(calls) <= call["index"]:
                    calls.append({})
                _merge(calls[call["index"]], {k: v for k, v in call.items() if k != "index"})
        elif isinstance(value, dict):
            _merge(acc.setdefault(key, {}), value)
        elif isinstance(value, str) and key not in ("role", "id", "type"):
            acc[key] = acc.get(key, "") + value
        else:
            acc[key] = value


def test_chat_every_streamed_field_is_redacted_like_the_whole_answer(gateway, scripted):
    client = gateway.client()
    whole = client.chat.completions.create(model="fake/model", messages=[{"role": "user", "content": "code?"}])
    message = whole.choices[0].message
    expected = {
        "content": CONTENT.replace(SECRET, GONE),
        "reasoning_content": REASONING.replace(SECRET, GONE),
        "refusal": REFUSAL.replace(SECRET, GONE),
        "arguments": ARGS.replace(SECRET, GONE),
        "legacy": LEGACY.replace(SECRET, GONE),
    }
    assert message.content == expected["content"]
    assert message.model_extra["reasoning_content"] == expected["reasoning_content"]
    assert message.refusal == expected["refusal"]
    assert [c.function.arguments for c in message.tool_calls] == [expected["arguments"]] * 2
    assert message.function_call.arguments == expected["legacy"]
    whole_tokens = [t.token for t in whole.choices[0].logprobs.content]
    assert "".join(whole_tokens) == expected["content"]

    streamed: dict[str, Any] = {}
    tokens: list[str] = []
    raw = []
    for chunk in client.chat.completions.create(
        model="fake/model", messages=[{"role": "user", "content": "code?"}], stream=True
    ):
        raw.append(chunk.model_dump_json())
        for choice in chunk.choices:
            _merge(streamed, choice.delta.model_dump(exclude_none=True))
            if choice.logprobs and choice.logprobs.content:
                tokens += [t.token for t in choice.logprobs.content]
    assert streamed["content"] == expected["content"]
    assert streamed["reasoning_content"] == expected["reasoning_content"]
    assert streamed["refusal"] == expected["refusal"]
    assert [c["function"]["arguments"] for c in streamed["tool_calls"]] == [expected["arguments"]] * 2
    assert [c["function"]["name"] for c in streamed["tool_calls"]] == ["store", "log"]
    assert streamed["function_call"]["arguments"] == expected["legacy"]
    assert "".join(tokens) == expected["content"]
    # No piece of the secret long enough to matter ever left the gateway.
    assert not any(SECRET[:8] in line for line in raw)


def test_responses_every_streamed_field_is_redacted_like_the_whole_answer(gateway, scripted):
    client = gateway.client()
    whole = client.responses.create(model="fake/model", input="code?")
    expected_text = OUTPUT_TEXT.replace(SECRET, GONE)
    assert whole.output_text == expected_text
    assert whole.output[0].summary[0].text == SUMMARY.replace(SECRET, GONE)
    assert whole.output[1].content[1].refusal == REFUSAL.replace(SECRET, GONE)
    assert whole.output[2].arguments == RESP_ARGS.replace(SECRET, GONE)
    assert "".join(t.token for t in whole.output[1].content[0].logprobs) == expected_text

    deltas: dict[str, str] = {}
    tokens: list[str] = []
    final = None
    raw = []
    for event in client.responses.create(model="fake/model", input="code?", stream=True):
        raw.append(event.model_dump_json())
        if event.type.endswith(".delta"):
            deltas[event.type] = deltas.get(event.type, "") + event.delta
            for t in getattr(event, "logprobs", None) or []:
                tokens.append(t.token)
        if event.type == "response.completed":
            final = event.response
    assert deltas["response.output_text.delta"] == expected_text
    assert deltas["response.reasoning_summary_text.delta"] == SUMMARY.replace(SECRET, GONE)
    assert deltas["response.refusal.delta"] == REFUSAL.replace(SECRET, GONE)
    assert deltas["response.function_call_arguments.delta"] == RESP_ARGS.replace(SECRET, GONE)
    assert "".join(tokens) == expected_text
    assert final is not None and final.output_text == expected_text
    assert final.output[2].arguments == whole.output[2].arguments
    assert not any(SECRET[:8] in line for line in raw)


def test_a_terse_upstream_that_sends_only_the_final_event_is_filtered(gateway, scripted):
    scripted.app.only_final = True
    request = {"model": "fake/model", "input": "x", "stream": True}
    with (
        httpx.Client(base_url=gateway.base_url, timeout=30) as http,
        http.stream("POST", "/responses", json=request) as r,
    ):
        body = r.read().decode()
    assert r.status_code == 200
    assert SECRET not in body and GONE in body

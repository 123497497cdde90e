"""An OpenAI-compatible upstream that answers deterministically, with no model behind it.

It echoes the last user message (so a newcomer sees exactly what reached the upstream after the
policies ran), streams in chunks, returns deterministic embeddings, and records every request it
received. Tests make it misbehave on demand with ``fail_next``.
"""

from __future__ import annotations

import base64
import hashlib
import math
import struct
import time
from collections import deque
from typing import Any

import attrs
import orjson
import trio

from keeptrust.demo.asgi import accept, answer_unless_disconnected


@attrs.define
class Fault:
    """One injected misbehaviour, consumed by the next matching request."""

    status: int | None = None  # answer this status with an OpenAI error body
    retry_after: float | None = None
    delay: float = 0.0  # seconds before answering
    reset_after_chunks: int | None = None  # streams: drop the connection after N chunks
    invalid_json: bool = False
    body: Any = None  # answer this JSON, or these bytes (an event stream when they start with data:)
    headers: dict[str, str] = attrs.Factory(dict)
    path: str | None = None  # only requests to this path
    # Answer 200 with a JSON chat completion this many bytes long, sent in 64 KiB pieces (chunked,
    # or with its Content-Length when declare_length), as a runaway upstream does.
    body_bytes: int | None = None
    declare_length: bool = False
    # Streams: after the first event, one `data:` line that never ends (until the client leaves or
    # this many bytes were sent).
    endless_line_bytes: int | None = None


@attrs.define
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    raw: bytes


def _words(text: str) -> list[str]:
    parts = text.split(" ")
    return [p + (" " if i < len(parts) - 1 else "") for i, p in enumerate(parts)]


def embed(text: str, dim: int) -> list[float]:
    """A deterministic unit vector for a text."""
    out: list[float] = []
    counter = 0
    while len(out) < dim:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        out.extend((b - 127.5) / 127.5 for b in digest)
        counter += 1
    vec = out[:dim]
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return [round(v / norm, 6) for v in vec]


def _last_user_text(messages: Any) -> str:
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


class FakeOpenAI:
    """ASGI app. ``reply`` overrides the echo; ``chunk_delay`` spaces stream chunks."""

    def __init__(
        self,
        *,
        reply: str | None = None,
        chunk_delay: float = 0.0,
        embed_dim: int = 16,
        token: str | None = None,
        keep: int = 1000,
    ) -> None:
        self.reply = reply
        self.chunk_delay = chunk_delay
        self.embed_dim = embed_dim
        self.token = token
        self.requests: deque[Recorded] = deque(maxlen=keep)
        self.faults: deque[Fault] = deque()
        self.cancelled = 0

    # -- test controls
    def fail_next(self, fault: Fault | None = None, **kwargs: Any) -> None:
        self.faults.append(fault or Fault(**kwargs))

    def _fault_for(self, path: str) -> Fault | None:
        for fault in list(self.faults):
            if fault.path is None or fault.path == path:
                self.faults.remove(fault)
                return fault
        return None

    @property
    def last(self) -> Recorded:
        return self.requests[-1]

    def answer_text(self, body: dict[str, Any]) -> str:
        if self.reply is not None:
            return self.reply
        messages = body.get("messages")
        last = messages[-1] if isinstance(messages, list) and messages else None
        if isinstance(last, dict) and last.get("role") == "tool":
            return "Tool said: " + str(last.get("content"))
        return "You said: " + _last_user_text(messages)

    def answer(self, body: dict[str, Any]) -> tuple[str, list[dict[str, Any]], str, str | None]:
        """Text, tool calls, finish reason and the stop string met (vLLM's ``stop_reason``).

        With ``tools`` (and ``tool_choice`` not ``none``) and a user turn last, the answer calls the
        chosen (or first) tool, filling its string parameters with the user's text. ``stop`` cuts
        the text before the first stop string; ``max_tokens`` cuts it to that many words."""
        tools = body.get("tools")
        choice = body.get("tool_choice")
        messages = body.get("messages") or []
        last_role = messages[-1].get("role") if messages and isinstance(messages[-1], dict) else None
        if isinstance(tools, list) and tools and choice != "none" and last_role == "user":
            fn = tools[0].get("function", {})
            if isinstance(choice, dict):
                wanted = (choice.get("function") or {}).get("name")
                fn = next((t["function"] for t in tools if t.get("function", {}).get("name") == wanted), fn)
            said = _last_user_text(messages)
            props = (fn.get("parameters") or {}).get("properties") or {}
            kinds = {"string": said, "number": 1, "integer": 1, "boolean": True}
            args = {name: kinds.get(spec.get("type"), said) for name, spec in props.items() if isinstance(spec, dict)}
            call = {"id": "call_demo_0", "type": "function", "function": {"name": fn.get("name"), "arguments": ""}}
            call["function"]["arguments"] = orjson.dumps(args).decode()
            return "", [call], "tool_calls", None
        text = self.answer_text(body)
        stops = body.get("stop")
        stops = [stops] if isinstance(stops, str) else stops or []
        for stop in stops:
            if stop and stop in text:
                return text[: text.index(stop)], [], "stop", stop
        limit = body.get("max_tokens")
        words = _words(text)
        if isinstance(limit, int) and len(words) > limit:
            return "".join(words[:limit]), [], "length", None
        return text, [], "stop", None

    # -- ASGI
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        incoming = await accept(scope, receive, send)
        if incoming is None:
            return
        headers, body, raw, path = incoming.headers, incoming.json, incoming.raw, incoming.path
        self.requests.append(Recorded(scope["method"], path, headers, body, raw))
        # A client that goes away (during an injected delay too) cancels the answer.
        if await answer_unless_disconnected(receive, lambda: self._answer(scope["method"], path, headers, body, send)):
            self.cancelled += 1

    async def _answer(self, method: str, path: str, headers: dict[str, str], body: Any, send: Any) -> None:
        if self.token is not None and headers.get("authorization") != f"Bearer {self.token}":
            await self._json(
                send,
                401,
                {"error": {"message": "Invalid API key", "type": "invalid_request_error", "code": "invalid_api_key"}},
            )
            return
        fault = self._fault_for(path)
        if fault is not None:
            if fault.delay:
                await trio.sleep(fault.delay)
            if fault.status is not None:
                hdrs = dict(fault.headers)
                if fault.retry_after is not None:
                    hdrs["retry-after"] = str(fault.retry_after)
                payload = (
                    fault.body
                    if fault.body is not None
                    else {
                        "error": {"message": f"injected failure {fault.status}", "type": "server_error", "code": None}
                    }
                )
                await self._json(send, fault.status, payload, hdrs)
                return
            if fault.invalid_json:
                await self._raw(send, 200, b"<html>not json</html>", b"application/json")
                return
            if isinstance(fault.body, bytes):
                headers = {k: v for k, v in fault.headers.items() if k != "content-type"}
                ctype = fault.headers.get("content-type") or (
                    "text/event-stream" if fault.body.startswith(b"data:") else "application/octet-stream"
                )
                await self._raw(send, 200, fault.body, ctype.encode(), headers)
                return
            if fault.body is not None:
                await self._json(send, 200, fault.body, fault.headers)
                return
            if fault.body_bytes is not None:
                await self._huge_body(send, fault)
                return
        await self.route(method, path, body or {}, send, fault)

    async def route(self, method: str, path: str, body: dict[str, Any], send: Any, fault: Fault | None) -> None:
        if path.endswith("/chat/completions") and method == "POST":
            if body.get("stream"):
                await self._stream(body, send, fault)
            else:
                await self._json(send, 200, self._completion(body))
        elif path.endswith("/responses") and method == "POST":
            await self._responses(body, send)
        elif path.endswith("/embeddings") and method == "POST":
            await self._embeddings(body, send)
        elif path.endswith("/models") and method == "GET":
            await self._json(
                send,
                200,
                {
                    "object": "list",
                    "data": [{"id": "demo/echo", "object": "model", "created": 0, "owned_by": "keeptrust-demo"}],
                },
            )
        else:
            await self._json(
                send, 404, {"error": {"message": f"no route {method} {path}", "type": "invalid_request_error"}}
            )

    def _usage(self, body: dict[str, Any], text: str) -> dict[str, int]:
        prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages") or [] if isinstance(m, dict))
        completion = len(text.split())
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    def _completion(self, body: dict[str, Any]) -> dict[str, Any]:
        text, calls, finish, matched = self.answer(body)
        message: dict[str, Any] = {"role": "assistant", "content": text if not calls else None}
        if calls:
            message["tool_calls"] = calls
        n = body.get("n") or 1
        return {
            "id": "chatcmpl-demo",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or "demo/echo",
            "choices": [
                {"index": i, "finish_reason": finish, "stop_reason": matched, "logprobs": None, "message": message}
                for i in range(n)
            ],
            "usage": self._usage(body, text),
        }

    async def _stream(self, body: dict[str, Any], send: Any, fault: Fault | None) -> None:
        text, calls, finish, matched = self.answer(body)
        base = {
            "id": "chatcmpl-demo",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body.get("model") or "demo/echo",
        }
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        events = [
            {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}
        ]
        events += [
            {**base, "choices": [{"index": 0, "delta": {"content": w}, "finish_reason": None}]}
            for w in _words(text)
            if w
        ]
        for k, call in enumerate(calls):
            # As OpenAI streams a call: id and name first, then the arguments in pieces.
            args = call["function"]["arguments"]
            head = {"index": k, "id": call["id"], "type": "function", "function": {"name": call["function"]["name"]}}
            head["function"]["arguments"] = ""
            events.append({**base, "choices": [{"index": 0, "delta": {"tool_calls": [head]}, "finish_reason": None}]})
            for piece in (args[: len(args) // 2], args[len(args) // 2 :]):
                part = {"index": k, "function": {"arguments": piece}}
                events.append(
                    {**base, "choices": [{"index": 0, "delta": {"tool_calls": [part]}, "finish_reason": None}]}
                )
        end = {"index": 0, "delta": {}, "finish_reason": finish, "stop_reason": matched}
        events.append({**base, "choices": [end]})
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append({**base, "choices": [], "usage": self._usage(body, text)})
        if fault is not None and fault.endless_line_bytes is not None:
            await send(
                {"type": "http.response.body", "body": b"data: " + orjson.dumps(events[0]) + b"\n\n", "more_body": True}
            )
            await send(
                {"type": "http.response.body", "body": b'data: {"choices":[{"delta":{"content":"', "more_body": True}
            )
            sent, piece = 0, b"a" * 65536
            while sent < fault.endless_line_bytes:
                await send({"type": "http.response.body", "body": piece, "more_body": True})
                sent += len(piece)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        for i, event in enumerate(events):
            if fault is not None and fault.reset_after_chunks is not None and i >= fault.reset_after_chunks:
                # Abort the connection the way a crashed upstream does: no terminating chunk.
                raise trio.BrokenResourceError("injected reset")
            await send(
                {"type": "http.response.body", "body": b"data: " + orjson.dumps(event) + b"\n\n", "more_body": True}
            )
            if self.chunk_delay and i > 0:
                await trio.sleep(self.chunk_delay)
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": False})

    async def _huge_body(self, send: Any, fault: Fault) -> None:
        size = fault.body_bytes or 0
        head = b'{"id":"chatcmpl-huge","object":"chat.completion","choices":[{"index":0,"message":{"content":"'
        tail = b'"}}]}'
        hdrs = [(b"content-type", b"application/json")]
        if fault.declare_length:
            hdrs.append((b"content-length", str(size).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": hdrs})
        piece = b"a" * 65536
        await send({"type": "http.response.body", "body": head, "more_body": True})
        left = size - len(head) - len(tail)
        while left > 0:
            part = piece[: min(left, len(piece))]
            left -= len(part)
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": tail, "more_body": False})

    async def _responses(self, body: dict[str, Any], send: Any) -> None:
        """The Responses API: the same echo, as a response object or its event stream."""
        value = body.get("input")
        said = (
            value
            if isinstance(value, str)
            else _last_user_text(
                [{"role": i.get("role"), "content": i.get("content")} for i in value or [] if isinstance(i, dict)]
            )
        )
        text = self.reply if self.reply is not None else "You said: " + said
        words = len(text.split())
        message = {
            "type": "message",
            "id": "msg_demo",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }
        response = {
            "id": "resp_demo",
            "object": "response",
            "created_at": int(time.time()),
            "status": "completed",
            "model": body.get("model") or "demo/echo",
            "output": [message],
            "usage": {
                "input_tokens": len(said.split()),
                "output_tokens": words,
                "total_tokens": len(said.split()) + words,
            },
        }
        if not body.get("stream"):
            await self._json(send, 200, response)
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        started = {**response, "status": "in_progress", "output": [], "usage": None}
        part = {"type": "output_text", "text": "", "annotations": []}
        where = {"item_id": "msg_demo", "output_index": 0, "content_index": 0}
        events = [
            {"type": "response.created", "response": started},
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": {**message, "status": "in_progress", "content": []},
            },
            {"type": "response.content_part.added", **where, "part": part},
            *({"type": "response.output_text.delta", **where, "delta": w} for w in _words(text)),
            {"type": "response.output_text.done", **where, "text": text},
            {"type": "response.content_part.done", **where, "part": message["content"][0]},
            {"type": "response.output_item.done", "output_index": 0, "item": message},
            {"type": "response.completed", "response": response},
        ]
        for number, event in enumerate(events):
            event["sequence_number"] = number
            data = b"event: " + event["type"].encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"
            await send({"type": "http.response.body", "body": data, "more_body": True})
            if self.chunk_delay and event["type"].endswith(".delta"):
                await trio.sleep(self.chunk_delay)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _embeddings(self, body: dict[str, Any], send: Any) -> None:
        value = body.get("input")
        inputs = [value] if isinstance(value, str) else list(value or [])
        dim = body.get("dimensions") or self.embed_dim
        data = []
        for i, item in enumerate(inputs):
            vec = embed(str(item), dim)
            if body.get("encoding_format") == "base64":
                data.append(
                    {
                        "object": "embedding",
                        "index": i,
                        "embedding": base64.b64encode(struct.pack(f"<{dim}f", *vec)).decode(),
                    }
                )
            else:
                data.append({"object": "embedding", "index": i, "embedding": vec})
        tokens = sum(len(str(x).split()) for x in inputs)
        await self._json(
            send,
            200,
            {
                "object": "list",
                "model": body.get("model") or "demo/embed",
                "data": data,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    async def _json(self, send: Any, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        await self._raw(send, status, orjson.dumps(payload), b"application/json", headers)

    async def _raw(
        self, send: Any, status: int, data: bytes, ctype: bytes, headers: dict[str, str] | None = None
    ) -> None:
        hdrs = [(b"content-type", ctype), (b"content-length", str(len(data)).encode())]
        hdrs += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
        await send({"type": "http.response.start", "status": status, "headers": hdrs})
        await send({"type": "http.response.body", "body": data})

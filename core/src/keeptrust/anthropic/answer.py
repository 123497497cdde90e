"""Chat answers translated back to Anthropic Messages: the whole ``Message`` and the event stream.

Stop reasons: ``stop`` → ``end_turn`` (or ``stop_sequence`` when the upstream names the stop string
it met, as vLLM does in ``choices[].stop_reason``), ``length`` → ``max_tokens``, ``tool_calls`` →
``tool_use``, ``content_filter`` → ``refusal``.

The stream follows Anthropic's event sequence: ``message_start``, then per content block
``content_block_start`` / ``content_block_delta`` (``text_delta`` or ``input_json_delta``) /
``content_block_stop`` (a ``ping`` after the first block starts), then ``message_delta`` with the
stop reason and usage, and ``message_stop``. Input tokens are known only when the upstream's usage
arrives at the end, so ``message_start`` carries 0 and ``message_delta`` the real counts (its
``usage.input_tokens`` is cumulative and the SDK's accumulator takes it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from keeptrust.anthropic.errors import error_body
from keeptrust.errors import UpstreamError

if TYPE_CHECKING:
    from keeptrust.context import RequestContext
    from keeptrust.errors import GatewayError, PolicyViolation

STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


def stop_reason(finish: Any, matched: Any, stops: list[str]) -> tuple[str, str | None]:
    """Anthropic's ``stop_reason`` and ``stop_sequence`` for a chat ``finish_reason``."""
    if finish == "stop" and isinstance(matched, str) and matched in stops:
        return "stop_sequence", matched
    return STOP_REASONS.get(finish, "end_turn"), None


def message_id(ctx: RequestContext, upstream_id: Any) -> str:
    if isinstance(upstream_id, str) and upstream_id.startswith("msg_"):
        return upstream_id
    return "msg_" + ctx.request_id.removeprefix("req_")


def _usage(usage: Any) -> dict[str, int]:
    usage = usage if isinstance(usage, dict) else {}
    return {
        "input_tokens": int(usage.get("prompt_tokens") or 0),
        "output_tokens": int(usage.get("completion_tokens") or 0),
    }


def _tool_input(call: dict[str, Any]) -> dict[str, Any]:
    fn = call.get("function") or {}
    raw = fn.get("arguments")
    if isinstance(raw, dict):
        return raw
    if not raw:
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise UpstreamError(
            f"the model called tool '{fn.get('name')}' with arguments that are not valid JSON"
        ) from None
    if not isinstance(value, dict):
        raise UpstreamError(f"the model called tool '{fn.get('name')}' with arguments that are not a JSON object")
    return value


def to_message(body: Any, ctx: RequestContext, model: str | None, stops: list[str]) -> dict[str, Any]:
    """A whole chat completion as an Anthropic ``Message`` (choice 0: Messages has no ``n``)."""
    if not isinstance(body, dict):
        raise UpstreamError("the upstream answered JSON that is not a chat completion")
    choices = body.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    text = message.get("content")
    if isinstance(text, list):  # some upstreams answer with content parts
        text = "".join(p.get("text", "") for p in text if isinstance(p, dict))
    if isinstance(text, str) and text:
        content.append({"type": "text", "text": text})
    for call in message.get("tool_calls") or ():
        if isinstance(call, dict):
            name = (call.get("function") or {}).get("name") or ""
            content.append({"type": "tool_use", "id": call.get("id") or "", "name": name, "input": _tool_input(call)})
    reason, sequence = stop_reason(choice.get("finish_reason"), choice.get("stop_reason"), stops)
    if reason == "end_turn" and any(c["type"] == "tool_use" for c in content):
        reason = "tool_use"
    return {
        "id": message_id(ctx, body.get("id")),
        "type": "message",
        "role": "assistant",
        "model": model or body.get("model") or "",
        "content": content,
        "stop_reason": reason,
        "stop_sequence": sequence,
        "usage": _usage(body.get("usage")),
    }


def _event(kind: str, payload: dict[str, Any]) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


_PING = _event("ping", {"type": "ping"})


class MessagesStream:
    """Encodes filtered ``chat.completion.chunk`` dicts as Anthropic stream events (the stream
    relay's encoder). Only choice 0 is translated."""

    def __init__(self, ctx: RequestContext, model: str | None, stops: list[str]) -> None:
        self.ctx = ctx
        self.model = model
        self.stops = stops
        self.started = False
        self.block = -1  # index of the open content block, -1: none open
        self.block_kind: str | None = None
        self.blocks = 0
        self.tools: dict[int, int] = {}  # chat tool_call index -> content block index
        self.finish: Any = None
        self.matched: Any = None
        self.usage: dict[str, int] = {"input_tokens": 0, "output_tokens": 0}
        self.pinged = False

    def _start(self, chunk: dict[str, Any]) -> bytes:
        self.started = True
        message = {
            "id": message_id(self.ctx, chunk.get("id")),
            "type": "message",
            "role": "assistant",
            "model": self.model or chunk.get("model") or "",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return _event("message_start", {"type": "message_start", "message": message})

    def _close_block(self) -> bytes:
        if self.block < 0:
            return b""
        index, self.block, self.block_kind = self.block, -1, None
        return _event("content_block_stop", {"type": "content_block_stop", "index": index})

    def _open_block(self, kind: str, block: dict[str, Any]) -> bytes:
        out = self._close_block()
        self.block, self.block_kind = self.blocks, kind
        self.blocks += 1
        out += _event(
            "content_block_start", {"type": "content_block_start", "index": self.block, "content_block": block}
        )
        if not self.pinged:
            self.pinged = True
            out += _PING
        return out

    def chunk(self, chunk: dict[str, Any]) -> bytes:
        out = b"" if self.started else self._start(chunk)
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.usage = _usage(usage)
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            text = delta.get("content")
            if isinstance(text, str) and text:
                if self.block_kind != "text":
                    out += self._open_block("text", {"type": "text", "text": ""})
                out += _event(
                    "content_block_delta",
                    {"type": "content_block_delta", "index": self.block, "delta": {"type": "text_delta", "text": text}},
                )
            for call in delta.get("tool_calls") or ():
                if isinstance(call, dict):
                    out += self._tool_delta(call)
            if choice.get("finish_reason"):
                self.finish = choice["finish_reason"]
                self.matched = choice.get("stop_reason")
        return out

    def _tool_delta(self, call: dict[str, Any]) -> bytes:
        out = b""
        position = call.get("index", 0)
        fn = call.get("function") or {}
        index = self.tools.get(position)
        if index is None:
            out += self._open_block(
                "tool", {"type": "tool_use", "id": call.get("id") or "", "name": fn.get("name") or "", "input": {}}
            )
            index = self.tools[position] = self.block
        args = fn.get("arguments")
        if isinstance(args, dict):
            args = orjson.dumps(args).decode()
        if isinstance(args, str) and args:
            out += _event(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "input_json_delta", "partial_json": args},
                },
            )
        return out

    def _finish(self, reason: str, sequence: str | None) -> bytes:
        out = b"" if self.started else self._start({})
        out += self._close_block()
        out += _event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": reason, "stop_sequence": sequence},
                "usage": dict(self.usage),
            },
        )
        return out + _event("message_stop", {"type": "message_stop"})

    def end(self) -> bytes:
        reason, sequence = stop_reason(self.finish, self.matched, self.stops)
        if reason == "end_turn" and self.tools:
            reason = "tool_use"
        return self._finish(reason, sequence)

    def blocked(self, exc: PolicyViolation) -> bytes:
        # A policy stopped the answer mid-stream: Anthropic's own name for that is a refusal.
        return self._finish("refusal", None)

    def failed(self, exc: GatewayError) -> bytes:
        # The status line is gone; the SDK raises the error event as an APIStatusError.
        out = self._close_block()
        return out + _event("error", orjson.loads(error_body(exc, self.ctx.request_id)[1]))

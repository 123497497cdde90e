"""Calling OpenAI-compatible upstreams (vLLM, TGI's Messages API, the HF router's backends) and
normalising what they answer into exactly the OpenAI shapes clients parse.

Quirks handled here once, for every provider (TGI's Messages API:
https://huggingface.github.io/text-generation-inference/): TGI finish reasons ``eos_token``/
``stop_sequence``, tool-call ``arguments`` sent as an object, ``tool_calls`` sent as a single object
in stream deltas, empty ``id``s, and errors sent inside a 200 stream.

Public module: plugins import it; the names in ``__all__`` are its API.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

import orjson

from keeptrust import sse
from keeptrust.errors import UpstreamError
from keeptrust.results import JSONResult, StreamResult
from keeptrust.transport import forwardable_headers, parse_json_response

if TYPE_CHECKING:
    from keeptrust.context import RequestContext
    from keeptrust.transport import Upstream

FINISH_REASONS = {"eos_token": "stop", "stop_sequence": "stop", "eos": "stop", "max_tokens": "length"}


def _fix_tool_calls(holder: dict[str, Any], request_id: str, streaming: bool) -> None:
    calls = holder.get("tool_calls")
    if calls is None:
        return
    if isinstance(calls, dict):
        calls = [calls]
        holder["tool_calls"] = calls
    for i, call in enumerate(calls):
        if not isinstance(call, dict):
            continue
        if streaming:
            call.setdefault("index", i)
        fn = call.get("function")
        if isinstance(fn, dict):
            args = fn.get("arguments")
            if args is not None and not isinstance(args, str):
                fn["arguments"] = orjson.dumps(args).decode()
            fn.pop("description", None)
        if not streaming and not call.get("id"):
            call["id"] = f"call_{request_id[-12:]}_{i}"
        if not streaming:
            call.setdefault("type", "function")


def normalize_completion(body: Any, ctx: RequestContext) -> Any:
    if not isinstance(body, dict):
        return body  # the core's answer check turns it into a 502 naming the target
    if not body.get("id"):
        body["id"] = "chatcmpl-" + ctx.request_id
    body.setdefault("object", "chat.completion")
    body.setdefault("created", int(time.time()))
    for choice in body.get("choices") or ():
        if not isinstance(choice, dict):
            continue
        reason = choice.get("finish_reason")
        if reason in FINISH_REASONS:
            choice["finish_reason"] = FINISH_REASONS[reason]
        message = choice.get("message")
        if isinstance(message, dict):
            _fix_tool_calls(message, ctx.request_id, streaming=False)
            if message.get("tool_calls") and choice.get("finish_reason") in ("stop", None):
                choice["finish_reason"] = "tool_calls"
    return body


def normalize_chunk(chunk: dict[str, Any], ctx: RequestContext, state: dict[str, Any]) -> dict[str, Any]:
    if not chunk.get("id"):
        chunk["id"] = "chatcmpl-" + ctx.request_id
    for choice in chunk.get("choices") or ():
        if not isinstance(choice, dict):
            continue
        reason = choice.get("finish_reason")
        if reason in FINISH_REASONS:
            choice["finish_reason"] = FINISH_REASONS[reason]
            reason = choice["finish_reason"]
        delta = choice.get("delta")
        if isinstance(delta, dict) and "tool_calls" in delta:
            _fix_tool_calls(delta, ctx.request_id, streaming=True)
            state["tools"] = True
        if reason == "stop" and state.get("tools"):
            choice["finish_reason"] = "tool_calls"
    return chunk


async def post_json(
    upstream: Upstream,
    ctx: RequestContext,
    url: str,
    payload: Any,
    *,
    headers: Mapping[str, str] | None = None,
) -> tuple[Any, dict[str, str]]:
    """POST JSON, return the parsed JSON answer and the headers worth forwarding."""
    response = await upstream.request(ctx, "POST", url, json=payload, headers=headers)
    return parse_json_response(response, upstream.config.id), forwardable_headers(response.headers)


async def chat_completion(
    upstream: Upstream,
    ctx: RequestContext,
    url: str,
    payload: dict[str, Any],
    *,
    headers: Mapping[str, str] | None = None,
) -> JSONResult | StreamResult:
    """A chat completion against an OpenAI-compatible route, streamed when ``payload['stream']``."""
    if payload.get("stream"):
        return await stream_chunks(upstream, ctx, url, payload, headers=headers)
    body, fwd = await post_json(upstream, ctx, url, payload, headers=headers)
    return JSONResult(normalize_completion(body, ctx), headers=fwd)


def completion_to_chunks(body: dict[str, Any]) -> list[dict[str, Any]]:
    """A whole completion as the chunk sequence a stream would have carried (for upstreams that
    answer a stream request with plain JSON)."""
    base = {
        "id": body.get("id"),
        "object": "chat.completion.chunk",
        "created": body.get("created"),
        "model": body.get("model"),
    }
    chunks = []
    for choice in body.get("choices") or []:
        message = choice.get("message") or {}
        delta = {"role": "assistant", "content": message.get("content") or ""}
        if message.get("tool_calls"):
            delta["tool_calls"] = [{**c, "index": i} for i, c in enumerate(message["tool_calls"])]
        chunks.append({**base, "choices": [{"index": choice.get("index", 0), "delta": delta, "finish_reason": None}]})
        chunks.append(
            {
                **base,
                "choices": [
                    {"index": choice.get("index", 0), "delta": {}, "finish_reason": choice.get("finish_reason")}
                ],
            }
        )
    if body.get("usage"):
        chunks.append({**base, "choices": [], "usage": body["usage"]})
    return chunks


async def stream_chunks(
    upstream: Upstream,
    ctx: RequestContext,
    url: str,
    payload: Any,
    *,
    headers: Mapping[str, str] | None = None,
    normalize: bool = True,
) -> StreamResult:
    response = await upstream.request(ctx, "POST", url, json=payload, headers=headers, stream=True)
    target_id = upstream.config.id
    ctype = response.headers.get("content-type", "")

    if not ctype.startswith("text/event-stream"):
        await upstream._read(response, limit=upstream.max_response_bytes(ctx))
        body = normalize_completion(parse_json_response(response, target_id), ctx)

        async def replay() -> AsyncIterator[dict[str, Any]]:
            for chunk in completion_to_chunks(body):
                yield chunk

        return StreamResult(replay(), aclose=response.aclose, headers=forwardable_headers(response.headers))

    async def chunks() -> AsyncIterator[dict[str, Any]]:
        state: dict[str, Any] = {}
        try:
            async for event in sse.iter_events(response.aiter_raw()):
                data = event.data
                if data == "[DONE]":
                    return
                try:
                    chunk = orjson.loads(data)
                except orjson.JSONDecodeError:
                    raise UpstreamError(f"target '{target_id}': the upstream sent an invalid stream event") from None
                if not isinstance(chunk, dict):
                    raise UpstreamError(f"target '{target_id}': the upstream sent an invalid stream event")
                if "error" in chunk and "choices" not in chunk:
                    err = chunk["error"]
                    message = err.get("message") if isinstance(err, dict) else str(err)
                    raise UpstreamError(
                        f"target '{target_id}': the upstream failed mid-stream: {upstream.redact(str(message))[:300]}"
                    )
                yield normalize_chunk(chunk, ctx, state) if normalize else chunk
        except UpstreamError:
            raise
        except Exception as exc:
            import httpx

            if isinstance(exc, httpx.HTTPError):
                raise upstream.failed_mid_answer(ctx, exc) from None
            raise

    return StreamResult(chunks(), aclose=response.aclose, headers=forwardable_headers(response.headers))


__all__ = [
    "FINISH_REASONS",
    "chat_completion",
    "completion_to_chunks",
    "normalize_chunk",
    "normalize_completion",
    "post_json",
    "stream_chunks",
]

"""Writing a provider's result to the client: JSON after the response-phase policies, SSE through
the stream relay, bytes as they come."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import orjson
import trio

from keeptrust.errors import InternalError
from keeptrust.results import BinaryResult, JSONResult, Result, StreamResult
from keeptrust.server import http
from keeptrust.server.streaming import StreamRelay

if TYPE_CHECKING:
    from keeptrust.chain import PolicyChain
    from keeptrust.context import RequestContext


async def respond(ctx: RequestContext, result: Result, send: http.Send, chain: PolicyChain) -> None:
    """Write a provider's result to the client, after the response-phase policies."""
    if isinstance(result, JSONResult):
        body = result.body
        usage = body.get("usage") if isinstance(body, dict) else None
        if isinstance(usage, dict):
            ctx.usage.prompt_tokens = usage.get("prompt_tokens")
            ctx.usage.completion_tokens = usage.get("completion_tokens")
            ctx.usage.total_tokens = usage.get("total_tokens")
        if result.status < 400:
            body = await chain.on_response(ctx, body)
        ctx.response_body = body
        if result.render is not None:
            payload, ctype = result.render(body)
            content_type = ctype.encode("latin-1")
        else:
            payload, content_type = orjson.dumps(body), http.JSON_TYPE
        ctx.response_size = len(payload)
        ctx.status = result.status
        await http.send_bytes(send, result.status, payload, content_type, headers=result.headers, rid=ctx.request_id)
        ctx.first_byte_at = ctx.finished_at = time.monotonic()
    elif isinstance(result, StreamResult):
        filters = chain.stream_filters(ctx)
        relay = StreamRelay(ctx, result, send, filters, keep_text=ctx.keep_stream_text)
        try:
            await relay.run()
        except trio.Cancelled:
            if filters is not None:
                filters.close(cancelled=True)
            raise
        finally:
            if filters is not None:
                filters.close()
            if result.aclose is not None:
                with trio.CancelScope(shield=True):
                    await result.aclose()
            ctx.finished_at = time.monotonic()
    elif isinstance(result, BinaryResult):
        await _send_binary(ctx, result, send)
    else:
        raise InternalError(f"provider returned {type(result).__name__}, not a Result")


async def _send_binary(ctx: RequestContext, result: BinaryResult, send: http.Send) -> None:
    ctype = result.content_type.encode("latin-1")
    try:
        if isinstance(result.content, bytes):
            ctx.response_size = len(result.content)
            await http.send_bytes(
                send, result.status, result.content, ctype, headers=result.headers, rid=ctx.request_id
            )
            ctx.first_byte_at = time.monotonic()
        else:
            size = 0
            await http.start_stream(send, result.status, ctype, result.headers, ctx.request_id)
            ctx.first_byte_at = time.monotonic()
            async for part in result.content:
                size += len(part)
                await send({"type": "http.response.body", "body": part, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            ctx.response_size = size
        ctx.status = result.status
    finally:
        if result.aclose is not None:
            with trio.CancelScope(shield=True):
                await result.aclose()
        ctx.finished_at = time.monotonic()

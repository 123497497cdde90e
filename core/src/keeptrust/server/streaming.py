"""Relaying a streamed answer: stream filters on the text, re-chunking, usage, and a clean end
whatever happens (policy block, upstream failure, client gone)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from keeptrust import sse
from keeptrust.errors import GatewayError, PolicyViolation
from keeptrust.server.http import Send, start_stream
from keeptrust.server.responses_stream import ResponsesEvents

if TYPE_CHECKING:
    from keeptrust.chain import StreamFilters
    from keeptrust.context import RequestContext
    from keeptrust.results import StreamResult

SSE_TYPE = b"text/event-stream; charset=utf-8"


def _content_chunk(template: dict[str, Any], index: int, text: str) -> dict[str, Any]:
    return {
        "id": template.get("id", ""),
        "object": "chat.completion.chunk",
        "created": template.get("created", 0),
        "model": template.get("model", ""),
        "choices": [{"index": index, "delta": {"content": text}, "finish_reason": None}],
    }


class StreamRelay:
    """Writes one SSE answer to the client. The caller cancels it when the client goes away."""

    def __init__(
        self, ctx: RequestContext, result: StreamResult, send: Send, filters: StreamFilters | None, keep_text: bool
    ) -> None:
        self.ctx = ctx
        self.result = result
        self.send = send
        self.filters = filters
        self.keep_text = keep_text or filters is not None
        self.texts: dict[int, list[str]] = {}
        self.started = False
        self.finished: set[int] = set()
        self.template: dict[str, Any] = {}

    async def _write(self, payload: bytes) -> None:
        if not self.started:
            await start_stream(self.send, 200, SSE_TYPE, self.result.headers, self.ctx.request_id)
            self.started = True
            self.ctx.first_byte_at = time.monotonic()
        await self.send({"type": "http.response.body", "body": payload, "more_body": True})

    def _remember(self, index: int, text: str) -> None:
        if self.keep_text and text:
            self.texts.setdefault(index, []).append(text)

    async def _flush_choice(self, index: int) -> None:
        if self.filters is None or index in self.finished:
            return
        self.finished.add(index)
        tail = await self.filters.flush(index)
        if tail:
            self._remember(index, tail)
            await self._write(sse.encode(_content_chunk(self.template, index, tail)))

    async def _process(self, chunk: dict[str, Any]) -> list[int]:
        """Apply filters to the chunk's deltas in place; return the choice indexes it finishes."""
        finishing: list[int] = []
        for choice in chunk.get("choices") or ():
            index = choice.get("index", 0)
            delta = choice.get("delta")
            if isinstance(delta, dict):
                text = delta.get("content")
                if isinstance(text, str) and text:
                    if self.filters is not None:
                        text = await self.filters.feed(index, text)
                        delta["content"] = text
                    self._remember(index, text)
            if choice.get("finish_reason"):
                finishing.append(index)
        return finishing

    async def run(self) -> None:
        ctx = self.ctx
        chunks = self.result.chunks
        # Event streams (the Responses API) carry their text in typed events, not chat choices.
        responses = ResponsesEvents(ctx, self.filters, self._remember, self.texts) if self.result.event_names else None
        try:
            async for chunk in chunks:
                if not self.template and "id" in chunk:
                    self.template = {k: chunk.get(k) for k in ("id", "created", "model")}
                usage = chunk.get("usage")
                if isinstance(usage, dict):
                    ctx.usage.prompt_tokens = usage.get("prompt_tokens", ctx.usage.prompt_tokens)
                    ctx.usage.completion_tokens = usage.get("completion_tokens", ctx.usage.completion_tokens)
                    ctx.usage.total_tokens = usage.get("total_tokens", ctx.usage.total_tokens)
                if responses is not None:
                    for event in await responses.process(chunk):
                        await self._write(sse.encode(event, event.get("type")))
                    continue
                finishing = await self._process(chunk)
                if self.filters is not None and finishing:
                    # Held-back text must reach the client before the chunk that ends the choice.
                    held: dict[int, str] = {}
                    for index in finishing:
                        if index not in self.finished:
                            self.finished.add(index)
                            held[index] = await self.filters.flush(index)
                    for choice in chunk.get("choices") or ():
                        index = choice.get("index", 0)
                        tail = held.get(index)
                        if tail:
                            self._remember(index, tail)
                            delta = choice.setdefault("delta", {})
                            delta["content"] = (delta.get("content") or "") + tail
                await self._write(sse.encode(chunk))
            if self.filters is not None and responses is None:
                for index in self.filters.indexes:
                    await self._flush_choice(index)
            if self.result.done_marker:
                await self._write(sse.DONE)
            ctx.status = 200
        except PolicyViolation as blocked:
            ctx.status = 200 if self.started else blocked.status
            ctx.error_code = blocked.code
            ctx.error_message = blocked.message
            if not self.started:
                raise
            end = _content_chunk(self.template, 0, "")
            end["choices"][0]["delta"] = {}
            end["choices"][0]["finish_reason"] = "content_filter"
            await self._write(sse.encode(end))
            await self._write(sse.encode(blocked.to_dict()))
            await self._write(sse.DONE)
        except GatewayError as exc:
            ctx.error_code = exc.code
            ctx.error_message = exc.message
            if not self.started:
                raise
            ctx.status = 200
            # The status line is gone; the OpenAI SDK raises APIError on an error event.
            await self._write(sse.encode(exc.to_dict()))
        finally:
            self.ctx.response_text = "".join(self.texts.get(0, [])) if self.keep_text else None
        if self.started:
            await self.send({"type": "http.response.body", "body": b"", "more_body": False})

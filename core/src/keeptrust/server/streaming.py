"""Relaying a streamed answer: stream filters on the text, re-chunking, usage, and a clean end
whatever happens (policy block, upstream failure, client gone)."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from keeptrust import sse, texts
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


_STEP = re.compile(r"\.?([^.\[]+)|\[(\d+)\]")


def _steps(path: str) -> list[str | int]:
    return [int(n) if n else key for key, n in _STEP.findall(path)]


def _place(choice: dict[str, Any], channel: str, tail: Any) -> None:
    """Add a channel's held-back tail to a chunk's choice, where its field lives in a delta:
    ``choices[i].message.tool_calls[2].function.arguments`` -> ``delta.tool_calls[{index: 2}]...``."""
    steps = _steps(channel)[2:]  # past choices[i]
    if steps[0] == "message":
        node: Any = choice.setdefault("delta", {})
        steps = steps[1:]
    else:
        node = choice
    for position, step in enumerate(steps[:-1]):
        following = steps[position + 1]
        if isinstance(following, int):  # a list addressed by ``index`` (tool calls)
            items = node.setdefault(step, [])
            found = next((c for c in items if isinstance(c, dict) and c.get("index") == following), None)
            if found is None:
                found = {"index": following}
                items.append(found)
            node = found
        elif isinstance(step, str):
            if not isinstance(node.get(step), dict):
                node[step] = {}
            node = node[step]
    last = steps[-1]
    if isinstance(tail, list):
        node[last] = [*(node.get(last) or []), *tail]
    else:
        node[last] = (node.get(last) or "") + tail


def _choice_of(channel: str) -> int:
    return int(channel[len("choices[") : channel.index("]")])


class StreamRelay:
    """Writes one SSE answer to the client. The caller cancels it when the client goes away.

    With stream filters, every text of every chunk goes through them: content, reasoning, refusals,
    tool-call arguments and names, logprob tokens (``texts.chunk_texts``). Each field of each choice
    is its own channel (its path in the whole message), so a filter sees each field's text in order
    and exactly as a non-streamed answer would show it."""

    def __init__(
        self, ctx: RequestContext, result: StreamResult, send: Send, filters: StreamFilters | None, keep_text: bool
    ) -> None:
        self.ctx = ctx
        self.result = result
        self.send = send
        self.filters = filters
        self.keep_text = keep_text or filters is not None
        self.texts: dict[Any, list[str]] = {}
        self.started = False
        self.finished: set[str] = set()
        self.channels: dict[str, None] = {}  # fed and not yet flushed, in arrival order
        self.aligners: dict[str, texts.TokenAligner] = {}
        self.wholes = 0
        self.template: dict[str, Any] = {}
        # The last bytes of the answer ([DONE]) travel in the final body message, so a policy that
        # holds the end of the answer (durable_before_response) holds [DONE] itself.
        self.last = b""
        encoder = result.encoder
        self.encoder = encoder
        self._encode = encoder.chunk if encoder is not None else sse.encode

    async def _start(self) -> None:
        if not self.started:
            await start_stream(self.send, 200, SSE_TYPE, self.result.headers, self.ctx.request_id)
            self.started = True
            self.ctx.first_byte_at = time.monotonic()

    async def _write(self, payload: bytes) -> None:
        if not payload:
            return
        await self._start()
        await self.send({"type": "http.response.body", "body": payload, "more_body": True})

    async def _write_last(self, payload: bytes) -> None:
        await self._start()
        self.last = payload

    def _remember(self, index: Any, text: str) -> None:
        if self.keep_text and text:
            self.texts.setdefault(index, []).append(text)

    def _remember_channel(self, channel: str, text: str) -> None:
        if channel.endswith("].message.content"):
            self._remember(_choice_of(channel), text)

    async def _filter(self, item: texts.DeltaText) -> None:
        assert self.filters is not None
        ref, channel = item.ref, item.channel
        if isinstance(ref, texts.TokensRef):
            aligner = self.aligners.setdefault(channel, texts.TokenAligner())
            spelled = aligner.add(ref.container[ref.key])
            self.channels[channel] = None
            out = await self.filters.feed(channel, spelled) if spelled else ""
            ref.container[ref.key] = aligner.take(out, final=False)
        elif item.growing:
            self.channels[channel] = None
            ref.set(await self.filters.feed(channel, ref.text))
        else:
            # A whole text (a tool's name): filtered at once, in a channel of its own.
            self.wholes += 1
            key = f"{channel}#{self.wholes}"
            ref.set(await self.filters.feed(key, ref.text) + await self.filters.flush(key))

    async def _flush(self, channel: str) -> Any:
        """The held-back rest of a channel: text, or logprob entries."""
        assert self.filters is not None
        self.channels.pop(channel, None)
        self.finished.add(channel)
        tail = await self.filters.flush(channel)
        aligner = self.aligners.pop(channel, None)
        if aligner is not None:
            return aligner.take(tail, final=True)
        self._remember_channel(channel, tail)
        return tail

    async def _process(self, chunk: dict[str, Any]) -> list[int]:
        """Apply filters to the chunk's texts in place; return the choice indexes it finishes."""
        if self.filters is None:
            # Nothing to filter: only the content is kept, for the audit record.
            if self.keep_text:
                for choice in chunk.get("choices") or ():
                    delta = choice.get("delta") if isinstance(choice, dict) else None
                    if isinstance(delta, dict) and isinstance(delta.get("content"), str):
                        self._remember(choice.get("index", 0), delta["content"])
            return []
        for item in texts.chunk_texts(chunk):
            if not item.ref.text and not isinstance(item.ref, texts.TokensRef):
                continue
            await self._filter(item)
            if item.growing and not isinstance(item.ref, texts.TokensRef):
                self._remember_channel(item.channel, item.ref.text)
        return [c.get("index", 0) for c in chunk.get("choices") or () if isinstance(c, dict) and c.get("finish_reason")]

    async def _flush_into(self, chunk: dict[str, Any], indexes: list[int]) -> None:
        """Held-back text of the finishing choices goes into the chunk that ends them."""
        by_index = {c.get("index", 0): c for c in chunk.get("choices") or () if isinstance(c, dict)}
        for channel in list(self.channels):
            index = _choice_of(channel)
            if index in indexes:
                tail = await self._flush(channel)
                if tail:
                    _place(by_index[index], channel, tail)

    async def _flush_rest(self) -> None:
        """Channels still open when the stream ends without a finish reason."""
        choices: dict[int, dict[str, Any]] = {}
        for channel in list(self.channels):
            tail = await self._flush(channel)
            if tail:
                index = _choice_of(channel)
                choice = choices.setdefault(index, {"index": index, "delta": {}, "finish_reason": None})
                _place(choice, channel, tail)
        for index in sorted(choices):
            chunk = _content_chunk(self.template, index, "")
            chunk["choices"] = [choices[index]]
            await self._write(self._encode(chunk))

    async def run(self) -> None:
        ctx = self.ctx
        chunks = self.result.chunks
        # Event streams (the Responses API) carry their text in typed events, not chat choices.
        responses = ResponsesEvents(self.filters, self._remember, ctx) if self.result.event_names else None
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
                    await self._flush_into(chunk, finishing)
                await self._write(self._encode(chunk))
            if self.filters is not None and responses is None:
                await self._flush_rest()
            if self.encoder is not None:
                await self._write_last(self.encoder.end())
            elif self.result.done_marker:
                await self._write_last(sse.DONE)
            ctx.status = 200
        except PolicyViolation as blocked:
            ctx.status = 200 if self.started else blocked.status
            ctx.error_code = blocked.code
            ctx.error_message = blocked.message
            if not self.started:
                raise
            if self.encoder is not None:
                await self._write_last(self.encoder.blocked(blocked))
            else:
                end = _content_chunk(self.template, 0, "")
                end["choices"][0]["delta"] = {}
                end["choices"][0]["finish_reason"] = "content_filter"
                await self._write(sse.encode(end))
                await self._write(sse.encode(blocked.to_dict()))
                await self._write_last(sse.DONE)
        except GatewayError as exc:
            ctx.error_code = exc.code
            ctx.error_message = exc.message
            if not self.started:
                raise
            ctx.status = 200
            # The status line is gone; the OpenAI SDK raises APIError on an error event.
            await self._write(self.encoder.failed(exc) if self.encoder is not None else sse.encode(exc.to_dict()))
        finally:
            if responses is not None:
                # The answer's output text, every message part in stream order.
                self.ctx.response_text = "".join("".join(t) for t in self.texts.values()) if self.keep_text else None
            else:
                self.ctx.response_text = "".join(self.texts.get(0, [])) if self.keep_text else None
        if self.started:
            await self.send({"type": "http.response.body", "body": self.last, "more_body": False})

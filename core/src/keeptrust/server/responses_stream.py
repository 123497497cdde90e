"""Stream filters on a Responses API event stream.

Text arrives in ``*.delta`` events (output text, refusals, function-call arguments, custom tool
input, MCP arguments, reasoning summaries and reasoning text, code), and again whole in the events
that close each piece (``*.done``, ``content_part.done``, ``output_item.done``,
``response.completed``). Each delta stream is a channel named by the path its text has in the
final response (``output[0].content[1].text``), fed through the stream filters like a chat field;
every whole text in a later event is replaced by what the filters let through for that path. A
text that arrives whole without deltas (a terse upstream, an MCP call's output, an unknown event)
is filtered whole, so no text reaches the client unfiltered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from keeptrust import texts

if TYPE_CHECKING:
    from keeptrust.chain import StreamFilters
    from keeptrust.context import RequestContext

_FINAL = ("response.completed", "response.incomplete", "response.failed")

# delta event -> (the matching done event's text field, path of the text in the response)
_DELTAS: dict[str, tuple[str, str]] = {
    "response.output_text": ("text", "output[{o}].content[{c}].text"),
    "response.refusal": ("refusal", "output[{o}].content[{c}].refusal"),
    "response.function_call_arguments": ("arguments", "output[{o}].arguments"),
    "response.custom_tool_call_input": ("input", "output[{o}].input"),
    "response.mcp_call_arguments": ("arguments", "output[{o}].arguments"),
    "response.reasoning_summary_text": ("text", "output[{o}].summary[{s}].text"),
    "response.reasoning_text": ("text", "output[{o}].content[{c}].text"),
    "response.code_interpreter_call_code": ("code", "output[{o}].code"),
    "response.audio.transcript": ("transcript", "audio.transcript"),
}
# Deltas of media, not text.
MEDIA_DELTAS = frozenset({"response.audio.delta"})
# Keys of events themselves that are not text (besides ``texts.NOT_TEXT``).
_EVENT_KEYS = frozenset(
    {
        "type",
        "sequence_number",
        "output_index",
        "content_index",
        "summary_index",
        "item_id",
        "annotation_index",
        "logprobs",
        "obfuscation",
    }
)


def _path(kind: str, event: dict[str, Any]) -> str:
    template = _DELTAS[kind][1] if kind in _DELTAS else kind + "[{o}][{c}][{s}]"
    return template.format(
        o=event.get("output_index") or 0, c=event.get("content_index") or 0, s=event.get("summary_index") or 0
    )


def _logprobs_channel(channel: str) -> str:
    # ``output[0].content[0].text`` -> ``output[0].content[0].logprobs``, the tokens' own path.
    return channel.rsplit(".", 1)[0] + ".logprobs"


class ResponsesEvents:
    def __init__(
        self, filters: StreamFilters | None, remember: Callable[[Any, str], None], ctx: RequestContext
    ) -> None:
        self.ctx = ctx
        self.filters = filters
        self.remember = remember
        self.emitted: dict[str, list[str]] = {}  # channel -> what the client got
        self.open: dict[str, dict[str, Any]] = {}  # channels fed and not flushed -> a delta event to copy
        self.aligners: dict[str, texts.TokenAligner] = {}
        self.wholes = 0

    async def process(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        kind = event.get("type")
        if not isinstance(kind, str) or kind in MEDIA_DELTAS:
            return [event]
        out: list[dict[str, Any]] = []
        if kind.endswith(".delta") and isinstance(event.get("delta"), str):
            channel = _path(kind[: -len(".delta")], event)
            delta = event["delta"]
            if self.filters is not None:
                self.open[channel] = {k: v for k, v in event.items() if k not in ("delta", "logprobs")}
                delta = await self.filters.feed(channel, delta)
                event["delta"] = delta
                if isinstance(event.get("logprobs"), list) and event["logprobs"]:
                    event["logprobs"] = await self._tokens(channel, event["logprobs"])
            self._emit(channel, delta)
            return [event]
        if self.filters is None:
            if kind in _FINAL:
                self._usage(event.get("response"))
            return [event]
        if kind.endswith(".done") and kind[: -len(".done")] in _DELTAS:
            base = kind[: -len(".done")]
            channel = _path(base, event)
            out += await self._close(channel)
            field = _DELTAS[base][0]
            if isinstance(event.get(field), str):
                event[field] = await self._whole(channel, event[field])
            if isinstance(event.get("logprobs"), list) and event["logprobs"]:
                tokens = texts.TokensRef(event, "logprobs", "assistant", _logprobs_channel(channel))
                tokens.set(await self._whole(tokens.where, tokens.text))
            out.append(event)
            return out
        if kind in _FINAL:
            out += await self._close_all()
        for ref, channel in self._event_texts(kind, event):
            if channel is not None and channel in self.open:
                out += await self._close(channel)
            ref.set(await self._whole(channel, ref.text))
        if kind in _FINAL:
            self._usage(event.get("response"))
        out.append(event)
        return out

    def _event_texts(self, kind: str, event: dict[str, Any]) -> Iterator[tuple[texts.TextRef, str | None]]:
        """The whole texts an event repeats or carries, each with its channel (its response path;
        None for a text of an event the gateway does not know, filtered on its own)."""
        o = event.get("output_index") or 0
        if kind.startswith("response.content_part."):
            bases = [("part", f"output[{o}].content[{event.get('content_index') or 0}]")]
        elif kind.startswith("response.reasoning_summary_part."):
            bases = [("part", f"output[{o}].summary[{event.get('summary_index') or 0}]")]
        elif kind.startswith("response.output_item."):
            bases = [("item", f"output[{o}]")]
        elif kind.startswith("response.") and isinstance(event.get("response"), dict):
            response = event["response"]
            for ref in texts.responses_items(response.get("output"), "output"):
                yield ref, ref.where
            if isinstance(response.get("output_text"), str):
                yield texts.TextRef(response, "output_text", "assistant", "output_text"), "output_text"
            return
        else:
            # An event the gateway does not know: every string in it is filtered whole.
            for ref in texts.walk(event, "assistant", ""):
                if texts.first_step(ref.where) not in _EVENT_KEYS:
                    yield ref, None
            return
        for key, base in bases:
            value = event.get(key)
            if isinstance(value, dict):
                refs = texts.responses_item(value, base) if key == "item" else texts.walk(value, "assistant", base)
                for ref in refs:
                    yield ref, ref.where

    def _emit(self, channel: str, text: str) -> None:
        self.emitted.setdefault(channel, []).append(text)
        if channel.endswith(".text") and ".content[" in channel:
            self.remember(channel, text)

    async def _tokens(self, channel: str, entries: list[Any]) -> list[Any]:
        """Logprob tokens of a delta, through their own channel (see ``texts.TokenAligner``)."""
        assert self.filters is not None
        key = _logprobs_channel(channel)
        aligner = self.aligners.setdefault(key, texts.TokenAligner())
        spelled = aligner.add(entries)
        ready = aligner.take(await self.filters.feed(key, spelled), final=False)
        self._emit(key, "".join(texts.token_text(e) for e in ready))
        return ready

    async def _close(self, channel: str) -> list[dict[str, Any]]:
        """Flush a channel; its held-back tail goes out as one more delta event."""
        template = self.open.pop(channel, None)
        if template is None or self.filters is None:
            return []
        tail = await self.filters.flush(channel)
        self._emit(channel, tail)
        event = {**template, "delta": tail}
        aligner = self.aligners.pop(_logprobs_channel(channel), None)
        if aligner is not None:
            rest = aligner.take(await self.filters.flush(_logprobs_channel(channel)), final=True)
            self._emit(_logprobs_channel(channel), "".join(texts.token_text(e) for e in rest))
            if rest:
                event["logprobs"] = rest
        return [event] if tail or "logprobs" in event else []

    async def _close_all(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for channel in list(self.open):
            out += await self._close(channel)
        return out

    async def _whole(self, channel: str | None, text: str) -> str:
        """What the client gets for a whole text: what its deltas let through, or, when it had no
        deltas, the text filtered whole (then remembered, so every repeat says the same)."""
        if channel is not None and channel in self.emitted:
            return "".join(self.emitted[channel])
        if self.filters is None or not text:
            return text
        self.wholes += 1
        key = f"{channel or 'event'}#{self.wholes}"
        out = await self.filters.feed(key, text) + await self.filters.flush(key)
        if channel is not None:
            self._emit(channel, out)
        return out

    def _usage(self, response: Any) -> None:
        usage = response.get("usage") if isinstance(response, dict) else None
        if isinstance(usage, dict):
            self.ctx.usage.prompt_tokens = usage.get("input_tokens", self.ctx.usage.prompt_tokens)
            self.ctx.usage.completion_tokens = usage.get("output_tokens", self.ctx.usage.completion_tokens)
            self.ctx.usage.total_tokens = usage.get("total_tokens", self.ctx.usage.total_tokens)

"""Stream filters on a Responses API event stream.

Text arrives as ``response.output_text.delta`` events, one stream per (output item, content part).
Each is fed through the stream filters like a chat choice, and the events that repeat the whole text
(``output_text.done``, ``content_part.done``, ``output_item.done``, ``response.completed``) are
rewritten with what the filters let through, so the unfiltered text never reaches the client.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keeptrust.chain import StreamFilters
    from keeptrust.context import RequestContext

_FINAL = ("response.completed", "response.incomplete", "response.failed")


def _index(output_index: Any, content_index: Any) -> int:
    # One filter set per (item, part); (0, 0), the usual single message, is index 0 like a chat choice.
    return int(output_index or 0) * 1000 + int(content_index or 0)


class ResponsesEvents:
    def __init__(
        self,
        ctx: RequestContext,
        filters: StreamFilters | None,
        remember: Callable[[int, str], None],
        texts: dict[int, list[str]],
    ) -> None:
        self.ctx = ctx
        self.filters = filters
        self.remember = remember
        self.texts = texts
        self.flushed: set[int] = set()

    def _text(self, index: int) -> str | None:
        parts = self.texts.get(index)
        return "".join(parts) if parts is not None else None

    async def process(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        kind = event.get("type")
        if kind == "response.output_text.delta":
            index = _index(event.get("output_index"), event.get("content_index"))
            delta = event.get("delta") or ""
            if self.filters is not None:
                delta = await self.filters.feed(index, delta)
                event["delta"] = delta
            if self.filters is not None:
                self.texts.setdefault(index, [])  # so the *.done events are rewritten even if all is held
            self.remember(index, delta)
            return [event]
        if kind == "response.output_text.done":
            index = _index(event.get("output_index"), event.get("content_index"))
            out = []
            if self.filters is not None and index not in self.flushed:
                self.flushed.add(index)
                tail = await self.filters.flush(index)
                if tail:
                    self.remember(index, tail)
                    delta = {k: v for k, v in event.items() if k != "text"}
                    out.append({**delta, "type": "response.output_text.delta", "delta": tail})
            text = self._text(index)
            if text is not None:
                event["text"] = text
            out.append(event)
            return out
        if kind == "response.content_part.done":
            self._fix_part(event.get("part"), event.get("output_index"), event.get("content_index"))
        elif kind == "response.output_item.done":
            self._fix_item(event.get("item"), event.get("output_index"))
        elif kind in _FINAL:
            out = await self._flush_rest()
            self._fix_response(event.get("response"))
            return [*out, event]
        return [event]

    async def _flush_rest(self) -> list[dict[str, Any]]:
        """Text still held for a part whose ``output_text.done`` never came (a terse upstream)."""
        out: list[dict[str, Any]] = []
        if self.filters is None:
            return out
        for index in list(self.texts):
            if index in self.flushed:
                continue
            self.flushed.add(index)
            tail = await self.filters.flush(index)
            if tail:
                self.remember(index, tail)
                out.append(
                    {
                        "type": "response.output_text.delta",
                        "output_index": index // 1000,
                        "content_index": index % 1000,
                        "delta": tail,
                    }
                )
        return out

    def _fix_part(self, part: Any, output_index: Any, content_index: Any) -> None:
        if isinstance(part, dict) and part.get("type") == "output_text":
            text = self._text(_index(output_index, content_index))
            if text is not None:
                part["text"] = text

    def _fix_item(self, item: Any, output_index: Any) -> None:
        if isinstance(item, dict) and isinstance(item.get("content"), list):
            for content_index, part in enumerate(item["content"]):
                self._fix_part(part, output_index, content_index)

    def _fix_response(self, response: Any) -> None:
        if not isinstance(response, dict):
            return
        for output_index, item in enumerate(response.get("output") or []):
            self._fix_item(item, output_index)
        if isinstance(response.get("output_text"), str) and self.texts:
            response["output_text"] = "".join(self._text(i) or "" for i in sorted(self.texts))
        usage = response.get("usage")
        if isinstance(usage, dict):
            self.ctx.usage.prompt_tokens = usage.get("input_tokens", self.ctx.usage.prompt_tokens)
            self.ctx.usage.completion_tokens = usage.get("output_tokens", self.ctx.usage.completion_tokens)
            self.ctx.usage.total_tokens = usage.get("total_tokens", self.ctx.usage.total_tokens)

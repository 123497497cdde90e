"""A bounded LRU of analysis results, keyed by the exact text.

System prompts, few-shot examples and earlier turns of a conversation arrive again and again; their
analysis is reused instead of repeated. Only the event loop thread touches it, so it needs no lock.
"""

from __future__ import annotations

from collections import OrderedDict

from keeptrust_presidio.analysis import Found

# Longer texts are analysed every time: they rarely repeat and would crowd the cache.
MAX_CACHED_CHARS = 8192


class AnalysisCache:
    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[str, tuple[Found, ...]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, text: str) -> tuple[Found, ...] | None:
        found = self._entries.get(text)
        if found is None:
            self.misses += 1
            return None
        self._entries.move_to_end(text)
        self.hits += 1
        return found

    def put(self, text: str, found: list[Found]) -> None:
        if self._size <= 0 or len(text) > MAX_CACHED_CHARS:
            return
        self._entries[text] = tuple(found)
        self._entries.move_to_end(text)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

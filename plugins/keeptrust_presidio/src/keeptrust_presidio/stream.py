"""Redacting a streamed answer exactly, chunk boundaries notwithstanding.

The filter holds back the last characters of the answer so far: an e-mail address cut in the
middle, or a card number arriving in four chunks, is complete before any of it is released. Text
is released only up to a cut that never falls inside an entity or a word, so the analyzer always
sees an entity whole (for entities up to ``keep`` characters long, half the hold-back).
No more than twice the hold-back is ever pending, whatever the text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence

from keeptrust import StreamBlocked
from keeptrust_presidio.analysis import Found


def _cut_point(text: str, cut: int, found: Sequence[Found], limit: int) -> int:
    """The largest position <= ``cut`` outside every entity, preferably just after whitespace.

    If that would keep more than ``limit`` characters (a very long word, an entity still growing),
    the cut moves forward to ``cut`` or past the entity it falls in, so the hold-back stays bounded.
    """
    wanted = cut
    for f in reversed(found):
        if f.start < cut < f.end:
            cut = f.start
    space = max(text.rfind(" ", 0, cut), text.rfind("\n", 0, cut))
    if space >= 0:
        cut = space + 1
    if len(text) - cut > limit:
        cut = wanted
        for f in found:
            if f.start < cut < f.end:
                cut = f.end
    return cut


class PiiStreamFilter:
    """The core's stream-filter interface: ``feed`` returns what may be sent now, ``flush`` the rest.
    Both are async: a window is analysed in a worker thread, so the event loop keeps serving."""

    def __init__(
        self,
        analyze: Callable[[str], Awaitable[list[Found]]],
        rewrite: Callable[[str, Sequence[Found]], str],
        holdback: int,
        block: bool,
        on_found: Callable[[Counter[str]], None],
    ) -> None:
        self._analyze = analyze
        self._rewrite = rewrite
        self._holdback = holdback
        # Analysis runs once the hold-back is full and releases all but its second half. spaCy's NER
        # costs about as much for 50 characters as for 150, so fewer, larger windows are cheaper.
        self._keep = holdback // 2
        self._block = block
        self._on_found = on_found
        self._pending = ""
        self.counts: Counter[str] = Counter()

    async def feed(self, text: str) -> str:
        self._pending += text
        if len(self._pending) < self._holdback:
            return ""
        return await self._release(final=False)

    async def flush(self) -> str:
        out = await self._release(final=True) if self._pending else ""
        if self.counts:
            self._on_found(self.counts)
        return out

    async def _release(self, final: bool) -> str:
        text = self._pending
        found = await self._analyze(text) if text.strip() else []
        cut = len(text) if final else _cut_point(text, len(text) - self._keep, found, 2 * self._holdback)
        if cut <= 0:
            return ""
        released = [f for f in found if f.end <= cut]
        if released:
            counts = Counter(f.entity for f in released)
            if self._block:  # the core records the block as this policy's stream decision
                kinds = ", ".join(sorted(counts))
                raise StreamBlocked(
                    f"the answer was stopped: it contains personal data ({kinds})",
                    reason="pii_detected",
                    details={"entities": dict(sorted(counts.items()))},
                )
            self.counts.update(counts)
        self._pending = text[cut:]
        return self._rewrite(text[:cut], released)

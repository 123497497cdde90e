"""Redacting a streamed answer exactly, chunk boundaries notwithstanding, without holding it back.

Only the text that could still become part of an entity waits for the next chunk: the trailing
partial word (an e-mail address or a number still being written) and, before it, a run of
capitalised words or digit groups that the next chunk may extend ("Kwame" before "Mensah", "+49 30"
before "901820"). Everything before that is analysed and released at once, redacted. The analysis
sees the released text just before the pending part too (``CONTEXT`` characters), so a cue ("Dear",
"call") or a first name already sent still counts. No more than ``holdback`` characters are ever
pending: past that the cut is forced, still never inside an entity found.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Sequence

import regex

from keeptrust import StreamBlocked
from keeptrust_presidio.analysis import Found

# Released text the analyzer sees again, for context only.
CONTEXT = 64
# A token that may continue into the next one: a capitalised word (a name goes on), a digit group
# (a phone or card number goes on), an e-mail-ish fragment. One that ends a sentence or a clause
# ("Smith.", "0100,") does not.
_CONTINUES = regex.compile(
    r"(?:\p{Lu}[\p{L}'\u2019\-]*|[+(]?[\d][\d\-./()]*|[\w.+\-]*@[\w.\-]*|(?i:de|van|von|da|di|del|le|la|bin|al|el|mac|y))"
)
_TOKEN = regex.compile(r"\S+")
MAX_TAIL_TOKENS = 6
# A number or a capitalised word glued to the end of a token ("Office\\,+216", "(Kwame"): it may go on.
_CONTINUING_END = regex.compile(r"(?:[+(]?\d[\d\-./()]*|\p{Lu}[\p{L}'\u2019\-]*)$")
# Words after a capitalised word or a number that the name rules read before judging it: whether the
# sentence is English, a postal code after a town, a verb after a name ("Denisov began writing as").
RIGHT_CONTEXT = 3
_WORTH_CONTEXT = regex.compile(r"[(\"'\u201c]?(?:\p{Lu}\p{Ll}|\d)")
_SENTENCE_WORDS = frozenset({"The", "A", "An", "I", "It", "This", "That", "We", "You", "He", "She", "They"})


def _tail_start(text: str) -> int:
    """Where the part of ``text`` that could still grow into an entity, or whose judgement the next
    words may change, begins."""
    end = len(text)
    tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(text, max(0, end - 160))]
    if not tokens:
        return end
    start = end
    held = 0
    complete = list(tokens)
    if tokens[-1][1] == end:  # the last word is still being written
        start = tokens[-1][0]
        complete.pop()
        held = 1
    for s, e in reversed(complete):
        if held >= MAX_TAIL_TOKENS:
            break
        if not _CONTINUES.fullmatch(text, s, e):
            glued = _CONTINUING_END.search(text, s, e)
            if glued is not None and glued.start() > s:
                start = glued.start()
            break
        start = s
        held += 1
    # A capitalised word or a number among the last few complete words waits for RIGHT_CONTEXT
    # words after it (sentence-opening function words excepted).
    for s, e in complete[-RIGHT_CONTEXT:]:
        if s >= start:
            break
        if _WORTH_CONTEXT.match(text, s, e) and text[s:e].rstrip(".,;:!?") not in _SENTENCE_WORDS:
            start = s
            break
    return start


class PiiStreamFilter:
    """The core's stream-filter interface: ``feed`` returns what may be sent now, ``flush`` the rest.
    Both are async: text is analysed in a worker thread, so the event loop keeps serving."""

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
        self._block = block
        self._on_found = on_found
        self._pending = ""
        self._context = ""  # the last released characters, as written (never sent again)
        self.counts: Counter[str] = Counter()

    async def feed(self, text: str) -> str:
        self._pending += text
        cut = _tail_start(self._pending)
        if len(self._pending) - cut > self._holdback:
            cut = len(self._pending) - self._holdback
        if cut <= 0 or not self._pending[:cut].strip():
            return ""
        return await self._release(cut)

    async def flush(self) -> str:
        out = await self._release(len(self._pending)) if self._pending else ""
        if self.counts:
            self._on_found(self.counts)
        return out

    async def _release(self, cut: int) -> str:
        pending = self._pending
        window = self._context + pending
        base = len(self._context)
        found = await self._analyze(window) if pending.strip() else []
        # Spans in pending coordinates; one begun in the released context is redacted from here on.
        spans = [Found(f.entity, max(0, f.start - base), f.end - base, f.score) for f in found if f.end > base]
        for f in spans:
            if f.start < cut < f.end:
                # Never cut inside an entity: hold it whole unless that exceeds the bound, then send
                # it whole now.
                cut = f.start if len(pending) - f.start <= self._holdback else f.end
        if cut <= 0:
            return ""
        released = [f for f in spans if f.end <= cut]
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
        self._pending = pending[cut:]
        self._context = (self._context + pending[:cut])[-CONTEXT:]
        return self._rewrite(pending[:cut], released)

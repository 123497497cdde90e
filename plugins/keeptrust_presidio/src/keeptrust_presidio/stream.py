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
from keeptrust_presidio.mentions import NameMemory

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
# Words after a word that may be a name (one the name lists know, or no ordinary word): NER and the
# name rules judge it by the rest of its clause ("Obiageli Nwankwo from Northwind Traders Ltd is the
# keynote speaker"; whether a sentence is Spanish), which a whole-text analysis sees.
NAME_CONTEXT = 7
_WORTH_CONTEXT = regex.compile(r"[(\"'\u201c]?(?:\p{Lu}\p{Ll}|\d)")
_SENTENCE_WORDS = frozenset({"The", "A", "An", "I", "It", "This", "That", "We", "You", "He", "She", "They"})
_LETTERS = regex.compile(r"\p{L}[\p{L}'\u2019\-]*")


def _tail_start(text: str, may_be_name: Callable[[str], bool] | None = None) -> int:
    """Where the part of ``text`` that could still grow into an entity, or whose judgement the next
    words may change, begins. ``may_be_name`` tells a capitalised word that may be a name, which
    waits for ``NAME_CONTEXT`` words after it rather than ``RIGHT_CONTEXT``."""
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
    # words after it (sentence-opening function words excepted), a word that may be a name for
    # NAME_CONTEXT, and so do the words of the run it ends: a name is judged whole ("Jesenko" waits
    # with "Mlakar" until the words after both).
    recent = len(complete) - RIGHT_CONTEXT
    for i in range(max(0, len(complete) - NAME_CONTEXT), len(complete)):
        s, e = complete[i]
        if s >= start:
            break
        if not _WORTH_CONTEXT.match(text, s, e) or text[s:e].rstrip(".,;:!?") in _SENTENCE_WORDS:
            continue
        if i < recent:
            word = _LETTERS.search(text, s, e)
            if may_be_name is None or word is None or not may_be_name(word.group()):
                continue
        start = s
        for before in range(i - 1, max(-1, i - MAX_TAIL_TOKENS), -1):
            bs, be = complete[before]
            if not _CONTINUES.fullmatch(text, bs, be):
                break
            start = bs
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
        names: NameMemory | None = None,
    ) -> None:
        self._analyze = analyze
        self._names = names
        self._rewrite = rewrite
        self._holdback = holdback
        self._block = block
        self._on_found = on_found
        self._pending = ""
        self._context = ""  # the last released characters, as written (never sent again)
        self.counts: Counter[str] = Counter()

    @property
    def held(self) -> int:
        """Characters received and not yet released."""
        return len(self._pending)

    async def feed(self, text: str) -> str:
        self._pending += text
        cut = _tail_start(self._pending, self._names.may_be_name if self._names is not None else None)
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
        if self._names is not None:
            # A name released before the window began is still a name here (where nothing else was
            # found: the rewrite takes spans that do not overlap).
            covered = [(f.start, f.end) for f in spans]
            spans += [
                Found("PERSON", s, e, score)
                for s, e, score in self._names.mentions(pending, covered)
                if not any(a < e and s < b for a, b in covered)
            ]
            spans.sort(key=lambda f: f.start)
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
            if self._names is not None:
                self._names.learn(pending, [(f.start, f.end, f.score) for f in released if f.entity == "PERSON"])
        self._pending = pending[cut:]
        self._context = (self._context + pending[:cut])[-CONTEXT:]
        return self._rewrite(pending[:cut], released)

"""Logprob tokens after a policy rewrote the text they spell: whole answers (``realign``) and
streams (``TokenAligner``)."""

from __future__ import annotations

import difflib
from typing import Any


def token_text(entry: Any) -> str:
    """The text of one logprob entry."""
    token = entry.get("token") if isinstance(entry, dict) else None
    return token if isinstance(token, str) else ""


def realign(entries: list[Any], old: str, new: str) -> list[Any]:
    """Logprob entries for ``new``, a rewrite of the text ``old`` the entries spell. Tokens in
    unchanged stretches keep their entry; each changed stretch becomes one entry carrying the new
    text, the summed log-probability of the tokens it replaces and no alternatives (they would
    show what was rewritten)."""
    if old == new:
        return entries
    bounds: list[tuple[int, int]] = []
    pos = 0
    for e in entries:
        t = token_text(e)
        bounds.append((pos, pos + len(t)))
        pos += len(t)
    same = [False] * len(old)
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    # old offset -> new offset, for unchanged characters
    to_new: dict[int, int] = {}
    for a, b, size in matcher.get_matching_blocks():
        for k in range(size):
            same[a + k] = True
            to_new[a + k] = b + k
    out: list[Any] = []
    cursor = 0  # next character of ``new`` not yet given to an entry
    pending_logprob = 0.0
    for entry, (start, end) in zip(entries, bounds, strict=True):
        if end > start and all(same[start:end]) and to_new[start] >= cursor:
            first = to_new[start]
            if first > cursor:
                out.append(_merged(new[cursor:first], pending_logprob))
            pending_logprob = 0.0  # tokens rewritten to nothing leave no entry
            out.append(entry)
            cursor = to_new[end - 1] + 1
        else:
            lp = entry.get("logprob") if isinstance(entry, dict) else None
            pending_logprob += lp if isinstance(lp, (int, float)) else 0.0
    if cursor < len(new):
        out.append(_merged(new[cursor:], pending_logprob))
    return out


def _merged(text: str, logprob: float) -> dict[str, Any]:
    return {"token": text, "logprob": logprob, "bytes": list(text.encode()), "top_logprobs": []}


class TokenAligner:
    """Streamed logprob tokens through the stream filters: the tokens of each chunk are fed as the
    text they spell, and entries are handed out once the filters have let their text through
    (re-cut with ``realign`` where the filters rewrote it). A token the filters still hold
    waits, so what the tokens spell is always exactly the filtered text."""

    def __init__(self) -> None:
        self.pending: list[Any] = []
        self.out = ""

    def add(self, entries: list[Any]) -> str:
        self.pending.extend(entries)
        return "".join(token_text(e) for e in entries)

    def take(self, emitted: str, final: bool) -> list[Any]:
        self.out += emitted
        old = "".join(token_text(e) for e in self.pending)
        if final:
            ready, self.pending, self.out = realign(self.pending, old, self.out), [], ""
            return ready
        blocks = difflib.SequenceMatcher(None, old, self.out, autojunk=False).get_matching_blocks()
        ends = [0]
        for entry in self.pending:
            ends.append(ends[-1] + len(token_text(entry)))
        # The longest run of whole tokens whose end maps into the emitted text (the rest is held).
        for k in range(len(self.pending), 0, -1):
            at = ends[k]
            mapped = next((b + at - a for a, b, size in blocks if size and a < at <= a + size), None)
            if mapped is not None:
                ready = realign(self.pending[:k], old[:at], self.out[:mapped])
                self.pending, self.out = self.pending[k:], self.out[mapped:]
                return ready
        return []

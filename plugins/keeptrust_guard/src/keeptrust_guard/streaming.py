"""Checking a streamed answer as it arrives.

The filter scans a sliding window: the text not yet checked plus a bounded tail of what was
already emitted, so a phrase split across chunks is still seen while the total work stays linear
in the answer's length. It holds back only the last, possibly unfinished word; the first whole words
are checked at once (so the time to first token is the upstream's), then it scans every ``STEP``
characters (or at a line or sentence end) rather than on every token.
"""

from __future__ import annotations

from collections.abc import Callable

from keeptrust_guard.detection import Detection

TAIL = 400  # characters of already emitted text kept for phrases that straddle a check
STEP = 48  # characters gathered before a check
_BREAKS = ("\n", ".", "!", "?", ":", ";")


class GuardStreamFilter:
    """``feed`` returns the text that passed; ``check`` raises ``StreamBlocked`` (block) or
    records a flag and lets the text through (flag)."""

    def __init__(self, scan: Callable[[str], Detection], check: Callable[[Detection], None]) -> None:
        self._scan = scan
        self._check = check
        self._tail = ""
        self._pending = ""

    def feed(self, text: str) -> str:
        self._pending += text
        # The first words are checked (and sent) as soon as they are whole, so the time to first token
        # stays that of the upstream; after that, checks run every STEP characters.
        first = not self._tail and " " in self._pending.strip()
        if len(self._pending) < STEP and not first and not text.rstrip().endswith(_BREAKS):
            return ""
        self._check(self._scan(self._tail + self._pending))
        cut = max(self._pending.rfind(" "), self._pending.rfind("\n"))
        if cut < 0:
            if len(self._pending) < 4 * STEP:
                return ""
            cut = len(self._pending) - 1  # one very long "word": emit it, the tail keeps its end
        out, self._pending = self._pending[: cut + 1], self._pending[cut + 1 :]
        self._tail = (self._tail + out)[-TAIL:]
        return out

    def flush(self) -> str:
        out, self._pending = self._pending, ""
        if out:
            self._check(self._scan(self._tail + out))
        return out


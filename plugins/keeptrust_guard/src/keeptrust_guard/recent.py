"""The findings of the texts a detector read last, so that a text sent again costs a look-up.

An application sends the same system prompt, tool definitions and examples with every request, and
a conversation sends every earlier turn again with each new one: only the new text needs reading. A
text's findings depend on the text, its role and whether the encoder may read it, not on the other
texts of the request (``ClassifierDetector.scan`` merges them afterwards), so they are kept per
``(text, role, encode)``, without the text's place in the body, which is set again on the way out.

Each detector keeps its own (its categories and profile decide the findings). A text is kept once
it is seen a second time: most texts (a new question, an answer) come once, and kept at first
sight they would push out the ones that recur; the first sight leaves only the key's hash, in a
list of ``SEEN`` hashes. Texts longer than ``KEPT_CHARS`` are not kept, so a cache holds at most
``SIZE`` texts of that size (4 million characters). Scans run on the event loop and in worker threads,
hence the lock.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import attrs

from keeptrust_guard.detection import Finding, Segment

SIZE = 512
SEEN = 8 * SIZE
KEPT_CHARS = 8_192

# A text's findings: the models', and the heuristics' (empty when the heuristics did not read it).
Read = tuple[tuple[Finding, ...], tuple[Finding, ...]]
_Key = tuple[str, str, bool]


class RecentFindings:
    """A least-recently-used map of ``(text, role, encode)`` to the text's ``Read``, admitting a key
    the second time it is put."""

    def __init__(self, size: int = SIZE, seen: int = SEEN) -> None:
        self._size = size
        self._seen_size = seen
        self._kept: OrderedDict[_Key, Read] = OrderedDict()
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, segment: Segment, encode: bool) -> Read | None:
        """The kept findings of ``segment``'s text and role, with its ``where``; None if not kept."""
        if len(segment.text) > KEPT_CHARS:
            return None
        key = (segment.text, segment.role, encode)
        with self._lock:
            found = self._kept.get(key)
            if found is None:
                return None
            self._kept.move_to_end(key)
        return placed(found, segment.where) if segment.where else found

    def put(self, segment: Segment, encode: bool, read: Read) -> None:
        """Keep ``read``, the findings of ``segment``, if its key was put before (without the
        segment's ``where``: a first sight costs nothing more than a hash)."""
        if len(segment.text) > KEPT_CHARS or self._size <= 0:
            return
        key = (segment.text, segment.role, encode)
        digest = hash(key)
        with self._lock:
            if digest not in self._seen:
                self._seen[digest] = None
                if len(self._seen) > self._seen_size:
                    self._seen.popitem(last=False)
                return
            self._kept[key] = placed(read, "") if segment.where else read
            self._kept.move_to_end(key)
            if len(self._kept) > self._size:
                self._kept.popitem(last=False)

    def __len__(self) -> int:
        return len(self._kept)


def placed(read: Read, where: str) -> Read:
    """``read`` with each finding's ``where`` set to ``where``, a segment's place in the body."""
    model, heuristic = read
    return (
        tuple(attrs.evolve(f, where=where) for f in model),
        tuple(attrs.evolve(f, where=where) for f in heuristic),
    )

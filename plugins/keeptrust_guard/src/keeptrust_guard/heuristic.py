"""The default detector: normalisation, decoding and curated signals. Offline, no model, no state.

Texts up to ``INLINE_CHARS`` are scanned on the event loop (a typical chat message costs tens of
microseconds); larger ones go to a worker thread through a per-detector limiter, so a megabyte of
adversarial input never stalls other requests.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import ClassVar

import attrs
import trio

from keeptrust_guard import content_signals, injection_signals
from keeptrust_guard.decoding import decoded_segments
from keeptrust_guard.detection import Detection, DetectorSetup, Finding, Segment, merge
from keeptrust_guard.normalize import views
from keeptrust_guard.signals import Hits, Table, run, word_keys

INLINE_CHARS = 16_384
INJECTION = injection_signals.CATEGORY
# Roles whose text the application fetched rather than the user typed: instructions addressed to
# the model there are suspect in themselves (indirect injection).
DOCUMENT_ROLES = frozenset({"tool", "function", "ipython", "document", "retrieval", "context"})
# Signs that a user turn carries a pasted document or e-mail, read with document weights.
_QUOTED_DOCUMENT = re.compile(
    r"(?im)^(?:from|to|subject|date|cc|sent|reply-to): |-{3,} ?(?:forwarded|original) message|"
    r"<(?:document|doc|email|context|article|webpage|search_results?|retrieved|tool_result|page)\b|"
    r"\[(?:document|source|doc|result) ?\d*\]|^> \S|"
    # A request about "this/the following <text>": the anchor is the determiner, one pass over the text.
    r"\b(?:this|the following|the|these) (?:[a-z]+ )?(?:email|e-mail|document|article|page|review|web ?page|text|"
    r"message|file|paragraph|tweet|post|comment|contract|essay|passage|transcript|feedback|answer|reviews|comments|"
    r"emails|letter|note|snippet)\b"
)
# What the user asks of that text, within a few words before it ("summarise this email").
_DOCUMENT_VERB = re.compile(
    r"(?i)\b(?:here is|below is|summari[sz]e|translate|read|proofread|rate|classify|analy[sz]e|check|review|extract|"
    r"edit|rewrite|grade|label|score|correct|gist of|moderate)\b[^.!?\n]{0,30}$"
)


def _quoted_document(text: str) -> re.Match[str] | None:
    """The sign that a user turn carries a pasted document, or None."""
    for found in _QUOTED_DOCUMENT.finditer(text):
        word = found.group()[:5].lower()
        if not word.startswith(("this", "the", "these")) or _DOCUMENT_VERB.search(text, max(0, found.start() - 40),
                                                                                       found.start()):
            return found
    return None
_TRICK_WEIGHT = {"tag_characters": 0.5, "bidi_override": 0.2}
_MAX_DEPTH = 2


def _injection_hits(text: str, user_turn: bool, depth: int = 0) -> Hits:
    v = views(text)
    texts: dict[str, str | None] = {
        "skeleton": v.skeleton,
        "plain": v.plain if not v.plain.isascii() else None,
        "compact": v.compact,
    }
    hits = Hits()
    run(injection_signals.TABLE, texts, word_keys(v.skeleton), hits, user_turn=user_turn)
    if v.reversed is not None:
        backwards = Hits()
        run(injection_signals.TABLE, {"skeleton": v.reversed}, word_keys(v.reversed), backwards,
            user_turn=user_turn)
        hits.merge(backwards, prefix="reversed:")
    if depth < _MAX_DEPTH:
        for decoded in decoded_segments(text):
            inner = _injection_hits(decoded.text, user_turn, depth + 1)
            if inner.score(INJECTION) >= 0.3:
                hits.merge(inner, prefix=f"{decoded.kind}:")
                hits.add_named(f"encoded_payload:{decoded.kind}", INJECTION, 0.5, family="obfuscated")
    found = hits.score(INJECTION) > 0
    for trick in sorted(v.tricks):
        weight = _TRICK_WEIGHT.get(trick, 0.0)
        if found:
            weight = max(weight, 0.3)
        if weight:
            hits.add_named(f"obfuscation:{trick}", INJECTION, weight, family="obfuscated")
    return hits


# Where a pasted document starts after the user's request for it ("summarise this email:\n...").
_DOCUMENT_START = re.compile(r"[\n:\"“<]")


def scan_injection(text: str, role: str = "user") -> Hits:
    """Injection signals in one text. Tool results use document weights; a user turn that carries a
    pasted document uses them for the document only, so the user's own "Hey assistant, summarise
    the article below" stays a user's request."""
    if role in DOCUMENT_ROLES:
        return _injection_hits(text, user_turn=False)
    found = _quoted_document(text)
    hits = _injection_hits(text, user_turn=True)
    if found is None:
        return hits
    start = found.start() if text[found.start()] in "<[>" or found.group().endswith(": ") else None
    if start is None:
        brk = _DOCUMENT_START.search(text, found.end())
        start = brk.start() if brk else found.end()
    hits.merge_all(_injection_hits(text[start:], user_turn=False))
    return hits


ALL_CONTENT = content_signals.table(content_signals.CATEGORIES)


def scan_content(text: str, table: Table = ALL_CONTENT) -> Hits:
    """Content signals in one text; ``table`` narrows them to the categories a policy checks."""
    v = views(text)
    hits = Hits()
    run(table, {"skeleton": v.skeleton}, word_keys(v.skeleton), hits, user_turn=False)
    return hits


@attrs.frozen(kw_only=True)
class HeuristicOptions:
    """The heuristic detector has no options; the policy's ``sensitivity`` sets its threshold."""


class OfflineDetector:
    """What the detectors that score in-process share: ``scan`` runs on the event loop for texts up to
    ``INLINE_CHARS`` and in a worker thread (through ``self._limiter``) beyond, and doubles as the
    stream scanner."""

    _limiter: trio.CapacityLimiter

    def scan(self, segments: Sequence[Segment]) -> Detection:
        raise NotImplementedError

    async def detect(self, segments: Sequence[Segment]) -> Detection:
        if sum(len(s.text) for s in segments) <= INLINE_CHARS:
            return self.scan(segments)
        # Abandonable: a policy past its timeout_ms is not held by a scan still running.
        return await trio.to_thread.run_sync(self.scan, segments, limiter=self._limiter, abandon_on_cancel=True)

    def stream_scanner(self) -> Callable[[str], Detection]:
        return lambda text: self.scan([Segment(text, "assistant")])

    async def aclose(self) -> None:
        return None


class HeuristicDetector(OfflineDetector):
    name: ClassVar[str] = "heuristic"
    config_class: ClassVar[type] = HeuristicOptions

    def __init__(self, config: HeuristicOptions, setup: DetectorSetup) -> None:
        self.config = config
        self.setup = setup
        self.categories = setup.categories
        # Only the signals of the categories this policy checks (safety-filter reads one category).
        self._content = content_signals.table(self.categories)
        self._limiter = trio.CapacityLimiter(2)

    def _findings(self, segment: Segment) -> list[Finding]:
        if self.setup.task == "prompt_injection":
            hits = scan_injection(segment.text, segment.role)
        else:
            hits = scan_content(segment.text, self._content)
        out = []
        for category in self.categories:
            score = hits.score(category)
            if score > 0:
                out.append(Finding(category, score, tuple(hits.names(category)), hits.top_family(category),
                                   segment.where, segment.role))
        return out

    def scan(self, segments: Sequence[Segment]) -> Detection:
        return merge([Detection(tuple(self._findings(s))) for s in segments])


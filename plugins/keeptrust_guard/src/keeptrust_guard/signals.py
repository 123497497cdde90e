"""The scoring engine shared by the signal tables: weighted patterns, gated by the words a text
holds, combined into one score per category.

A ``Signal`` is a compiled pattern with a weight in (0, 1]. Signals that hit are combined with a
noisy-OR (``1 - prod(1 - w)``): one strong signal decides alone, several weak ones add up, and the
score stays in [0, 1]. A negative weight is a *damper* (negation, quotation, academic framing): it
scales the category's score by ``1 + w`` but never raises it.

Each Latin-script signal names *trigger* stems; it only runs when one of them occurs in the text, so
an ordinary message pays for a word split and a handful of set look-ups, not for every pattern.
A trigger is often a common word ("your", "rules"), so each pattern also carries the literals any
match of it must hold, read from the pattern itself (``prefilter.required``): a text without them
is not searched, and a signal hits exactly the texts it would hit without them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import attrs

from keeptrust_guard.prefilter import Clause, admits, required

_WORD = re.compile(r"[a-z]+")
STEM = 5  # triggers are compared on a word's first five letters (so "ignor" meets "ignoring"); "=w": exact


def _key(word: str) -> str:
    return word[:STEM]


@attrs.frozen
class Signal:
    """One weighted pattern. ``name`` goes to the audit record (never the text it matched)."""

    name: str
    category: str
    weight: float
    pattern: re.Pattern[str]
    triggers: frozenset[str] = frozenset()
    # Which normalised view it reads: "skeleton" (Latin scripts), "plain" (other scripts), "compact".
    view: str = "skeleton"
    family: str = ""
    # Weight when the text is an ordinary user turn rather than a tool result or document; None:
    # the same weight everywhere.
    user_weight: float | None = None
    # What any match must hold (``prefilter.required``): a text without it is not searched.
    needs: tuple[Clause, ...] = ()


def signal(name: str, category: str, weight: float, pattern: str, triggers: Iterable[str] = (),
           *, view: str = "skeleton", family: str = "", user_weight: float | None = None) -> Signal:
    keys = frozenset(t if t.startswith("=") else _key(t) for t in triggers)
    compiled = re.compile(pattern)
    return Signal(name, category, weight, compiled, keys, view, family or category, user_weight,
                  required(compiled, words=view == "skeleton", stem=STEM))


def word_keys(text: str) -> frozenset[str]:
    """The trigger keys present in a skeleton view: each word's stem, and ``=word`` for the exact word
    (so a trigger ``=trans`` meets "trans" but not "transformers")."""
    words = set(_WORD.findall(text))
    return frozenset({_key(w) for w in words} | {"=" + w for w in words})


@attrs.define
class Hits:
    """The signals that hit in one text, by category and name, with the weight each counts for."""

    weights: dict[tuple[str, str], tuple[Signal, float]] = attrs.Factory(dict)

    def add(self, sig: Signal, weight: float) -> None:
        key = (sig.category, sig.name)
        old = self.weights.get(key)
        if old is None or abs(weight) > abs(old[1]):
            self.weights[key] = (sig, weight)

    def add_named(self, name: str, category: str, weight: float, family: str = "") -> None:
        sig = Signal(name, category, weight, _NEVER, frozenset(), "none", family or category)
        self.add(sig, weight)

    def merge(self, other: Hits, scale: float = 1.0, prefix: str = "") -> None:
        for sig, weight in other.weights.values():
            if weight > 0:
                self.add(attrs.evolve(sig, name=prefix + sig.name), weight * scale)

    def merge_all(self, other: Hits) -> None:
        """Take every hit of ``other``, dampers included, keeping the stronger weight per signal."""
        for sig, weight in other.weights.values():
            self.add(sig, weight)

    def score(self, category: str) -> float:
        keep = 1.0
        damp = 1.0
        for sig, weight in self.weights.values():
            if sig.category != category:
                continue
            if weight >= 0:
                keep *= 1.0 - min(weight, 1.0)
            else:
                damp *= 1.0 + max(weight, -1.0)
        return round((1.0 - keep) * damp, 4)

    def names(self, category: str) -> list[str]:
        """Signal names for the audit record, strongest first."""
        got = [(w, s.name) for s, w in self.weights.values() if s.category == category and w > 0]
        return [n for _, n in sorted(got, reverse=True)]

    def top_family(self, category: str) -> str:
        best = max(((w, s.family) for s, w in self.weights.values() if s.category == category and w > 0),
                   default=(0.0, ""))
        return best[1]


_NEVER = re.compile(r"(?!)")


class Table:
    """A signal table indexed by trigger key, so a text only visits the signals its words can wake
    (a clean message touches a handful instead of every pattern)."""

    def __init__(self, signals: Sequence[Signal]) -> None:
        self.signals = tuple(signals)
        self._always: list[int] = []
        self._by_key: dict[str, list[int]] = {}
        for i, sig in enumerate(self.signals):
            if not sig.triggers:
                self._always.append(i)
            for key in sig.triggers:
                self._by_key.setdefault(key, []).append(i)

    def candidates(self, keys: frozenset[str]) -> list[Signal]:
        picked = set(self._always)
        for key in keys:
            found = self._by_key.get(key)
            if found:
                picked.update(found)
        return [self.signals[i] for i in sorted(picked)]


def run(table: Table, texts: dict[str, str | None], keys: frozenset[str], hits: Hits, *, user_turn: bool) -> None:
    """Run every signal whose trigger occurs (or that has none) against its view. Dampers run only
    for a category that already has a hit: a clean text never pays for them. ``keys`` are the
    ``word_keys`` of ``texts["skeleton"]`` (the prefilters read its whole words there)."""
    searched: dict[tuple[int, str], bool] = {}  # one search per pattern and view, however many categories
    dampers = []
    for sig in table.candidates(keys):
        if sig.weight < 0:
            dampers.append(sig)
        elif _matches(sig, texts, keys, searched):
            weight = sig.user_weight if user_turn and sig.user_weight is not None else sig.weight
            hits.add(sig, weight)
    if dampers and hits.weights:
        hit = {category for category, _ in hits.weights}
        for sig in dampers:
            if sig.category in hit and _matches(sig, texts, keys, searched):
                hits.add(sig, sig.weight)


def _matches(sig: Signal, texts: dict[str, str | None], keys: frozenset[str],
             searched: dict[tuple[int, str], bool]) -> bool:
    text = texts.get(sig.view)
    if not text:
        return False
    key = (id(sig.pattern), sig.view)
    found = searched.get(key)
    if found is None:
        found = searched[key] = admits(sig.needs, text, keys) and sig.pattern.search(text) is not None
    return found

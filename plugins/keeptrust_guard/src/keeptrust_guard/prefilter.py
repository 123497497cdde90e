"""Literal prefilters for the signal patterns: what a text must hold for a pattern to match it.

A signal's pattern searched over a 200-word message costs about 20 µs in ``re`` even when nothing
matches, because the engine tries its alternations at every position; a set look-up or a
``str.__contains__`` of a short literal costs well under a microsecond. ``required`` reads a
compiled pattern's syntax tree and returns what any match must contain, as clauses: the pattern
can only match a text that satisfies every clause. It is the prefilter of RE2's ``FilteredRE2``
(https://github.com/google/re2/blob/main/re2/prefilter.h), computed on Python's own parse of the
pattern.

A clause is satisfied by a text that has one of its word keys (the keys ``signals.word_keys``
collects: each whole word, a maximal run of ``a-z``, and each word's first five letters) or
contains one of its substrings. A whole word is taken where the pattern puts a non-letter or a
``\\b`` on both sides of it, so every match shows it whole; a word's beginning where it has one
before it.

The filter only ever skips a search that could not have matched: a signal hits exactly the texts it
hit before (``tests/test_prefilter.py`` draws matching texts from every signal's pattern to check
it). Where a construct is not modelled (case-insensitive or verbose patterns, anything the parser
returns that this module does not know), the answer is "no requirement" and the pattern is searched
as before.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

import attrs

try:  # The parser ``re.compile`` itself uses; private, so anything unexpected means "no prefilter".
    from re import _constants as _c  # type: ignore[attr-defined]
    from re import _parser as _parser  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - CPython 3.11 and later have both
    _parser = None

# A set of exact strings grows by cross products while it stays this small; then it becomes a clause.
_MAX_EXACT = 64
# A substring shorter than this is in most texts: a clause of one is dropped, as it filters nothing.
_MIN_LITERAL = 3
# Substring clauses with more alternatives than this cost more to test than the search they save.
_MAX_SUBSTRINGS = 3
# A character class of at most this many characters is read as alternatives ("s?" gives "" and "s").
_MAX_CLASS = 4
# Stands for a zero-width \b, ^ or $ in the exact strings: on its far side there is no letter.
_EDGE = "\x00"
# A run of at most this many strings is carried into the alternation or group that follows it.
_MAX_PREFIX = 8
_FLAGS = re.IGNORECASE | re.VERBOSE
_LETTERS = re.compile(r"[a-z]+")


@attrs.frozen
class Clause:
    """Satisfied by a text that has one of the word keys ``words`` or contains one of ``substrings``."""

    words: frozenset[str] = frozenset()
    substrings: tuple[str, ...] = ()


@attrs.frozen
class _Info:
    """What one node can match: all its strings when they are few (``exact``), otherwise the clauses
    every match of it satisfies."""

    exact: frozenset[str] | None = None
    clauses: tuple[Clause, ...] = ()


class _Unknown(Exception):
    """A construct the analysis does not model: the pattern gets no prefilter."""


def required(pattern: re.Pattern[str], words: bool = True, stem: int = 0) -> tuple[Clause, ...]:
    """The clauses every match of ``pattern`` satisfies, cheapest first; empty if none is known.
    ``words``: clauses may test word keys (the pattern reads the view the words are taken from);
    ``stem``: the length of the word beginnings among those keys (0: none)."""
    if _parser is None or not isinstance(pattern.pattern, str) or pattern.flags & (re.IGNORECASE | re.VERBOSE):
        return ()
    return _required(pattern.pattern, pattern.flags, words, stem)


@functools.cache  # the content tables repeat a pattern for each category it serves
def _required(source: str, flags: int, words: bool, stem: int) -> tuple[Clause, ...]:
    try:
        reader = _Reader(words, stem)
        found = reader.clauses(reader.sequence(_parser.parse(source, flags)))
    except (_Unknown, RecursionError, AttributeError, TypeError, ValueError, IndexError):
        return ()
    # A clause with every alternative of another is implied by it.
    kept = {c for c in found if not any(o != c and o.words <= c.words and set(o.substrings) <= set(c.substrings)
                                        for o in found)}
    return tuple(sorted(kept, key=_cost))


def admits(clauses: tuple[Clause, ...], text: str, words: frozenset[str]) -> bool:
    """Whether ``text``, whose word keys are ``words`` (``signals.word_keys``), satisfies every
    clause, so the pattern may match it."""
    for clause in clauses:
        if clause.words and not words.isdisjoint(clause.words):
            continue
        for literal in clause.substrings:
            if literal in text:
                break
        else:
            return False
    return True


def _cost(clause: Clause) -> tuple[int, int, list[str], tuple[str, ...]]:
    # Set look-ups first, then the fewest substring scans.
    return len(clause.substrings), len(clause.words), sorted(clause.words), clause.substrings


class _Reader:
    """Reads a parsed pattern bottom up into ``_Info``."""

    def __init__(self, words: bool, stem: int) -> None:
        self.words = words
        self.stem = stem

    def clauses(self, info: _Info) -> tuple[Clause, ...]:
        return info.clauses if info.exact is None else self.literal_clauses(info.exact)

    def literal_clauses(self, strings: frozenset[str]) -> tuple[Clause, ...]:
        """Clauses for alternative literals. A word key every alternative shows is a clause of its
        own; otherwise one clause tests each alternative by its longest word key, or as a substring
        where it has none. Nothing (no requirement) if an alternative is too short to filter or the
        substring scans would be too many."""
        strings = _shortest(strings)
        keys = {s: self.word_keys(s) for s in strings}
        common = set.intersection(*keys.values()) if keys else set()
        found = [Clause(frozenset({k})) for k in sorted(common)]
        words, substrings = set(), set()
        for s in strings:
            if keys[s]:
                words.add(max(sorted(keys[s]), key=_letters))
                continue
            plain = s.replace(_EDGE, "")
            if len(plain) < _MIN_LITERAL:
                return tuple(found)
            substrings.add(plain)
        substrings = set(_shortest(frozenset(substrings)))
        if len(substrings) <= _MAX_SUBSTRINGS and not (len(words) == 1 and words <= common):
            found.append(Clause(frozenset(words), tuple(sorted(substrings))))
        return tuple(found)

    def word_keys(self, s: str) -> set[str]:
        """The keys a text holding ``s`` has among its words (``signals.word_keys``): ``=word`` for a
        word of ``s`` with a non-letter (or an edge) on both sides, and the first ``stem`` letters of
        a word at least that long with one before it (the text's word may go on: "instruction" in
        "instructions")."""
        found = set()
        for m in _LETTERS.finditer(s) if self.words else ():
            if m.start() == 0:
                continue
            if m.end() < len(s):
                found.add("=" + m.group())
            elif self.stem and len(m.group()) >= self.stem:
                found.add(m.group()[: self.stem])
        return found

    def sequence(self, items: Iterable[tuple[object, object]], prefix: frozenset[str] = frozenset({""})) -> _Info:
        """A concatenation after the strings ``prefix``: exact strings multiply while they stay few; a
        run of them that cannot grow becomes a clause, and an item that is not exact adds its own
        clauses. Strings never join across such an item, except that a run goes into the alternatives
        (and groups) that follow it, so "\\b(?:grant|give) access" reads each word with its edge."""
        clauses: list[Clause] = []
        run = prefix
        whole = True  # every item so far exact: ``run`` is all the sequence can match
        for op, av in items:
            if len(run) <= _MAX_PREFIX and (op is _c.BRANCH or (op is _c.SUBPATTERN and not av[1] & _FLAGS)):
                # R(A|B) = RA|RB: the run joins each alternative, and the result replaces it.
                node = self.branch(av[1], run) if op is _c.BRANCH else self.sequence(av[3], run)  # type: ignore[index]
                if node.exact is not None:
                    run = node.exact
                else:
                    whole = False
                    clauses += node.clauses
                    run = frozenset({""})
                continue
            node = self.node(op, av)
            if node.exact is not None and len(run) * len(node.exact) <= _MAX_EXACT:
                run = frozenset(a + b for a in run for b in node.exact)
                continue
            whole = False
            clauses += self.clauses(_Info(run))
            if node.exact is not None:
                run = node.exact
            else:
                clauses += node.clauses
                run = frozenset({""})
        if whole:
            return _Info(run)
        return _Info(None, tuple(clauses) + self.clauses(_Info(run)))

    def branch(self, alternatives: list[object], prefix: frozenset[str] = frozenset({""})) -> _Info:
        infos = [self.sequence(alt, prefix) for alt in alternatives]  # type: ignore[arg-type]
        if all(i.exact is not None for i in infos):
            union = frozenset().union(*(i.exact for i in infos))  # type: ignore[misc]
            if len(union) <= _MAX_EXACT:
                return _Info(union)
        # (a1 and a2) or (b1 and b2) implies (a1 or b1): the most selective clause of each alternative, joined.
        words: set[str] = set()
        substrings: set[str] = set()
        for info in infos:
            own = self.clauses(info)
            if not own:
                return _Info()
            best = min(own, key=_weakness)
            words |= best.words
            substrings.update(best.substrings)
        substrings = set(_shortest(frozenset(substrings)))
        if len(substrings) > _MAX_SUBSTRINGS:
            return _Info()
        return _Info(None, (Clause(frozenset(words), tuple(sorted(substrings))),))

    def node(self, op: object, av: object) -> _Info:
        return _node(self, op, av)


# Words in most messages: a clause holding one rules out almost nothing.
_COMMON = frozenset("=" + w for w in (
    "a", "an", "the", "is", "are", "was", "were", "be", "been", "being", "am", "to", "of", "and", "or", "in", "on",
    "at", "for", "with", "by", "from", "as", "that", "this", "these", "those", "it", "its", "you", "your", "i", "my",
    "me", "we", "our", "us", "they", "them", "their", "he", "she", "his", "her", "has", "have", "had", "do", "does",
    "did", "can", "could", "will", "would", "should", "not", "no", "so", "if", "but", "what", "which", "who", "when",
    "how", "now", "all", "any", "there", "then", "just", "only", "about",
))


def _weakness(clause: Clause) -> tuple[int, int, int, int]:
    # Common and short words are in most texts: a clause of rarer, longer words rules out more of them.
    return (len(clause.substrings), len(clause.words & _COMMON), -min(map(_letters, clause.words), default=99),
            len(clause.words))


def _letters(key: str) -> int:
    return len(key) - key.startswith("=")


def _shortest(strings: frozenset[str]) -> frozenset[str]:
    """The alternatives without those that contain another (a text holding the longer holds the shorter)."""
    return frozenset(s for s in strings if not any(o != s and o in s for o in strings))


def _node(reader: _Reader, op: object, av: object) -> _Info:
    if op is _c.LITERAL:
        return _Info(frozenset({chr(av)}))  # type: ignore[arg-type]
    if op is _c.AT:
        # \B has letters on both sides or neither: no edge. The others (\b, ^, $, \A, \Z) have none beyond.
        return _Info(frozenset({"" if av is _c.AT_NON_BOUNDARY else _EDGE}))
    if op is _c.IN:
        chars = _class(av)  # type: ignore[arg-type]
        return _Info(chars)
    if op in (_c.ANY, _c.NOT_LITERAL, _c.GROUPREF, _c.GROUPREF_EXISTS, _c.CATEGORY):
        return _Info()
    if op in (_c.ASSERT, _c.ASSERT_NOT):
        return _Info(frozenset({""}))  # a look-around consumes nothing
    if op is _c.SUBPATTERN:
        _group, add_flags, _del_flags, sub = av  # type: ignore[misc]
        if add_flags & _FLAGS:
            return _Info()
        return reader.sequence(sub)
    if op is getattr(_c, "ATOMIC_GROUP", None):
        return reader.sequence(av)  # type: ignore[arg-type]
    if op is _c.BRANCH:
        return reader.branch(av[1])  # type: ignore[index]
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", None)):
        lo, hi, sub = av  # type: ignore[misc]
        inner = reader.sequence(sub)
        if lo == hi == 1:
            return inner
        if lo == 0:
            return _Info(inner.exact | {""}) if hi == 1 and inner.exact is not None else _Info()
        # At least one repetition: what one match of the item needs, the repeat needs too.
        return _Info(None, reader.clauses(inner))
    raise _Unknown(op)


def _class(items: list[tuple[object, object]]) -> frozenset[str] | None:
    chars: set[str] = set()
    for op, av in items:
        if op is _c.LITERAL:
            chars.add(chr(av))  # type: ignore[arg-type]
        elif op is _c.RANGE and av[1] - av[0] < _MAX_CLASS:  # type: ignore[index,operator]
            chars.update(chr(c) for c in range(av[0], av[1] + 1))  # type: ignore[index,operator]
        else:
            return None  # negated, a category, a wide range
        if len(chars) > _MAX_CLASS:
            return None
    return frozenset(chars) or None

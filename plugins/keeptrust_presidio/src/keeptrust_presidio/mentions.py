"""A name's other mentions: once "Riku Andou" is a name, "Riku" alone is that person too, in the
same text (``recall.repeated_names``) or later in the same stream (``NameMemory``)."""

from __future__ import annotations

import regex

from keeptrust_presidio.names import FUNCTION_WORDS, TITLES, NameEvidence, uncovered

_NAME_PART = regex.compile(r"\p{Lu}[\p{L}'\u2019\-]+")


def add_name_parts(parts: dict[str, float], name: str, score: float, names: NameEvidence | None) -> None:
    """Add to ``parts`` the words of ``name`` that stand for the person on their own, with the best
    score each was found with."""
    for m in _NAME_PART.finditer(name):
        word = m.group()
        lw = word.lower()
        if lw in TITLES or lw in FUNCTION_WORDS or word.isupper():
            continue
        if names is not None and names.in_dictionary(lw) and lw not in names.names:
            continue
        parts[word] = max(parts.get(word, 0.0), score)


def mentions(text: str, parts: dict[str, float], covered: list[tuple[int, int]]) -> list[tuple[int, int, float]]:
    """Where the words of ``parts`` stand alone in ``text``, outside the spans ``covered``."""
    if not parts:
        return []
    pattern = regex.compile(r"(?<![\p{L}\p{N}])(?:" + "|".join(map(regex.escape, parts)) + r")(?![\p{L}\p{N}])")
    found = ((m.start(), m.end(), parts[m.group()]) for m in pattern.finditer(text))
    return list(uncovered(found, covered))


class NameMemory:
    """The names a stream has released so far, so that a later mention of one is that person too,
    however far back the name was written: the stream's analysis window holds only the last few
    released characters, where a whole-text analysis (``repeated_names``) sees every mention. It
    keeps at most ``LIMIT`` name words, the earliest learnt going first: an answer made of
    thousands of names (a hostile upstream) costs no more than one with a few hundred."""

    LIMIT = 256

    def __init__(self, names: NameEvidence | None) -> None:
        self._names = names
        self._parts: dict[str, float] = {}

    def learn(self, text: str, persons: list[tuple[int, int, float]]) -> None:
        for start, end, score in persons:
            add_name_parts(self._parts, text[start:end], score, self._names)
        for word in list(self._parts)[: max(0, len(self._parts) - self.LIMIT)]:
            del self._parts[word]

    def mentions(self, text: str, covered: list[tuple[int, int]]) -> list[tuple[int, int, float]]:
        return mentions(text, self._parts, covered)

    def may_be_name(self, word: str) -> bool:
        """A capitalised word that could be a name: ``NameEvidence.may_be_name`` (the words
        ``CleanText`` sends to analysis), or a name this stream has released."""
        names = self._names
        if word in self._parts or names is None:
            return True
        return names.may_be_name(word.strip("'-"))

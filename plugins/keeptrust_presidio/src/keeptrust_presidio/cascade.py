"""Which parts of a text spaCy's NER needs to read.

NER costs some 95 % of an analysis, and most sentences of a chat hold no name: a sentence with no
capitalised word that could be one (a known given name or surname, or a word no English dictionary
has) and no name cue ("Dear", "my name is") is not given to NER. The regular expressions (e-mail
addresses, phone and card numbers, ...) still read the whole text, and Presidio's context words
come from the tokenizer, which runs on the whole text and costs little.

A sentence whose every such word is already part of a name the word lists give (a known given name
and a known surname: "I am John Smith") is not given to NER either: the lexicon recognizer finds that
name whatever NER says, and NER would add nothing in that sentence but its own copy of it. NER costs
a fixed 1-2 ms a call, most of a short message's analysis, and most names in English text are in the
lists (US Census and Faker's).

A sentence sent to NER goes whole, with the sentence before it (NER reads a few words on either
side of a name to decide), so a name is read as it would be in the whole text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import regex

from keeptrust_presidio.names import PARTICLES, NameEvidence, uncovered

# Sentence ends: ". ", "! ", "? " or a line break.
_SENTENCE_END = regex.compile(r"(?<=[.!?])[ \t]+|\n+")
_CAPITALISED = regex.compile(r"(?<![\p{L}\p{N}'])\p{Lu}[\p{L}'\u2019\-]*")


class Searchable(Protocol):
    """A pattern's ``search``: a compiled pattern, or ``recall.CuePattern``."""

    def search(self, text: str) -> regex.Match[str] | None: ...


# A capitalised word or an initial (or one and a particle) right before a name (before a full name: not at the
# sentence's start, "Hi John Smith"); a particle and a capitalised word right after it.
_PARTICLE = "|".join(sorted((regex.escape(p) for p in PARTICLES), key=len, reverse=True))
_BEFORE = r"(?<![\p{L}\p{N}'])\p{Lu}[\p{L}'\u2019\-]*\.?[ \t]+(?:(?:" + _PARTICLE + r")[ \t]+)?$"
_EXTENDED_BEFORE = regex.compile(r"(?<=\S[ \t]+)" + _BEFORE)
_ANY_BEFORE = regex.compile(_BEFORE)
_EXTENDED_AFTER = regex.compile(r"[ \t]+(?:(?:" + _PARTICLE + r")[ \t]+)?\p{Lu}")


def could_hold_a_name(
    sentence: str,
    names: NameEvidence,
    cue: Searchable,
    known_names: Callable[[str], Sequence[tuple[int, int]]] | None = None,
) -> bool:
    """True when ``sentence`` has a capitalised word that may be a name, or a name cue, that NER
    should read. ``known_names`` gives the spans of the names the word lists find without NER; a
    sentence whose candidate words all lie in them needs no NER."""
    candidates = []
    for word in _CAPITALISED.finditer(sentence):
        if names.may_be_name(word.group().strip("'-")):
            if known_names is None:
                return True
            candidates.append(word.span())
    if not candidates:
        return bool(cue.search(sentence))
    assert known_names is not None
    # A known name with more capitalised words against it may be part of a longer one NER takes
    # whole ("Novel Ermakov", "Hanora de Búrc"): NER reads that sentence.
    found = []
    for s, e in known_names(sentence):
        before = _EXTENDED_BEFORE if " " in sentence[s:e] else _ANY_BEFORE
        if not before.search(sentence, max(0, s - 60), s) and not _EXTENDED_AFTER.match(sentence, e):
            found.append((s, e))
    return next(uncovered(candidates, found), None) is not None


def sentences(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence of ``text`` (cut after ". ", "! ", "? " and at line breaks)."""
    out = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        if m.start() > start:
            out.append((start, m.start()))
        start = m.end()
    if start < len(text):
        out.append((start, len(text)))
    return out


def ner_regions(text: str, wanted: Callable[[str], bool]) -> list[tuple[int, int]]:
    """The parts of ``text`` NER should read: each sentence ``wanted`` accepts, with the sentence
    before it, adjacent ones merged."""
    spans = sentences(text)
    regions: list[tuple[int, int]] = []
    for i, (start, end) in enumerate(spans):
        if not wanted(text[start:end]):
            continue
        if i > 0:
            start = spans[i - 1][0]
        if regions and start <= regions[-1][1] + 2:
            regions[-1] = (regions[-1][0], end)
        else:
            regions.append((start, end))
    return regions

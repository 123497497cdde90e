"""Which parts of a text spaCy's NER needs to read.

NER costs some 95 % of an analysis, and most sentences of a chat hold no name: a sentence with no
capitalised word that could be one (a known given name or surname, or a word no English dictionary
has) and no name cue ("Dear", "my name is") is not given to NER. The regular expressions (e-mail
addresses, phone and card numbers, ...) still read the whole text, and Presidio's context words
come from the tokenizer, which runs on the whole text and costs little.

A sentence sent to NER goes whole, with the sentence before it (NER reads a few words on either
side of a name to decide), so a name is read as it would be in the whole text.
"""

from __future__ import annotations

from collections.abc import Callable

import regex

from keeptrust_presidio.names import FUNCTION_WORDS, NameEvidence

# Sentence ends: ". ", "! ", "? " or a line break.
_SENTENCE_END = regex.compile(r"(?<=[.!?])[ \t]+|\n+")
_CAPITALISED = regex.compile(r"(?<![\p{L}\p{N}'])\p{Lu}[\p{L}'\u2019\-]*")


def could_hold_a_name(sentence: str, names: NameEvidence, cue: regex.Pattern[str]) -> bool:
    """True when ``sentence`` has a capitalised word that may be a name, or a name cue."""
    for word in _CAPITALISED.finditer(sentence):
        w = word.group().lower().strip("'-")
        if w in names.names or not (names.in_dictionary(w) or w in FUNCTION_WORDS):
            return True
    return bool(cue.search(sentence))


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

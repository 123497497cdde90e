"""``CuePattern`` finds exactly what the name cues' compiled pattern finds, and knows every cue's
first word."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keeptrust_presidio import recall
from keeptrust_presidio.recall import CUE_FIRST_WORDS, NameCueRecognizer

try:  # The parser re.compile uses (the cues are also valid ``re`` syntax); private, CPython 3.11+.
    from re import _constants as _c  # type: ignore[attr-defined]
    from re import _parser  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    _parser = None

EVAL = Path(__file__).resolve().parents[1] / "eval"
CUE = NameCueRecognizer.PATTERN


def _heads(items: list, prefix: str = "") -> set[tuple[str, str]]:
    """The ways a sequence of parsed items can begin: (its leading word characters, the character
    after them, or "" at the end)."""
    if not items:
        return {(prefix, "")}
    (op, av), rest = items[0], list(items[1:])
    if op is _c.AT:
        return _heads(rest, prefix)
    if op is _c.LITERAL:
        char = chr(av)
        return _heads(rest, prefix + char) if re.fullmatch(r"\w", char) else {(prefix, char)}
    if op is _c.SUBPATTERN:
        return _heads(list(av[-1]) + rest, prefix)
    if op is _c.BRANCH:
        return {h for branch in av[1] for h in _heads(list(branch) + rest, prefix)}
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
        low, high, sub = av
        once = _heads(list(sub) + rest, prefix) if high == 1 else _heads(list(sub), prefix)
        return once | (_heads(rest, prefix) if low == 0 else set())
    if op is _c.IN:
        chars = {chr(v) for kind, v in av if kind is _c.LITERAL}
        assert len(chars) == len(av) and not any(re.fullmatch(r"\w", c) for c in chars), av
        return {(prefix, min(chars))}
    raise AssertionError(f"a construct this test does not read: {op}")


@pytest.mark.skipif(_parser is None, reason="needs CPython's re parser")
def test_every_cue_starts_with_a_listed_word_a_quotation_mark_or_a_signature_line() -> None:
    cues = recall._CUES + recall._WEAK_CUES + recall._LONE_CUES + recall._ADDRESS_CUES
    for cue in cues:
        for word, after in _heads(list(_parser.parse(cue))):
            if word:
                assert word.casefold() in CUE_FIRST_WORDS, (cue, word)
            else:
                assert after in ('"', "'", "-"), (cue, after)


def _same(text: str) -> None:
    slow = [(m.span(), m.groupdict()) for m in CUE.pattern.finditer(text, overlapped=True)]
    fast = [(m.span(), m.groupdict()) for m in CUE.finditer(text)]
    assert fast == slow, text
    first = CUE.pattern.search(text)
    found = CUE.search(text)
    assert (found.span() if found else None) == (first.span() if first else None), text


def _eval_texts() -> list[str]:
    texts = []
    for name in ("pii_eval.jsonl", "external_dev.jsonl", "external_heldout.jsonl"):
        with (EVAL / name).open(encoding="utf-8") as lines:
            texts += [json.loads(line)["text"] for line in lines if line.strip()]
    return texts


def test_the_same_matches_on_the_evaluation_texts() -> None:
    texts = _eval_texts()
    assert len(texts) > 1000
    for text in texts:
        _same(text)


@pytest.mark.parametrize(
    "text",
    [
        "Hi, I am John Smith. Dear Ms. Ana Lima, my name is Bo Chen.",
        '"full_name": "Ana Lima", \'cardholder\'="Bo Chen", name: Ann Lee',
        "Best regards,\nAna Lima\n--\nBo Chen",
        "--\nAna Lima",
        "x--\nAna Lima",
        "Good   morning Kyle! thanks, Aiyana. Hi, Kyle",
        "She named him Fleur; nicknamed her Bo; call me Ishmael; known as Ann Lee",
        "e-mail from Ana Lima; message from Bo Chen; name on the card: Ann Lee",
        "What's your last name? Usamov",
        # Letters that fold to a cue's ASCII letters (Kelvin sign, long s), a superscript digit before
        # a cue, a combining mark after one, a word run that only ends in a cue.
        "\u212a\u212a says Ana \u017fays Ana",
        "\u00b2hi Ana Lima",
        "hi\u0301 Ana Lima",
        "Sayhi Ana Lima, ahi Bo, _hi Ann",
        "ASK ANA LIMA AND BO CHEN. I'M ANN LEE",
    ],
)
def test_the_same_matches_on_the_cues_edges(text: str) -> None:
    _same(text)


_PIECES = [
    "hi",
    "Hi",
    "HELLO",
    "dear",
    "I am",
    "i'm",
    "my name is",
    "this is",
    "Mr.",
    "dr",
    "name",
    "Name:",
    "full_name",
    "fullname",
    "=",
    ":",
    '"',
    "'",
    "regards,",
    "thanks",
    "Thank you",
    "best",
    "--",
    "says",
    "said",
    "name?",
    "last name?",
    "good",
    "morning",
    "bye",
    "and",
    "ask",
    "invite",
    "e-mail",
    "from",
    "on the card",
    "call me",
    "named",
    "nicknamed",
    "him",
    "Ana",
    "Lima",
    "Bo",
    "Chen",
    "van",
    "de",
    "O'Neil",
    "Jean-Luc",
    "the",
    "Sir",
    "There",
    "\u212a",
    "\u017f",
    "\u00b2",
    "\u0301",
    "x",
    "_",
    "3",
]
_GLUE = [" ", " ", "  ", "\t", "\n", "\r\n", ", ", ". ", "! ", "? ", "", "-", "'", '"']


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_PIECES), st.sampled_from(_GLUE)), max_size=14))
def test_the_same_matches_on_generated_texts(parts: list[tuple[str, str]]) -> None:
    _same("".join(piece + glue for piece, glue in parts))

"""The stream filter alone, on the real analyzer: exactness for every split, and the hold-back bound."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from presidio_anonymizer import AnonymizerEngine

from keeptrust import StreamBlocked
from keeptrust_presidio.mentions import NameMemory
from keeptrust_presidio.redaction import Rewriter
from keeptrust_presidio.stream import PiiStreamFilter

TEXT = (
    "Thanks! I forwarded it to Kwame Mensah (kwame.mensah@example.org). Pay with 5500-0000-0000-0004, "
    "or call +49 30 901820 tomorrow morning. Nothing else is needed from your side for now."
)


def _filter(detector: Any, holdback: int = 64, block: bool = False) -> tuple[PiiStreamFilter, list[Counter[str]]]:
    seen: list[Counter[str]] = []
    rewriter = Rewriter(AnonymizerEngine(), "redact", "<{entity}>", "*")

    async def analyze(text: str) -> Any:
        return detector.analyze([text])[0]

    names = NameMemory(detector.names)  # as the policy builds it when PERSON is configured
    return PiiStreamFilter(analyze, rewriter.rewrite, holdback, block, seen.append, names), seen


def _whole(detector: Any) -> str:
    rewriter = Rewriter(AnonymizerEngine(), "redact", "<{entity}>", "*")
    return rewriter.rewrite(TEXT, detector.analyze([TEXT])[0])


@pytest.mark.parametrize("size", [1, 2, 5, 9, 23])
async def test_same_output_as_whole_text_for_any_chunking(detector: Any, size: int) -> None:
    f, seen = _filter(detector)
    out = "".join([await f.feed(TEXT[i : i + size]) for i in range(0, len(TEXT), size)]) + await f.flush()
    assert out == _whole(detector)
    assert "kwame" not in out.lower() and "5500" not in out and "901820" not in out
    assert seen == [Counter({"PERSON": 1, "EMAIL_ADDRESS": 1, "CREDIT_CARD": 1, "PHONE_NUMBER": 1})]


async def test_hold_back_is_bounded(detector: Any) -> None:
    f, _ = _filter(detector, holdback=64)
    first = None
    for i, ch in enumerate(TEXT + " " + "x" * 300):  # ends with a 300-character word
        if await f.feed(ch) and first is None:
            first = i
        assert len(f._pending) <= 2 * 64
    # The first text leaves once the hold-back is full (later if a word or entity straddles the cut).
    assert first is not None and first < 2 * 64


async def test_block_raises_with_types_only(detector: Any) -> None:
    f, _ = _filter(detector, block=True)
    with pytest.raises(StreamBlocked) as err:
        for i in range(0, len(TEXT), 4):
            await f.feed(TEXT[i : i + 4])
        await f.flush()
    assert "kwame" not in err.value.message.lower()
    assert set(err.value.details["entities"]) <= {"PERSON", "EMAIL_ADDRESS", "CREDIT_CARD", "PHONE_NUMBER"}


@pytest.mark.parametrize(
    "text",
    [
        # A name judged by the words after it (an English sentence, not a bare word).
        "Zhamaldinov began writing as a teenager and never stopped.",
        # A street judged by the town and postal code after it.
        "Send the parcel to Pascual Yunquera 12, Albuñuelas, 18659 before Friday.",
        # A number glued to the word before it.
        "Reach us at +44 20 7946 0958-Office\\,+44 20 7946 0959-Fax any day.",
        # A given name judged with the surname after it, not released alone before it.
        "The Ingeborg Halvorsen version of the song was recorded in Oslo in 1962.",
        # A name judged by the rest of its clause, more than three words on.
        "Obiageli Nwankwo from Northwind Traders Ltd is the keynote speaker this year.",
        # A name after a greeting, the cue released before the name arrives.
        "The build is green again. Good morning Kyle! The release notes are in the usual place.",
        # A name mentioned again long after the analysis window has moved past its first mention.
        "Tarquin Oyelaran-Brooks wrote the first draft of the migration plan. The database work took "
        "most of the quarter and needed two rollbacks before it held. In the end Tarquin signed it off.",
    ],
)
@pytest.mark.parametrize("size", [1, 4, 16])
async def test_judgements_that_need_the_next_words_match_the_whole_text(detector: Any, text: str, size: int) -> None:
    rewriter = Rewriter(AnonymizerEngine(), "redact", "<{entity}>", "*")
    f, _ = _filter(detector, holdback=128)
    out = "".join([await f.feed(text[i : i + size]) for i in range(0, len(text), size)]) + await f.flush()
    assert out == rewriter.rewrite(text, detector.analyze([text])[0])


def test_the_names_a_stream_remembers_are_bounded(detector: Any) -> None:
    memory = NameMemory(detector.names)
    # Made-up names no dictionary has: "Zyxaaaq", "Zyxbaaq", ...
    letters = "abcdefghijklmnopqrstuvwxyz"
    text = " ".join(f"Zyx{letters[n % 26]}{letters[n // 26 % 26]}aq" for n in range(NameMemory.LIMIT + 50))
    spans, start = [], 0
    for word in text.split():
        spans.append((start, start + len(word), 0.9))
        start += len(word) + 1
    memory.learn(text, spans)
    last = text.split()[-1]
    assert [(s, e) for s, e, _ in memory.mentions(f"and {last}", [])] == [(4, 4 + len(last))]
    assert memory.mentions("and Zyxaaaq", []) == []  # the earliest learnt went first

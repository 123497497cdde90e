"""``Rewriter.rewrite`` gives the text Presidio's ``AnonymizerEngine.anonymize`` gave, and numbers
placeholders in the same order: on every evaluation text, and on generated overlapping spans."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import InvalidParamError, OperatorConfig, RecognizerResult

from keeptrust_presidio.analysis import Found
from keeptrust_presidio.redaction import Rewriter, spans

EVAL = Path(__file__).resolve().parents[1] / "eval"
ENGINE = AnonymizerEngine()
# (action, placeholder): both actions, the default placeholder and a numbered one.
CONFIGS: list[tuple[Literal["redact", "mask"], str]] = [
    ("redact", "<{entity}>"),
    ("redact", "<{entity}_{n}>"),
    ("mask", "<{entity}>"),
    ("mask", "<{entity}_{n}>"),
]


def _pair(action: Literal["redact", "mask"], placeholder: str) -> tuple[Rewriter, Rewriter]:
    return Rewriter(ENGINE, action, placeholder, "*"), Rewriter(ENGINE, action, placeholder, "*")


def _reference(rewriter: Rewriter, text: str, found: list[Found]) -> str:
    """What ``Rewriter.rewrite`` did before: the engine, with one ``custom`` lambda per type."""
    if not found:
        return text
    results = [RecognizerResult(f.entity, f.start, f.end, f.score) for f in found]
    operators: dict[str, Any] = {}
    for f in found:
        if rewriter._action == "mask":
            operators[f.entity] = OperatorConfig("custom", {"lambda": lambda v: rewriter._mask_char * len(v)})
        else:
            operators[f.entity] = OperatorConfig("custom", {"lambda": lambda v, e=f.entity: rewriter._name(e, v)})
    return ENGINE.anonymize(text=text, analyzer_results=results, operators=operators).text


def _check(new: Rewriter, old: Rewriter, text: str, found: list[Found], direct: bool = False) -> None:
    if direct:
        assert spans(text, found) is not None, "spans apart were left to the engine"
    assert new.rewrite(text, found) == _reference(old, text, found), (text, found)
    # Same values named in the same order: the operators were called in the engine's order.
    assert list(new._names.items()) == list(old._names.items()), (text, found)


def _records() -> list[dict[str, Any]]:
    records = []
    for path in sorted(EVAL.glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            records += [json.loads(line) for line in fh if line.strip()]
    return records


def test_eval_texts_are_rewritten_as_the_engine_did(detector: Any) -> None:
    records = _records()
    assert len(records) > 1500
    texts = [r["text"] for r in records]
    detected = detector.analyze(texts, None, batch=1_000_000)
    # The labelled spans too, alone and with the detected ones: realistic overlaps of all kinds
    # (the detector resolves its own overlaps).
    labelled = [[Found(s["entity"], s["start"], s["end"], 0.85) for s in r["spans"]] for r in records]
    sets = {
        "detected": detected,
        "labelled": labelled,
        "both": [d + g for d, g in zip(detected, labelled, strict=True)],
    }
    compared = 0
    for name, found_per_text in sets.items():
        for action, placeholder in CONFIGS:
            # One pair per configuration and set: as one long request, numbering runs on across texts.
            new, old = _pair(action, placeholder)
            for text, found in zip(texts, found_per_text, strict=True):
                _check(new, old, text, found, direct=name == "detected")
                compared += bool(found)
    assert sum(map(bool, detected)) > 800 and compared > 10_000


ENTITIES = ["PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER"]
# Few letters, spaces and newlines: placeholders repeat, and gaps of spaces (and " \n", which
# Presidio's pattern also takes for spaces) between entities of one type are common.
TEXTS = st.text(alphabet="ab \n", max_size=24)


@st.composite
def texts_and_spans(draw: st.DrawFn) -> tuple[str, list[Found]]:
    text = draw(TEXTS)
    bound = st.integers(0, len(text))
    found = []
    for _ in range(draw(st.integers(1, 7))):
        start, end = sorted((draw(bound), draw(bound)))
        # Few types and scores: identical spans of one or several types, equal scores.
        found.append(Found(draw(st.sampled_from(ENTITIES)), start, end, draw(st.sampled_from([0.4, 0.85, 1.0]))))
    if found and draw(st.booleans()):  # an exact duplicate
        found.append(found[draw(st.integers(0, len(found) - 1))])
    return text, found


@st.composite
def texts_and_spans_apart(draw: st.DrawFn) -> tuple[str, list[Found]]:
    """Spans as the detector gives them: none empty, none overlapping, in any order."""
    text = draw(TEXTS.filter(bool))
    cuts = sorted(draw(st.sets(st.integers(0, len(text)), min_size=2, max_size=12)))
    found = [
        Found(draw(st.sampled_from(ENTITIES)), start, end, 0.85)
        for start, end in zip(cuts[::2], cuts[1::2], strict=False)
    ]
    return text, draw(st.permutations(found))


P, E = "PERSON", "EMAIL_ADDRESS"


@settings(max_examples=600, deadline=None)
@given(texts_and_spans())
@example(("", [Found(P, 0, 0, 0.5)]))  # empty text, empty span
@example(("ab", [Found(P, 0, 0, 0.5), Found(P, 2, 2, 0.5), Found(E, 0, 2, 0.5)]))  # empty spans at both edges
@example(("abcdef", [Found(P, 0, 3, 0.5), Found(E, 0, 3, 0.5)]))  # identical spans, equal scores
@example(("abcdef", [Found(P, 0, 3, 0.9), Found(E, 0, 3, 0.5), Found(P, 0, 3, 0.5)]))  # identical, scores differ
@example(("abcdef", [Found(P, 0, 6, 0.5), Found(E, 2, 4, 0.9)]))  # contained in another type
@example(("abcdef", [Found(P, 0, 4, 0.5), Found(E, 2, 6, 0.9)]))  # partial overlap, two types
@example(("abcdef", [Found(P, 0, 4, 0.5), Found(P, 2, 6, 0.9), Found(E, 3, 5, 0.4)]))  # one type merged
@example(("abcdef", [Found(P, 0, 3, 0.5), Found(E, 3, 6, 0.5)]))  # adjacent
@example(("ab cd", [Found(P, 0, 2, 0.5), Found(P, 3, 5, 0.5)]))  # one type, a space between
@example(("ab \ncd", [Found(P, 0, 2, 0.5), Found(P, 4, 6, 0.5)]))  # " \n" counts as spaces
@example(("a b c d", [Found(P, 6, 7, 0.5), Found(P, 0, 1, 0.5), Found(E, 2, 3, 0.5), Found(P, 4, 5, 0.5)]))
@example(("ab  cd ef", [Found(P, 0, 2, 0.5), Found(E, 1, 5, 0.5), Found(P, 4, 6, 0.5), Found(P, 7, 9, 0.5)]))
def test_generated_spans_are_rewritten_as_the_engine_did(case: tuple[str, list[Found]]) -> None:
    text, found = case
    for action, placeholder in CONFIGS:
        _check(*_pair(action, placeholder), text, found)


@settings(max_examples=400, deadline=None)
@given(texts_and_spans_apart())
def test_spans_apart_are_rewritten_directly_as_the_engine_did(case: tuple[str, list[Found]]) -> None:
    text, found = case
    for action, placeholder in CONFIGS:
        _check(*_pair(action, placeholder), text, found, direct=True)


@pytest.mark.parametrize("found", [[Found(P, 2, 9, 0.5)], [Found(P, 0, 1, 0.5), Found(E, 5, 3, 0.5)]])
def test_spans_the_engine_rejects_still_raise_its_error(found: list[Found]) -> None:
    assert spans("abcdef", found) is None
    with pytest.raises(InvalidParamError):
        Rewriter(ENGINE, "redact", "<{entity}>", "*").rewrite("abcdef", found)

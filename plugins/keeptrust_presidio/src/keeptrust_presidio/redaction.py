"""Rewriting a text around the entities found in it, the way Presidio's anonymizer would.

One ``Rewriter`` serves one request (request, answer and stream alike), so the same value always
gets the same placeholder: with ``placeholder: "<{entity}_{n}>"`` the first e-mail address of a
request is ``<EMAIL_ADDRESS_1>`` wherever it appears, in the prompt and in the answer.

Rewriting runs on the event loop. ``AnonymizerEngine.anonymize`` spent most of its time there
building, validating and copying result objects, formatting debug messages whether logged or not,
and making an operator per entity: some 25 us for three entities, about 3 us here. The detector's
spans never overlap (``resolve_overlaps``), and for such spans the engine's steps reduce to two,
which ``spans`` takes on plain lists: spans of one type with only spaces between them merged, then
replacements from the end of the text (presidio-anonymizer 2.2.366,
``anonymizer_engine.AnonymizerEngine.anonymize`` with its defaults), so the text and the order in
which placeholders are numbered stay the same. Overlapping or empty spans, and spans the engine
rejects, still go to the engine. tests/test_rewriter_equivalence.py compares the two on the
installed Presidio, so a release that rewrites otherwise fails it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from operator import itemgetter
from typing import Any, Literal

from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

from keeptrust_presidio.analysis import Found

# One span: [start, end, entity], its start moved in place where Presidio moves its copy's.
_Result = list[Any]

_START, _END, _ENTITY = range(3)
_by_span = itemgetter(_START, _END)
# anonymizer_engine.AnonymizerEngine._merge_entities_with_spaces_between's pattern, kept as is:
# its `$` also matches before a final "\n", so " \n" between two names counts as spaces.
_SPACES = re.compile(r"^( )+$")


def _merge_entities_with_spaces_between(text: str, results: list[_Result]) -> list[_Result]:
    merged: list[_Result] = []
    previous: _Result | None = None
    for result in results:
        if (
            previous is not None
            and previous[_ENTITY] == result[_ENTITY]
            and _SPACES.search(text[previous[_END] : result[_START]])
        ):
            # Presidio removes the first result equal (RecognizerResult.__eq__) to the previous one:
            # that is the previous one, the last of ``merged``, since no two spans apart share an
            # end and this step moves starts only.
            merged.pop()
            result[_START] = previous[_START]
        merged.append(result)
        previous = result
    return merged


def _apart(results: list[_Result]) -> bool:
    # Spans sorted, none empty, none overlapping (what the detector gives, resolve_overlaps): the
    # engine's conflict resolution (merging overlaps of one type, dropping contained spans) would
    # keep every one, in this order.
    previous_end = 0
    for result in results:
        if result[_START] < previous_end or result[_START] >= result[_END]:
            return False
        previous_end = result[_END]
    return True


def spans(text: str, found: Sequence[Found]) -> list[tuple[str, int, int]] | None:
    """``(entity, start, end)`` of what ``AnonymizerEngine.anonymize`` replaces in ``text``, in the
    order it calls the operators (from the end of the text); ``None`` where the engine must decide:
    spans it would reject, and overlapping or empty spans, whose conflicts it resolves."""
    size = len(text)
    for f in found:
        # PIIEntity's and TextReplaceBuilder's checks; the engine raises its own error for these.
        start, end = f.start, f.end
        if type(start) is not int or type(end) is not int or not 0 <= start <= end <= size:
            return None
        if type(f.entity) is not str or not f.entity or f.score is None:
            return None
    results = sorted(([f.start, f.end, f.entity] for f in found), key=_by_span)
    if not _apart(results):
        return None
    results = _merge_entities_with_spaces_between(text, results)
    # EngineBase._operate: sorted(reverse=True) on RecognizerResult.__gt__, i.e. by (start, end),
    # equal spans keeping their order.
    results.sort(key=_by_span, reverse=True)
    return [(r[_ENTITY], r[_START], r[_END]) for r in results]


class Rewriter:
    """Replaces (``redact``) or masks (``mask``) entities; everything else stays byte-identical."""

    def __init__(
        self, anonymizer: AnonymizerEngine, action: Literal["redact", "mask"], placeholder: str, mask_char: str
    ) -> None:
        # For the spans ``spans`` leaves to Presidio: overlapping, empty or out of the text.
        self._anonymizer = anonymizer
        self._action = action
        self._placeholder = placeholder
        self._mask_char = mask_char
        # value -> placeholder, for this request only; never logged (repr hides it).
        self._names: dict[tuple[str, str], str] = {}
        self._numbers: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"<Rewriter {self._action}: {len(self._names)} distinct values>"

    def _name(self, entity: str, value: str) -> str:
        key = (entity, value)
        name = self._names.get(key)
        if name is None:
            n = self._numbers[entity] = self._numbers.get(entity, 0) + 1
            name = self._placeholder.format(entity=entity, n=n)
            self._names[key] = name
        return name

    def _operator(self, entity: str) -> OperatorConfig:
        if self._action == "mask":
            return OperatorConfig("custom", {"lambda": lambda value: self._mask_char * len(value)})
        return OperatorConfig("custom", {"lambda": lambda value: self._name(entity, value)})

    def _anonymize(self, text: str, found: Sequence[Found]) -> str:
        results = [RecognizerResult(f.entity, f.start, f.end, f.score) for f in found]
        operators: dict[str, Any] = {f.entity: self._operator(f.entity) for f in found}
        return self._anonymizer.anonymize(text=text, analyzer_results=results, operators=operators).text

    def rewrite(self, text: str, found: Sequence[Found]) -> str:
        if not found:
            return text
        planned = spans(text, found)
        if planned is None:
            return self._anonymize(text, found)
        # From the end, as text_replace_builder.TextReplaceBuilder replaces; the spans never overlap.
        pieces: list[str] = []
        last = len(text)
        mask = self._action == "mask"
        for entity, start, end in planned:
            value = text[start:end]
            pieces.append(text[end:last])
            pieces.append(self._mask_char * len(value) if mask else self._name(entity, value))
            last = start
        pieces.append(text[:last])
        pieces.reverse()
        return "".join(pieces)

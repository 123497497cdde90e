"""Rewriting a text around the entities found in it, with Presidio's anonymizer.

One ``Rewriter`` serves one request (request, answer and stream alike), so the same value always
gets the same placeholder: with ``placeholder: "<{entity}_{n}>"`` the first e-mail address of a
request is ``<EMAIL_ADDRESS_1>`` wherever it appears, in the prompt and in the answer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal

from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

from keeptrust_presidio.analysis import Found


class Rewriter:
    """Replaces (``redact``) or masks (``mask``) entities; everything else stays byte-identical."""

    def __init__(
        self, anonymizer: AnonymizerEngine, action: Literal["redact", "mask"], placeholder: str, mask_char: str
    ) -> None:
        self._anonymizer = anonymizer
        self._action = action
        self._placeholder = placeholder
        self._mask_char = mask_char
        # value -> placeholder, for this request only; never logged (repr hides it).
        self._names: dict[tuple[str, str], str] = {}
        self._numbers: Counter[str] = Counter()

    def __repr__(self) -> str:
        return f"<Rewriter {self._action}: {len(self._names)} distinct values>"

    def _name(self, entity: str, value: str) -> str:
        key = (entity, value)
        name = self._names.get(key)
        if name is None:
            self._numbers[entity] += 1
            name = self._placeholder.format(entity=entity, n=self._numbers[entity])
            self._names[key] = name
        return name

    def _operator(self, entity: str) -> OperatorConfig:
        if self._action == "mask":
            return OperatorConfig("custom", {"lambda": lambda value: self._mask_char * len(value)})
        return OperatorConfig("custom", {"lambda": lambda value: self._name(entity, value)})

    def rewrite(self, text: str, found: Sequence[Found]) -> str:
        if not found:
            return text
        results = [RecognizerResult(f.entity, f.start, f.end, f.score) for f in found]
        operators: dict[str, Any] = {f.entity: self._operator(f.entity) for f in found}
        return self._anonymizer.anonymize(text=text, analyzer_results=results, operators=operators).text

"""Presidio's context-word step, without its copy of the results.

``LemmaContextAwareEnhancer.enhance_using_context`` starts with ``copy.deepcopy`` of the results it
is given (each holds an explanation object and a metadata dict), so that it can raise their scores
without touching the caller's objects. ``AnalyzerEngine.analyze`` builds those results for that one
call and keeps only what the enhancer returns, so the copy protects nothing there; it cost 0.09 ms of
a 2.9 ms analysis of a short chat message. This enhancer hands Presidio's own the same results in a
list whose deep copy is a shallow one: the scores and explanations it sets are exactly those it set on
the copies.
"""

from __future__ import annotations

from typing import Any

from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer


class _MadeForThisCall(list):  # type: ignore[type-arg]
    """Results no one else holds: ``copy.deepcopy`` of this list is a new list of the same results."""

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Any]:
        return list(self)


class InPlaceContextEnhancer(LemmaContextAwareEnhancer):
    """``LemmaContextAwareEnhancer`` (same settings, same scores) that updates the results it is given."""

    def enhance_using_context(
        self,
        text: str,
        raw_results: list[Any],
        nlp_artifacts: Any,
        recognizers: list[Any],
        context: list[str] | None = None,
    ) -> list[Any]:
        return super().enhance_using_context(text, _MadeForThisCall(raw_results), nlp_artifacts, recognizers, context)

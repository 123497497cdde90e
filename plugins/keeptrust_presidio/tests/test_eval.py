"""Recall and precision on the committed evaluation set, so quality cannot silently regress.

The thresholds sit a little under the figures recorded in the README (eval/evaluate.py prints them).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

EVAL = Path(__file__).resolve().parents[1] / "eval" / "evaluate.py"

RECALL = {"PERSON": 0.93, "EMAIL_ADDRESS": 0.99, "PHONE_NUMBER": 0.97, "CREDIT_CARD": 0.94}
PRECISION = {"PERSON": 0.94, "EMAIL_ADDRESS": 0.99, "PHONE_NUMBER": 0.95, "CREDIT_CARD": 0.98}


def _evaluate_module() -> Any:
    spec = importlib.util.spec_from_file_location("keeptrust_presidio_eval", EVAL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_recall_and_precision_on_the_whole_set(detector: Any) -> None:
    evaluate = _evaluate_module()
    records = evaluate.load()
    assert len(records) >= 500
    found = detector.analyze([r["text"] for r in records])
    predictions = [[(f.entity, f.start, f.end) for f in fs] for fs in found]
    table = evaluate.score(records, predictions)
    for entity, row in table.items():
        assert row["recall"] >= RECALL[entity], (entity, row)
        assert row["precision"] >= PRECISION[entity], (entity, row)


def test_hard_negatives_stay_clean(detector: Any) -> None:
    evaluate = _evaluate_module()
    negatives = [r for r in evaluate.load() if not r["spans"]]
    assert len(negatives) >= 100
    flagged = [r["id"] for r, fs in zip(negatives, detector.analyze([r["text"] for r in negatives]), strict=True) if fs]
    assert len(flagged) <= len(negatives) * 0.12, flagged


def test_pinned_model_matches_the_official_release_metadata(capsys: Any) -> None:
    spec = importlib.util.spec_from_file_location("keeptrust_presidio_check_model", EVAL.with_name("check_model.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main() == 0, capsys.readouterr().out

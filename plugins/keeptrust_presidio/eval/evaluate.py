"""Per-entity recall and precision of the pii-detector on the labelled set ``pii_eval.jsonl``.

    python eval/evaluate.py                 # this package's analyzer (the policy's defaults)
    python eval/evaluate.py --baseline      # plain Presidio: AnalyzerEngine() defaults, full spaCy pipeline
    python eval/evaluate.py --limit 200     # the first 200 texts only
    python eval/evaluate.py --profile fast  # the policy's profile "fast" (no NER)
    python eval/evaluate.py --data eval/external_heldout.jsonl   # the third-party set (eval/external.py)

A labelled entity counts as *caught* when predicted spans of the same type cover every non-space
character of it (a card redacted but for its last four digits is a miss: the digits leak). A
predicted span is *correct* when it overlaps a labelled entity of its type. ``leaked`` counts
entities not covered by any predicted span whatever its type.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

DATA = Path(__file__).with_name("pii_eval.jsonl")
ENTITIES = ["PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD"]
# The third-party sets also label these (the types an outside measurement configures).
EXTRA_ENTITIES = ["US_SSN", "IBAN_CODE", "IP_ADDRESS"]

Spans = list[tuple[str, int, int]]


def load(path: Path = DATA, limit: int | None = None) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh if line.strip()]
    return records[:limit] if limit else records


def policy_analyzer(**overrides: Any) -> Callable[[list[str]], list[Spans]]:
    from keeptrust_presidio.analysis import Detector
    from keeptrust_presidio.config import PiiDetectorConfig

    detector = Detector(PiiDetectorConfig(**overrides))
    detector.warm_up()
    return lambda texts: [[(f.entity, f.start, f.end) for f in found] for found in detector.analyze(texts)]


def baseline_analyzer(score_threshold: float = 0.4) -> Callable[[list[str]], list[Spans]]:
    """Presidio as its README sets it up, with the model this package installs (and the e-mail
    validator kept offline, since the stock one tries to download the public suffix list)."""
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_analyzer.predefined_recognizers import EmailRecognizer

    from keeptrust_presidio.config import DEFAULT_MODEL
    from keeptrust_presidio.recognizers import OfflineEmailRecognizer

    provider = NlpEngineProvider(
        nlp_configuration={"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": DEFAULT_MODEL}]}
    )
    engine = AnalyzerEngine(nlp_engine=provider.create_engine())
    engine.registry.recognizers = [r for r in engine.registry.recognizers if not isinstance(r, EmailRecognizer)]
    engine.registry.add_recognizer(OfflineEmailRecognizer())

    def run(texts: list[str]) -> list[Spans]:
        return [
            [
                (r.entity_type, r.start, r.end)
                for r in engine.analyze(t, language="en", entities=ENTITIES, score_threshold=score_threshold)
            ]
            for t in texts
        ]

    return run


def _covered(text: str, start: int, end: int, spans: Iterable[tuple[int, int]]) -> bool:
    need = {i for i in range(start, end) if not text[i].isspace()}
    for s, e in spans:
        need -= set(range(s, e))
    return not need


def entities_of(records: list[dict[str, Any]]) -> list[str]:
    labelled = {s["entity"] for r in records for s in r["spans"]}
    return ENTITIES + [e for e in EXTRA_ENTITIES if e in labelled]


def altered_rate(records: list[dict[str, Any]], predictions: list[Spans]) -> tuple[int, int]:
    """(PII-free texts with any span predicted, PII-free texts): the share a user would see altered."""
    clean = [(r, p) for r, p in zip(records, predictions, strict=True) if not r["spans"]]
    return sum(1 for _, p in clean if p), len(clean)


def overall_recall(table: dict[str, dict[str, float]]) -> float:
    n = sum(row["labelled"] for row in table.values())
    return sum(row["recall"] * row["labelled"] for row in table.values()) / n if n else 1.0


def score(records: list[dict[str, Any]], predictions: list[Spans]) -> dict[str, dict[str, float]]:
    gold_n, caught, leaked, pred_n, correct = Counter(), Counter(), Counter(), Counter(), Counter()
    for record, predicted in zip(records, predictions, strict=True):
        text = record["text"]
        for span in record["spans"]:
            entity = span["entity"]
            gold_n[entity] += 1
            same = [(s, e) for t, s, e in predicted if t == entity]
            if _covered(text, span["start"], span["end"], same):
                caught[entity] += 1
            if not _covered(text, span["start"], span["end"], [(s, e) for _, s, e in predicted]):
                leaked[entity] += 1
        for entity, s, e in predicted:
            pred_n[entity] += 1
            if any(g["entity"] == entity and s < g["end"] and g["start"] < e for g in record["spans"]):
                correct[entity] += 1
    table = {}
    for entity in entities_of(records):
        table[entity] = {
            "labelled": gold_n[entity],
            "recall": caught[entity] / gold_n[entity] if gold_n[entity] else 1.0,
            "leaked": leaked[entity],
            "predicted": pred_n[entity],
            "precision": correct[entity] / pred_n[entity] if pred_n[entity] else 1.0,
        }
    return table


def misses(records: list[dict[str, Any]], predictions: list[Spans], entity: str) -> list[str]:
    out = []
    for record, predicted in zip(records, predictions, strict=True):
        for span in record["spans"]:
            same = [(s, e) for t, s, e in predicted if t == span["entity"]]
            if span["entity"] == entity and not _covered(record["text"], span["start"], span["end"], same):
                out.append(f"{record['id']}: {record['text'][span['start'] : span['end']]!r} in {record['text']!r}")
    return out


def report(title: str, records: list[dict[str, Any]], predictions: list[Spans]) -> None:
    table = score(records, predictions)
    altered, clean = altered_rate(records, predictions)
    labelled = sum(len(r["spans"]) for r in records)
    print(
        f"\n{title}: {len(records)} texts, {labelled} labelled entities, recall {overall_recall(table):.3f}"
        + (f", PII-free texts altered {altered}/{clean} = {altered / clean:.1%}" if clean else "")
    )
    print("| entity | labelled | recall | leaked | predicted | precision |")
    print("|---|---:|---:|---:|---:|---:|")
    for entity, row in table.items():
        if row["labelled"] or row["predicted"]:
            print(
                f"| {entity} | {row['labelled']} | {row['recall']:.3f} | {row['leaked']} | {row['predicted']} "
                f"| {row['precision']:.3f} |"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", action="store_true", help="plain Presidio defaults instead of this package")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--data", type=Path, default=DATA, help="another labelled set (e.g. a held-out seed)")
    parser.add_argument("--model", default=None, help="nlp_model for the policy (default: the policy's)")
    parser.add_argument("--profile", default=None, help="profile: accurate or fast (default: the policy's)")
    parser.add_argument("--show-misses", metavar="ENTITY", help="print the labelled entities of this type missed")
    parser.add_argument("--show-false", metavar="ENTITY", help="print the wrong predictions of this type")
    args = parser.parse_args(argv)
    records = load(args.data, limit=args.limit)
    overrides: dict[str, Any] = {"entities": entities_of(records)}
    if args.model:
        overrides["nlp_model"] = args.model
    if args.profile:
        overrides["profile"] = args.profile
    analyze = baseline_analyzer() if args.baseline else policy_analyzer(**overrides)
    texts = [r["text"] for r in records]
    started = time.perf_counter()
    predictions = [analyze([t])[0] for t in texts]
    elapsed = time.perf_counter() - started
    name = (
        "baseline Presidio"
        if args.baseline
        else f"keeptrust-presidio ({args.model or 'default model'}, profile {args.profile or 'default'})"
    )
    print(f"{name} on {args.data.name}: {elapsed / len(records) * 1000:.2f} ms per text")
    report("all", records, predictions)
    sources = sorted({r.get("source", "") for r in records} - {""})
    if len(sources) > 1:
        for source in sources:
            pairs = [(r, p) for r, p in zip(records, predictions, strict=True) if r.get("source") == source]
            report(f"source {source}", [r for r, _ in pairs], [p for _, p in pairs])
    if args.show_misses:
        print("\n".join(misses(records, predictions, args.show_misses)))
    if args.show_false:
        for record, predicted in zip(records, predictions, strict=True):
            for entity, s, e in predicted:
                if (args.show_false == "ANY" or entity == args.show_false) and not any(
                    g["entity"] == entity and s < g["end"] and g["start"] < e for g in record["spans"]
                ):
                    print(f"{record['id']}: {entity} {record['text'][s:e]!r} in {record['text']!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

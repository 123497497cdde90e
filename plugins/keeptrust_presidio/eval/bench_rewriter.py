"""Cost of ``Rewriter.rewrite`` per text, against Presidio's ``AnonymizerEngine`` it replaces.

    python eval/bench_rewriter.py [--rounds 15]

The texts are those of ``eval/*.jsonl`` in which the policy's default detector finds entities, with
those entities, and the gateway benchmark's message (three entities). ``Rewriter._anonymize`` is
the engine path (``AnonymizerEngine.anonymize`` with one ``custom`` lambda per entity type), which
``rewrite`` used for every text before and now keeps for overlapping, empty or invalid spans. Both
run in the same process, round after round in turn; the figures are the fastest and the median
round, in µs per text (wall time of the event loop thread, where rewriting happens).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from presidio_anonymizer import AnonymizerEngine

from keeptrust_presidio.analysis import Detector, Found
from keeptrust_presidio.config import PiiDetectorConfig
from keeptrust_presidio.redaction import Rewriter

HERE = Path(__file__).parent
MESSAGE = (
    "Hi, I am John Smith (john.smith@example.com, +1 415 555 0100). "
    "Explain the attention mechanism in transformers in two sentences. Request 123."
)


def _time(rewriter: Rewriter, method: str, work: list[tuple[str, list[Found]]]) -> float:
    call = getattr(rewriter, method)
    started = time.perf_counter()
    for text, found in work:
        call(text, found)
    return (time.perf_counter() - started) / len(work) * 1e6


def main(rounds: int) -> None:
    detector = Detector(PiiDetectorConfig())
    detector.warm_up()
    texts = [
        json.loads(line)["text"]
        for path in sorted(HERE.glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    *found, in_message = detector.analyze([*texts, MESSAGE])
    work = [(t, f) for t, f in zip(texts, found, strict=True) if f]
    message = [(MESSAGE, in_message)] * 1000
    print(f"{len(work)} texts with entities ({sum(len(f) for _, f in work)} entities) of {len(texts)}")
    engine = AnonymizerEngine()
    print(
        "| action, placeholder | texts | engine µs/text: fastest, median | rewrite µs/text: fastest, median "
        "| engine / rewrite (fastest) |"
    )
    print("|---|---|---:|---:|---:|")
    for action, placeholder in (("redact", "<{entity}>"), ("redact", "<{entity}_{n}>"), ("mask", "<{entity}>")):
        for label, texts_found in (("eval texts", work), ("benchmark message", message)):
            times: dict[str, list[float]] = {"_anonymize": [], "rewrite": []}
            for _ in range(rounds):
                for method, samples in times.items():
                    # A new rewriter each round, as each request gets one.
                    samples.append(_time(Rewriter(engine, action, placeholder, "*"), method, texts_found))
            old, new = times["_anonymize"], times["rewrite"]
            print(
                f"| {action}, {placeholder} | {label} | {min(old):.1f}, {statistics.median(old):.1f} "
                f"| {min(new):.1f}, {statistics.median(new):.1f} | {min(old) / min(new):.1f} |"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    main(parser.parse_args().rounds)

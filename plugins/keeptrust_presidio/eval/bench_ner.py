"""NER's cost per call with its matrix products through NumPy's BLAS (what ``nlp.py`` loads) and
through blis (spaCy's default), paired in one process, and whether the two give the same entities.

    python eval/bench_ner.py [--data eval/external_dev.jsonl] [--rounds 5] [--model NAME]

Both pipelines are loaded by ``nlp.load_pipeline``; the second has spaCy's default ops (blis) put
back on every layer. Each round reads every text of the set once alone and once in batches of 16
with each pipeline in turn, so the two see the same moments of a shared machine; the figures are
the medians over rounds of the CPU time per text (``time.process_time``: every thread of the
process, so an idle BLAS thread that spins is counted). BLAS is held to one thread for both, as the
policy holds it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from keeptrust_presidio.config import DEFAULT_MODEL
from keeptrust_presidio.nlp import load_pipeline, set_cpu_ops

HERE = Path(__file__).parent


def _entities(nlp: Any, texts: list[str]) -> list[list[tuple[int, int, str]]]:
    return [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in nlp.pipe(texts, batch_size=16)]


def _cpu_per_text(nlp: Any, texts: list[str], batch: int) -> float:
    start = time.process_time()
    if batch == 1:
        for text in texts:
            nlp(text)
    else:
        for i in range(0, len(texts), batch):
            list(nlp.pipe(texts[i : i + batch], batch_size=batch))
    return (time.process_time() - start) / len(texts) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=HERE / "external_dev.jsonl")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    args = parser.parse_args()
    from thinc.api import NumpyOps

    texts = [json.loads(line)["text"] for line in args.data.read_text(encoding="utf-8").splitlines() if line]
    numpy_ops = load_pipeline(args.model, with_ner=True)  # also holds BLAS to one thread
    blis_ops = load_pipeline(args.model, with_ner=True)
    set_cpu_ops(blis_ops, NumpyOps())  # use_blis=True, spaCy's default
    same = _entities(numpy_ops, texts) == _entities(blis_ops, texts)
    figures: dict[tuple[str, int], list[float]] = {}
    for _ in range(args.rounds):
        for batch in (1, 16):
            for name, nlp in (("numpy", numpy_ops), ("blis", blis_ops)):
                figures.setdefault((name, batch), []).append(_cpu_per_text(nlp, texts, batch))
    print(f"{len(texts)} texts of {args.data.name}, {args.rounds} rounds; the same entities from both: {same}")
    print("| call | blis, CPU ms per text | NumPy's BLAS | NumPy ÷ blis |\n|---|---:|---:|---:|")
    for batch, label in ((1, "one text a call"), (16, "batches of 16")):
        blis, numpy = statistics.median(figures["blis", batch]), statistics.median(figures["numpy", batch])
        print(f"| {label} | {blis:.3f} | {numpy:.3f} | {numpy / blis:.2f} |")


if __name__ == "__main__":
    main()

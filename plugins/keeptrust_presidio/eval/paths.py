"""Do the request, answer and stream paths redact the same? Whole-text redaction against the stream
filter fed in chunks of several sizes, on a labelled set.

    python eval/paths.py [--data eval/external_heldout.jsonl] [--sizes 1 3 7 16] [--limit N]

Prints, per chunk size, the texts whose streamed output differs from the whole-text output (the
request and answer paths analyse whole texts with the same analyzer, so they agree by construction),
the recall and altered-text figures of each path (``evaluate.py``'s scoring of the spans each
released), and how many characters the stream filter holds back after each chunk (the latency it
adds, in characters of the answer).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import trio

HERE = Path(__file__).parent


class _Spans:
    """A rewrite that changes nothing and records the spans the stream filter released, in the
    coordinates of the whole text (the filter rewrites its released pieces in order)."""

    def __init__(self) -> None:
        self.offset = 0
        self.spans: list[tuple[str, int, int]] = []

    def __call__(self, text: str, found: Any) -> str:
        self.spans += [(f.entity, self.offset + f.start, self.offset + f.end) for f in found]
        self.offset += len(text)
        return text


def _figures(evaluate: Any, records: list[dict[str, Any]], predictions: list[Any]) -> str:
    table = evaluate.score(records, predictions)
    altered, clean = evaluate.altered_rate(records, predictions)
    return (
        f"recall {evaluate.overall_recall(table):.3f}, PERSON {table['PERSON']['recall']:.3f}, "
        f"PHONE_NUMBER {table['PHONE_NUMBER']['recall']:.3f}, altered {altered}/{clean}"
    )


async def _stream(
    detector: Any, rewrite: Any, text: str, size: int, holdback: int, held: list[int] | None = None
) -> str:
    from keeptrust_presidio.mentions import NameMemory
    from keeptrust_presidio.stream import PiiStreamFilter

    async def analyze(window: str) -> Any:
        return detector.analyze([window])[0]

    memory = NameMemory(detector.names) if "PERSON" in detector.entities else None
    f = PiiStreamFilter(analyze, rewrite, holdback, False, lambda counts: None, memory)
    out = []
    for i in range(0, len(text), size):
        out.append(await f.feed(text[i : i + size]))
        if held is not None:
            held.append(f.held)
    return "".join(out) + await f.flush()


async def main(args: argparse.Namespace) -> int:
    from presidio_anonymizer import AnonymizerEngine

    from keeptrust_presidio.analysis import Detector
    from keeptrust_presidio.config import PiiDetectorConfig
    from keeptrust_presidio.redaction import Rewriter

    sys.path.insert(0, str(HERE))
    import evaluate

    records = evaluate.load(args.data, limit=args.limit)
    detector = Detector(PiiDetectorConfig(entities=evaluate.entities_of(records)))
    detector.warm_up()
    anonymizer = AnonymizerEngine()
    whole = []
    for r in records:
        whole.append(
            Rewriter(anonymizer, "redact", "<{entity}>", "*").rewrite(r["text"], detector.analyze([r["text"]])[0])
        )
    whole_spans = [[(f.entity, f.start, f.end) for f in detector.analyze([r["text"]])[0]] for r in records]
    print(f"whole texts (request and answer paths): {_figures(evaluate, records, whole_spans)}")
    for size in args.sizes:
        differ = []
        streamed = []
        held: list[int] = []
        for r, expected in zip(records, whole, strict=True):
            got = await _stream(
                detector, Rewriter(anonymizer, "redact", "<{entity}>", "*").rewrite, r["text"], size, 128
            )
            if got != expected:
                differ.append((r["id"], expected, got))
            recorder = _Spans()
            await _stream(detector, recorder, r["text"], size, 128, held)
            streamed.append(recorder.spans)
        print(f"chunks of {size}: {len(differ)}/{len(records)} texts differ from the whole-text redaction")
        print(f"  stream path: {_figures(evaluate, records, streamed)}")
        held.sort()
        print(
            f"  characters held back after each chunk: mean {sum(held) / len(held):.1f}, "
            f"p50 {held[len(held) // 2]}, p95 {held[int(len(held) * 0.95)]}"
        )
        for rid, expected, got in differ[: args.show]:
            print(f"  {rid}\n    whole:  {expected!r}\n    stream: {got!r}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=HERE / "external_heldout.jsonl")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 3, 7, 16])
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--show", type=int, default=5)
    sys.exit(trio.run(main, parser.parse_args()))

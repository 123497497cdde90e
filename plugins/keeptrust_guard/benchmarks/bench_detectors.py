"""Per-message cost of the default detectors, and how it scales with text length.

    python benchmarks/bench_detectors.py            # the table below, on this machine
    python benchmarks/bench_detectors.py --quick    # fewer rounds

Figures are CPU time on the calling thread for one policy's check of one text, as the policy runs it
(normalise, decode, signals), median of several rounds. The gateway-level figures (throughput with
the three policies on and off) come from ``bench_gateway.py`` and the shared wrk benchmark.
"""

from __future__ import annotations

import argparse
import base64
import logging
import statistics
import time

from keeptrust_guard.detection import DetectorSetup, Segment
from keeptrust_guard.heuristic import HeuristicDetector, HeuristicOptions

BENCH_USER = ("Hi, I am John Smith (john.smith@example.com, +1 415 555 0100). Explain the attention mechanism in "
              "transformers in two sentences.")
LONG_CHAT = ("I'm planning a two-week trip to Japan in April with my partner. We like food, temples, hiking and "
             "design museums, and we'd rather avoid the busiest tourist spots. Could you suggest an itinerary that "
             "balances Tokyo and Kyoto with a few smaller towns, and tell us which rail pass makes sense? ") * 3
POLICIES = {
    "prompt-injection": ("prompt_injection", ("prompt_injection",)),
    "safety-filter": ("content", ("toxicity",)),
    "content-filter": ("content", ("hate_speech", "harassment", "self_harm", "sexual", "violence")),
}


def _detector(task: str, categories: tuple[str, ...]) -> HeuristicDetector:
    setup = DetectorSetup("bench", task, categories, logging.getLogger("bench"), "bench")  # type: ignore[arg-type]
    return HeuristicDetector(HeuristicOptions(), setup)


def _per_call(det: HeuristicDetector, text: str, rounds: int, repeats: int = 5) -> float:
    segments = [Segment(text, "user")]
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(rounds):
            det.scan(segments)
        samples.append((time.perf_counter() - start) / rounds)
    return statistics.median(samples)


def adversarial(size: int) -> dict[str, str]:
    return {
        "prose": ("the quick brown fox jumps over the lazy dog. " * (size // 45 + 1))[:size],
        "anchor words": ("ignore previous " * (size // 16 + 1))[:size],
        "spaced letters": ("a " * (size // 2 + 1))[:size],
        "base64": base64.b64encode(b"x" * size).decode()[:size],
        "one long word": "a" * size,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds = 300 if args.quick else 2000
    detectors = {name: _detector(*spec) for name, spec in POLICIES.items()}
    print("| policy | benchmark message (127 chars) | chat message (~850 chars) |\n|---|---|---|")
    total = [0.0, 0.0]
    for name, det in detectors.items():
        a, b = _per_call(det, BENCH_USER, rounds), _per_call(det, LONG_CHAT, rounds // 4)
        total[0] += a
        total[1] += b
        print(f"| {name} | {a * 1e6:.0f} µs | {b * 1e6:.0f} µs |")
    print(f"| all three | {total[0] * 1e6:.0f} µs | {total[1] * 1e6:.0f} µs |")
    print("\n| adversarial input | 64 KiB | 256 KiB | 1 MiB | µs per KiB at 1 MiB |\n|---|---|---|---|---|")
    det = detectors["prompt-injection"]
    content = detectors["content-filter"]
    for kind in adversarial(1):
        cells = []
        for size in (64 << 10, 256 << 10, 1 << 20):
            text = adversarial(size)[kind]
            start = time.perf_counter()
            det.scan([Segment(text, "user")])
            content.scan([Segment(text, "user")])
            cells.append(time.perf_counter() - start)
        print(f"| {kind} (injection + content) | {cells[0] * 1e3:.0f} ms | {cells[1] * 1e3:.0f} ms | "
              f"{cells[2] * 1e3:.0f} ms | {cells[2] * 1e6 / 1024:.0f} |")


if __name__ == "__main__":
    main()

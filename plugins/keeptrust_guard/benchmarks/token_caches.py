"""CPU per message and process memory at each size of the per-token caches (``token_cache.py``).

    python benchmarks/token_caches.py                   # every size below, one process each
    python benchmarks/token_caches.py --sizes 16384 32768 --rounds 3   # sizes alternated, medians

Each size runs in a fresh process: the three guard policies (prompt-injection, safety-filter,
content-filter; ensemble detector, ``fast`` profile) read the held-out third-party texts of
``eval/data/thirdparty`` in a fixed shuffled order, every text numbered so no two are alike. The
first 60 % warm the caches; the figures are the process CPU time per message (the three policies'
checks) over the other 40 %. Then a flood of 300,000 tokens that never recur (random letters, as
identifiers and typos are) fills every cache; the process's RSS after it is what the caches can hold
at that size. The texts are read once more after the flood: with least-recently-used caches the
recurring words come back, so that figure should match the first.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import string
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIZES = (0, 8192, 16384, 32768, 100_000)
FLOOD_TOKENS = 300_000


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def texts() -> list[str]:
    sys.path.insert(0, str(HERE.parent / "eval"))
    import thirdparty
    import thirdparty_content

    rows = [r for rows in thirdparty.load("injection").values() for r in rows]
    rows += [r for rows in thirdparty_content.load("content").values() for r in rows]
    pool = [str(r["text"]) for r in rows]
    random.Random(20261207).shuffle(pool)
    return pool


def child(size: int) -> dict[str, float]:
    from keeptrust_guard import token_cache

    token_cache.TOKEN_CACHE_SIZE = size  # before the detectors build their caches

    from keeptrust_guard.detection import DetectorSetup, Segment
    from keeptrust_guard.ensemble import EnsembleDetector, ModelOptions

    policies = {
        "prompt-injection": ("prompt_injection", ("prompt_injection",)),
        "safety-filter": ("content", ("toxicity",)),
        "content-filter": ("content", ("hate_speech", "harassment")),
    }
    detectors = [
        EnsembleDetector(
            ModelOptions(profile="fast"), DetectorSetup("bench", task, cats, logging.getLogger("bench"), "bench")
        )
        for task, cats in policies.values()
    ]
    pool = texts()
    split = int(len(pool) * 0.6)
    counter = iter(range(10**9))

    def read(part: list[str]) -> float:
        start = time.process_time()
        for text in part:
            segment = [Segment(f"({next(counter)}) {text}", "user")]
            for det in detectors:
                det.scan(segment)
        return (time.process_time() - start) * 1e3 / len(part)

    before = rss_mib()
    read(pool[:split])
    first = read(pool[split:])
    warm = rss_mib()
    rng = random.Random(7)
    for _ in range(FLOOD_TOKENS // 60):
        flood = " ".join("".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 10))) for _ in range(60))
        for det in detectors:
            det.scan([Segment(flood, "user")])
    flooded = rss_mib()
    read(pool[:split])
    again = read(pool[split:])
    return {
        "size": size,
        "ms_per_message": round(first, 3),
        "ms_per_message_after_flood": round(again, 3),
        "rss_start_mib": round(before, 1),
        "rss_warm_mib": round(warm, 1),
        "rss_after_flood_mib": round(flooded, 1),
        "entries_after_flood": token_cache.token_cache_entries(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    parser.add_argument("--rounds", type=int, default=1, help="run the sizes in turn this many times")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child)))
        return
    print(
        f"| entries per cache | CPU per message, ms (median of {args.rounds}) | after the flood | RSS warm, MiB | "
        "RSS after the flood | growth from start |\n|---|---|---|---|---|---|"
    )
    runs: dict[int, list[dict[str, float]]] = {size: [] for size in args.sizes}
    for _ in range(args.rounds):
        for size in args.sizes:
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(size)], capture_output=True, text=True, check=True
            ).stdout
            runs[size].append(json.loads(out.strip().splitlines()[-1]))
    for size, got in runs.items():
        r = {key: statistics.median(run[key] for run in got) for key in got[0]}
        print(
            f"| {size:,} | {r['ms_per_message']:.3f} | {r['ms_per_message_after_flood']:.3f} | "
            f"{r['rss_warm_mib']:.1f} | {r['rss_after_flood_mib']:.1f} | "
            f"+{r['rss_after_flood_mib'] - r['rss_start_mib']:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()

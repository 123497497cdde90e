"""How fast the console's pages are on a big jsonl log, against ``kt audit tail`` on the same log.

    .venv/bin/python plugins/keeptrust_console/benchmarks/console_pages.py --records 1000000 [--dir DIR]

Writes (once; reused when DIR already holds it) one hash-chained jsonl chain of N request records in
64 MiB segments, every record different (request ids, times, roles, targets, outcomes), with its
durable head, so ``kt audit verify`` passes; then times, in this process: building the index, the
overview, the first records page, a page 10 000 rows deep (keyset), filtered pages, a record's
detail, a CSV export of one outcome, and the baseline: ``read_records(..., limit=50, newest=True)``,
what ``kt audit tail`` does.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path
from typing import Any

import orjson
from keeptrust_console import queries
from keeptrust_console.app import _csv_rows
from keeptrust_console.index import Index, Source

from keeptrust.audit.hashchain import ChainState, Sealer
from keeptrust.audit.query import Filter, read_records
from keeptrust.audit.record import rfc3339
from keeptrust.audit.segments import CHAIN_FILE, HEAD_FILE, segment_name
from keeptrust.audit.verify import Expectations

SEGMENT_BYTES = 64 * 1024 * 1024
ROLES = ["developer", "analyst", "support", "batch", "admin"]
TARGETS = ["hf-router", "tgi-local", "groq", "together", "endpoint-eu"]
MODELS = ["meta-llama/Llama-3.1-8B-Instruct", "Qwen/Qwen2.5-7B-Instruct", "mistralai/Mistral-7B-Instruct-v0.3"]


def _record(rng: random.Random, i: int, ts: float) -> dict[str, Any]:
    roll = rng.random()
    record: dict[str, Any] = {
        "type": "request",
        "ts": rfc3339(ts),
        "request_id": f"req_{rng.getrandbits(96):024x}",
        "role": rng.choice(ROLES),
        "target": rng.choice(TARGETS),
        "model": rng.choice(MODELS),
        "endpoint": "/v1/chat/completions",
        "status": 200,
        "latency_ms": round(rng.lognormvariate(5, 0.6), 3),
        "usage": {"prompt_tokens": rng.randint(5, 900), "completion_tokens": rng.randint(1, 400)},
        "decisions": [],
    }
    if roll < 0.05:
        policy = rng.choice(["prompt-injection", "pii-detector", "safety-filter"])
        record["status"] = 400
        record["error"] = {"code": "policy_violation", "message": "blocked by policy"}
        record["decisions"] = [{"policy": policy, "phase": "request", "action": "block", "details": {"score": 0.9}}]
    elif roll < 0.15:
        record["decisions"] = [{"policy": "pii-detector", "phase": "request", "action": "modify"}]
    elif roll < 0.17:
        record["status"] = 502
        record["error"] = {"code": "bad_gateway", "message": "upstream returned 503"}
    elif roll < 0.19:
        record.update(type="access", status=401, role=None, target=None, model=None)
        record["error"] = {"code": "invalid_api_key", "message": "invalid API key"}
    return record


def write_log(directory: Path, count: int) -> None:
    chain = "20261201T000000Z-bench-0001"
    chain_dir = directory / chain
    chain_dir.mkdir(parents=True)
    (chain_dir / CHAIN_FILE).write_bytes(orjson.dumps({"chain": chain, "created": 0, "immutable": True}))
    rng = random.Random(7)
    sealer = Sealer(ChainState(chain), immutable=True)
    number, size = 1, 0
    out = open(chain_dir / segment_name(number), "wb")  # noqa: SIM115 - rotated below
    start = time.time() - 14 * 86400
    last: dict[str, Any] = {}
    for i in range(count):
        last = sealer.seal(_record(rng, i, start + i * (14 * 86400 / count)))
        line = orjson.dumps(last) + b"\n"
        if size + len(line) > SEGMENT_BYTES:
            out.close()
            number, size = number + 1, 0
            out = open(chain_dir / segment_name(number), "wb")  # noqa: SIM115
        out.write(line)
        size += len(line)
    out.close()
    head = {"chain": chain, "hash": last["hash"], "segment": segment_name(number), "seq": last["seq"], "ts": 0}
    (chain_dir / HEAD_FILE).write_bytes(orjson.dumps(head))


def timed(fn: Any, repeat: int = 5) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/keeptrust-console-bench"))
    args = parser.parse_args()
    log = args.dir / f"audit-{args.records}"
    if not log.exists():
        t = time.perf_counter()
        write_log(log, args.records)
        print(f"wrote {args.records} records in {time.perf_counter() - t:.1f}s")
    index = Index(Source(log, Expectations()))
    t = time.perf_counter()
    index.refresh()
    print(f"index build: {time.perf_counter() - t:.1f}s for {args.records} records")
    db = index.db
    rows: dict[str, float] = {}
    rows["baseline: kt audit tail -n 50 (read_records newest)"] = timed(
        lambda: read_records(log, Filter(), limit=50, newest=True), repeat=1
    )[0]
    rows["refresh, nothing new"] = timed(index.refresh)[0]
    rows["overview counts + chart"] = timed(lambda: queries.overview(index.totals))[0]
    rows["records page 1 (+count, menus)"] = timed(
        lambda: (
            queries.page(db, queries.Query(), None),
            queries.count(db, queries.Query()),
            queries.choices(index.totals),
        )
    )[0]
    deep = db.execute("SELECT ts, id FROM rec ORDER BY ts DESC, id DESC LIMIT 1 OFFSET 10000").fetchone()
    rows["records page 10 000 rows deep (keyset)"] = timed(lambda: queries.page(db, queries.Query(), tuple(deep)))[0]
    for name, q in {
        "outcome=blocked": queries.Query(outcome="blocked"),
        "policy=pii-detector (10 %)": queries.Query.from_params({"policy": "pii-detector"}, index.totals),
        "policy=safety-filter (1.7 %)": queries.Query.from_params({"policy": "safety-filter"}, index.totals),
        "role=analyst, target=groq": queries.Query(role="analyst", target="groq"),
        "request id text": queries.Query(q="abc12"),
        "time range (one day)": queries.Query(since=rfc3339(time.time() - 3 * 86400)[:10]),
    }.items():
        rows[f"filtered page: {name}"] = timed(lambda q=q: (queries.page(db, q, None), queries.count(db, q)))[0]
    row = db.execute("SELECT src, chain, seq, off, len FROM rec WHERE id = ?", (args.records // 2,)).fetchone()
    rows["record detail (read from the segment)"] = timed(lambda: index.load([row]))[0]
    rows["CSV export, outcome=upstream error"] = timed(
        lambda: sum(len(_csv_rows(b)) for b in queries.matching(db, queries.Query(outcome="upstream error"))),
        repeat=1,
    )[0]
    base = next(iter(rows.values()))
    print(f"\n| operation on {args.records} records | median | vs baseline |\n|---|---:|---:|")
    for name, seconds in rows.items():
        print(f"| {name} | {seconds * 1000:.1f} ms | {seconds / base:.3f}x |")


if __name__ == "__main__":
    main()

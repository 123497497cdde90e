"""What Python's cyclic garbage collector costs a gateway under load: with its long-lived objects
frozen at start-up (``keeptrust.server.heap``, what ``kt gateway run`` does) and unfrozen again
(as before), measured in pairs like ``paired.sh``.

    python benchmarks/gc_pauses.py [--config policies] [--rounds 3] [--duration 15]

Each round starts the gateway twice with the same config, both pinned to CPU 0; after a warm-up,
two wrk processes on CPU 1 load them at c=16 for the same seconds with the benchmark harness's
message (every request text unique). The collector's own callbacks, inside each gateway, count its
collections per generation, their total time and the longest pause from the end of the warm-up to
the end of the load (the unfrozen one gives its heap back to the collector when the warm-up ends).
Prints one line per round and gateway, and the median ratio of their requests. Needs node, wrk and
taskset, the harness (``BENCH_DIR``, default ``../shared/bench``) and ``./scripts/bootstrap`` done.

``--serve`` is the gateway side (run by the benchmark itself): ``kt``'s command line with the
collector's callbacks around it.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from soak import wait_ready

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(os.environ.get("BENCH_DIR") or ROOT.parent / "shared" / "bench")
UPSTREAM_PORT = 18280
BODY = (
    '{"model":"bench/model","messages":[{"role":"system","content":"You are a helpful assistant."},'
    '{"role":"user","content":"Hi, I am John Smith (john.smith@example.com, +1 415 555 0100). Explain the '
    'attention mechanism in transformers in two sentences. Request {n}."}],"max_tokens":64,"temperature":0.2}'
)


def serve(unfreeze: bool, out: Path, kt_args: list[str]) -> None:
    """Run ``kt`` with the collector's callbacks; write the counts to ``out`` at exit."""
    stats = {g: [0, 0.0, 0.0] for g in range(3)}
    started: list[float] = [0.0]

    def callback(phase: str, info: dict) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
            return
        took = time.perf_counter() - started[0]
        counts = stats[info["generation"]]
        counts[0] += 1
        counts[1] += took
        counts[2] = max(counts[2], took)

    def control() -> None:
        # Counting starts when the benchmark says the warm-up is over (it writes ``out``); from then
        # the unfrozen side's heap is the collector's again, as before the freeze.
        while not out.exists():
            time.sleep(0.05)
        if unfreeze:
            gc.unfreeze()
        for counts in stats.values():
            counts[:] = [0, 0.0, 0.0]
        gc.callbacks.append(callback)
        while out.read_text() != "stop":
            time.sleep(0.05)
        gc.callbacks.remove(callback)
        written = out.with_suffix(".tmp")
        written.write_text(json.dumps({"frozen": gc.get_freeze_count(), "generations": stats}))
        os.replace(written, out)

    threading.Thread(target=control, daemon=True).start()
    from keeptrust.cli import main

    sys.argv = ["kt", *kt_args]
    main()


def _config(name: str, folder: Path) -> Path:
    source = {
        "base": BENCH / "keeptrust-bench.yaml",
        "policies": BENCH / "keeptrust-bench-policies.yaml",
    }.get(name, ROOT / "benchmarks" / "configs" / f"{name}.yaml")
    text = source.read_text().replace("127.0.0.1:18080", f"127.0.0.1:{UPSTREAM_PORT}")
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


def _wrk(port: int, seconds: float, out: Path | None) -> subprocess.Popen:
    cmd = ["taskset", "-c", "1", "wrk", "-t1", "-c16", f"-d{round(seconds)}s", "--timeout", "30s"]
    cmd += ["-s", str(BENCH / "post.lua"), f"http://127.0.0.1:{port}/v1/chat/completions"]
    return subprocess.Popen(cmd, stdout=out.open("w") if out else subprocess.DEVNULL, stderr=subprocess.STDOUT)


def _round(config: Path, duration: float, warmup: float, order: list[bool], work: Path) -> dict[bool, dict]:
    gateways: dict[bool, tuple[int, Path, subprocess.Popen]] = {}
    try:
        return _measure(config, duration, warmup, order, work, gateways)
    finally:
        for _, _, proc in gateways.values():
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=60)


def _measure(
    config: Path,
    duration: float,
    warmup: float,
    order: list[bool],
    work: Path,
    gateways: dict[bool, tuple[int, Path, subprocess.Popen]],
) -> dict[bool, dict]:
    for i, unfreeze in enumerate(order):
        port = UPSTREAM_PORT + 1 + i
        stats = work / f"stats-{unfreeze}.json"
        stats.unlink(missing_ok=True)
        cmd = ["taskset", "-c", "0", sys.executable, __file__, "--serve", str(int(unfreeze)), str(stats)]
        cmd += ["gateway", "run", "--listen", f"127.0.0.1:{port}", "--policy-config", str(config)]
        cmd += ["--log-level", "warning"]
        log = (work / f"gateway-{unfreeze}.log").open("w")
        gateways[unfreeze] = (port, stats, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT))
    for port, _, proc in gateways.values():
        wait_ready(f"http://127.0.0.1:{port}/readyz", proc, "a gateway")
    for load in [_wrk(port, warmup, None) for port, _, _ in gateways.values()]:
        load.wait()
    for _, stats, _ in gateways.values():
        stats.write_text("go")
    outputs = {u: work / f"wrk-{u}.txt" for u in gateways}
    for load in [_wrk(port, duration, outputs[u]) for u, (port, _, _) in gateways.items()]:
        load.wait()
    results = {}
    for unfreeze, (_, stats, proc) in gateways.items():
        stats.write_text("stop")
        for _ in range(200):
            if stats.read_text().startswith("{"):
                break
            time.sleep(0.05)
        else:
            log = (work / f"gateway-{unfreeze}.log").read_text()
            raise SystemExit(f"the gateway gave no counts ({stats.read_text()!r}); its log:\n{log}")
        proc.terminate()
        proc.wait(timeout=60)
        lines = [x for x in outputs[unfreeze].read_text().splitlines() if x.startswith("WRKJSON")]
        if not lines:
            raise SystemExit(f"wrk gave no summary: {outputs[unfreeze].read_text()}")
        line = lines[0]
        results[unfreeze] = {**json.loads(stats.read_text()), **json.loads(line.removeprefix("WRKJSON "))}
    return results


def main() -> None:
    if sys.argv[1:2] == ["--serve"]:
        unfreeze, out, *kt_args = sys.argv[2:]
        serve(unfreeze == "1", Path(out), kt_args)
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="policies", help="base, policies or a benchmarks/configs name")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("BENCH_TOKEN", "bench-token")
    os.environ.setdefault("BENCH_BODY", BODY)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        upstream = subprocess.Popen(
            ["taskset", "-c", "1", "node", str(BENCH / "fake_upstream.js"), str(UPSTREAM_PORT)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        try:
            config = _config(args.config, work)
            rows: dict[bool, list[dict]] = {False: [], True: []}
            for n in range(args.rounds):
                order = [False, True] if n % 2 == 0 else [True, False]
                for unfreeze, result in _round(config, args.duration, args.warmup, order, work).items():
                    rows[unfreeze].append(result)
                    g2 = result["generations"]["2"]
                    print(
                        f"round {n + 1}, {'unfrozen' if unfreeze else 'frozen  '}: {result['requests']} requests, "
                        f"full collections {g2[0]} taking {g2[1] * 1000:.0f} ms (longest {g2[2] * 1000:.1f} ms), "
                        f"p99 {result['latency_ms']['p99']:.1f} ms"
                    )
        finally:
            upstream.terminate()
    frozen, unfrozen = rows[False], rows[True]
    ratio = statistics.median(f["requests"] / u["requests"] for f, u in zip(frozen, unfrozen, strict=True))
    print(f"median requests frozen / unfrozen over {args.rounds} rounds: {ratio:.3f}")


if __name__ == "__main__":
    main()

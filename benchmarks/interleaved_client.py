"""Latency at concurrency 1, requests interleaved across gateways (driven by ``interleaved.sh``).

    python interleaved_client.py SECONDS NAME=PORT [NAME=PORT ...]

One request at a time, to each gateway in turn (the order rotates every round), for SECONDS. Every
gateway is measured at the same moments, so a busy machine slows them alike and the differences of
their latencies hold where sequential runs drift by milliseconds. The body is ``BENCH_BODY`` with
``{n}`` replaced by a counter, as the harness's wrk script does (no two requests alike). Prints one
line per gateway: requests, p50 and p90 in ms, and p50 minus the first gateway's.
"""

from __future__ import annotations

import http.client
import os
import statistics
import sys
import time

TOKEN = os.environ.get("BENCH_TOKEN", "bench-token")
HEADERS = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}


def measure(seconds: float, targets: list[tuple[str, int]], body: str) -> dict[str, list[float]]:
    """Milliseconds per request for each gateway, over ``seconds``."""
    connections = {name: http.client.HTTPConnection("127.0.0.1", port, timeout=30) for name, port in targets}
    latencies: dict[str, list[float]] = {name: [] for name, _ in targets}
    sent = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        shift = sent % len(targets)
        for name, _ in targets[shift:] + targets[:shift]:
            sent += 1
            payload = body.replace("{n}", str(sent))
            started = time.perf_counter()
            connection = connections[name]
            connection.request("POST", "/v1/chat/completions", payload, HEADERS)
            response = connection.getresponse()
            answer = response.read()
            latencies[name].append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                raise SystemExit(f"{name} answered {response.status}: {answer[:200]!r}")
    return latencies


def main(argv: list[str]) -> None:
    seconds = float(argv[0])
    targets = [(name, int(port)) for name, port in (arg.split("=", 1) for arg in argv[1:])]
    latencies = measure(seconds, targets, os.environ["BENCH_BODY"])
    first = statistics.median(latencies[targets[0][0]])
    for name, _ in targets:
        ms = sorted(latencies[name])
        p50 = statistics.median(ms)
        p90 = ms[int(len(ms) * 0.9)]
        diff = p50 - first
        print(f"{name}: {len(ms)} requests, p50 {p50:.2f} ms, p90 {p90:.2f} ms, p50 - {targets[0][0]} {diff:+.2f} ms")


if __name__ == "__main__":
    main(sys.argv[1:])

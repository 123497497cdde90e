"""Gateway throughput on loopback with the three guard policies on and off (sequential requests,
one keep-alive connection, the benchmark body). A quick relative figure; the shared wrk benchmark
(``../shared/bench``) is the reference for ``benchmarks/RESULTS.md``.

    python benchmarks/bench_gateway.py --requests 2000
"""

from __future__ import annotations

import argparse
import time

import httpx

from keeptrust.demo import FakeOpenAI
from keeptrust.testing import openai_target, serve_app, start_gateway

BODY = {
    "model": "fake/model",
    "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Hi, I am John Smith (john.smith@example.com, +1 415 555 0100). Explain the "
                                    "attention mechanism in transformers in two sentences."},
    ],
}
GUARDS = {"prompt-injection": {}, "safety-filter": {"check_toxicity": True}, "content-filter": {}}


def _rate(base_url: str, n: int, stream: bool) -> float:
    body = {**BODY, "stream": stream}
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for _ in range(50):  # warm-up
            client.post("/v1/chat/completions", json=body).raise_for_status()
        start = time.perf_counter()
        for _ in range(n):
            client.post("/v1/chat/completions", json=body).raise_for_status()
        return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    upstream = serve_app(FakeOpenAI())
    try:
        print("| policies | non-stream req/s | stream req/s |\n|---|---|---|")
        for label, policies in (("none", {}), ("prompt-injection + safety-filter + content-filter", GUARDS)):
            config = {"providers": {"targets": [openai_target(upstream.url)]},
                      "policies": {"chain": list(policies), "policy": policies}}
            gw = start_gateway(config)
            try:
                plain = _rate(gw.url, args.requests, stream=False)
                streamed = _rate(gw.url, args.requests // 2, stream=True)
            finally:
                gw.stop()
            print(f"| {label} | {plain:.0f} | {streamed:.0f} |")
    finally:
        upstream.stop()


if __name__ == "__main__":
    main()

"""Gateway throughput on loopback with the three guard policies off, on with their defaults
(prompt-injection ``accurate``, the content policies ``fast``) and on in the ``accurate`` profile
(sequential requests, one keep-alive connection, the benchmark body numbered so that no two request
texts are alike and no cache helps). A quick relative figure; the repository's ``benchmarks/run.sh``
is the reference for ``benchmarks/RESULTS.md``.

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
ACCURATE = {name: {**options, "detector_options": {"profile": "accurate"}} for name, options in GUARDS.items()}


def _body(n: int, stream: bool) -> dict:
    system, user = BODY["messages"]
    return {**BODY, "stream": stream, "messages": [system, {**user, "content": f"{user['content']} ({n})"}]}


def _rate(base_url: str, n: int, stream: bool, first: int) -> float:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for i in range(50):  # warm-up
            client.post("/v1/chat/completions", json=_body(first - 1 - i, stream)).raise_for_status()
        start = time.perf_counter()
        for i in range(n):
            client.post("/v1/chat/completions", json=_body(first + i, stream)).raise_for_status()
        return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    upstream = serve_app(FakeOpenAI())
    try:
        print("| policies | non-stream req/s | stream req/s |\n|---|---|---|")
        runs = (
            ("none", {}),
            ("prompt-injection + safety-filter + content-filter (fast)", GUARDS),
            ("the same, accurate", ACCURATE),
        )
        for label, policies in runs:
            config = {"providers": {"targets": [openai_target(upstream.url)]},
                      "policies": {"chain": list(policies), "policy": policies}}
            gw = start_gateway(config)
            try:
                plain = _rate(gw.url, args.requests, stream=False, first=1_000_000)
                streamed = _rate(gw.url, args.requests // 2, stream=True, first=2_000_000)
            finally:
                gw.stop()
            print(f"| {label} | {plain:.0f} | {streamed:.0f} |")
    finally:
        upstream.stop()


if __name__ == "__main__":
    main()

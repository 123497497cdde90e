"""Cost of the pii-detector per request, measured on the policy itself (no HTTP), in one process.

    python eval/bench_policy.py [--requests 300]

The body is the gateway benchmark's: system "You are a helpful assistant." + a user message with a
name, an e-mail address and a phone number. Reported, in ms per request (median and p95):
- cold: the first request after start-up (the analyzer is already built and warmed);
- warm, repeated body: the same body again and again (the benchmark's case: the LRU answers);
- warm, unique user text: a different user message each time (the system prompt still cached);
- another person each time: the same message with the name replaced by each full name of the
  third-party development set (``eval/external_dev.jsonl``: people of many origins, many of them in
  no name list, which NER must then read);
- answer: the echoed answer checked by on_response (unique text each time);
- stream: a 200-token (about 1000-character) answer streamed through the filter in 4-character
  chunks, unique each time: the total analysis time per stream, spent on the event loop.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from pathlib import Path
from typing import Any

import trio

from keeptrust import PolicyEnv, RequestContext
from keeptrust_presidio.config import PiiDetectorConfig
from keeptrust_presidio.policy import PiiDetectorPolicy

SYSTEM = "You are a helpful assistant."
USER = (
    "Hi, I am John Smith (john.smith@example.com, +1 415 555 0100). "
    "Explain the attention mechanism in transformers in two sentences."
)


def _people() -> list[str]:
    """The full names (two words or more) labelled in the third-party development set."""
    people: dict[str, None] = {}
    with Path(__file__).with_name("external_dev.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            for span in record["spans"]:
                name = record["text"][span["start"] : span["end"]]
                if span["entity"] == "PERSON" and " " in name:
                    people[name] = None
    return list(people)


def _body(user: str) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]}


async def _time_request(policy: PiiDetectorPolicy, user: str) -> tuple[float, float]:
    ctx = RequestContext(request_id="bench", operation="chat", endpoint="/v1/chat/completions", body=_body(user))
    started, cpu = time.perf_counter(), time.process_time()
    await policy.on_request(ctx)
    return _elapsed(started, cpu)


async def _time_answer(policy: PiiDetectorPolicy, text: str) -> tuple[float, float]:
    ctx = RequestContext(request_id="bench", operation="chat", endpoint="/v1/chat/completions", body=_body("x"))
    answer = {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}
    started, cpu = time.perf_counter(), time.process_time()
    await policy.on_response(ctx, answer)
    return _elapsed(started, cpu)


ANSWER = (
    "The attention mechanism lets each token weigh every other token of the sequence when it builds "
    "its representation: queries are compared with keys to give weights, and the values are averaged "
    "with those weights. Transformers stack many such layers, with several heads each, so that a model "
    "can relate words that are far apart without recurrence. "
) * 3


def _elapsed(started: float, cpu: float) -> tuple[float, float]:
    """Wall and CPU milliseconds. CPU time (this process, all its threads) is what the request costs
    the machine, and reads the same on a machine that other jobs keep busy."""
    return (time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000


async def _time_stream(policy: PiiDetectorPolicy, i: int) -> tuple[float, float]:
    ctx = RequestContext(request_id="bench", operation="chat", endpoint="/v1/chat/completions", body=_body("x"))
    text = ANSWER.replace(". ", f". [{i}] ")  # unique windows: no cache hit
    started, cpu = time.perf_counter(), time.process_time()
    stream = policy.stream_filter(ctx)
    assert stream is not None
    for k in range(0, len(text), 4):
        await stream.feed(text[k : k + 4])
    await stream.flush()
    return _elapsed(started, cpu)


def _summary(name: str, samples: list[tuple[float, float]]) -> str:
    wall = sorted(w for w, _ in samples)
    p95 = wall[min(len(wall) - 1, int(len(wall) * 0.95))]
    cpu = statistics.median(c for _, c in samples)
    return f"| {name} | {len(samples)} | {statistics.median(wall):.2f} | {p95:.2f} | {cpu:.2f} |"


async def main(requests: int, model: str | None) -> None:
    env = PolicyEnv(logger=logging.getLogger("bench"), registry=None, config=None)
    started = time.perf_counter()
    policy = PiiDetectorPolicy(PiiDetectorConfig(**({"nlp_model": model} if model else {})), env)
    print(f"start-up (load model, build analyzer, warm up): {(time.perf_counter() - started) * 1000:.0f} ms")
    cold = [await _time_request(policy, USER)]
    repeated = [await _time_request(policy, USER) for _ in range(requests)]
    unique = [await _time_request(policy, f"{USER} Request {i}.") for i in range(requests)]
    people = _people()
    others = [
        await _time_request(policy, f"{USER.replace('John Smith', people[i % len(people)])} Request {i}.")
        for i in range(requests)
    ]
    answers = [await _time_answer(policy, f"You said: {USER} ({i})") for i in range(requests)]
    streams = [await _time_stream(policy, i) for i in range(max(10, requests // 10))]
    print("| case | requests | median wall ms | p95 wall ms | median CPU ms |")
    print("|---|---:|---:|---:|---:|")
    for name, samples in (
        ("cold (first request)", cold),
        ("warm, repeated body", repeated),
        ("warm, unique user text", unique),
        (f"warm, unique user text, another person each time ({len(people)} names)", others),
        ("answer (on_response)", answers),
        (f"stream of {len(ANSWER)} characters (whole stream)", streams),
    ):
        print(_summary(name, samples))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--model", default=None, help="nlp_model (default: the policy's)")
    args = parser.parse_args()
    trio.run(main, args.requests, args.model)

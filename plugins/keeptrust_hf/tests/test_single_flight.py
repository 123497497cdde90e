"""Concurrent first lookups of one model share one Hub mapping request (single flight)."""

from __future__ import annotations

import threading

import pytest
import trio

from keeptrust.errors import ModelNotFound
from keeptrust_hf.mapping import MappingCache
from keeptrust_hf.testing import hf_target

LLAMA = "meta-llama/Llama-3.1-8B-Instruct"


def test_a_burst_of_first_requests_costs_one_hub_lookup(hf, gateway):
    hf.app.add_mapping(LLAMA, "groq", "llama-3.1-8b-instant")
    hf.app.hub_delay = 0.3  # long enough for every request to arrive while the first lookup runs
    client = gateway(hf_target("open")).client()
    answers: list[str] = []

    def ask(i: int) -> None:
        reply = client.chat.completions.create(
            model=f"{LLAMA}:groq", messages=[{"role": "user", "content": f"question {i}"}]
        )
        answers.append(reply.choices[0].message.content)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(answers) == sorted(f"You said: question {i}" for i in range(6))
    assert len(hf.app.requests_to(f"/api/models/{LLAMA}")) == 1
    assert len(hf.app.requests_to("/groq/")) == 6


class _Hub:
    """A stand-in for the target's transport: counts lookups, each taking ``delay``."""

    def __init__(self, delay: float, fail: bool = False) -> None:
        self.delay, self.fail, self.calls = delay, fail, 0
        self.started = trio.Event()

    async def request(self, ctx, method, url, **kwargs):
        self.calls += 1
        self.started.set()
        await trio.sleep(self.delay)
        if self.fail:
            raise ModelNotFound("model 'a/b' was not found on the Hugging Face Hub", param="model")
        import httpx

        body = b'{"inferenceProviderMapping": {"groq": {"providerId": "x", "task": "conversational"}}}'
        return httpx.Response(200, content=body)


async def test_waiters_share_the_answer_and_the_error():
    hub = _Hub(0.05)
    cache = MappingCache(hub, "https://hub.example", ttl=60)  # type: ignore[arg-type]
    results: list[object] = []
    async with trio.open_nursery() as nursery:
        for _ in range(5):
            nursery.start_soon(lambda: _collect(cache, results))
    assert hub.calls == 1 and len(results) == 5 and all(r == results[0] for r in results)

    failing = _Hub(0.05, fail=True)
    cache = MappingCache(failing, "https://hub.example", ttl=60)  # type: ignore[arg-type]
    errors: list[Exception] = []

    async def attempt() -> None:
        try:
            await cache.get(None, "a/b")
        except ModelNotFound as exc:
            errors.append(exc)

    async with trio.open_nursery() as nursery:
        for _ in range(4):
            nursery.start_soon(attempt)
    assert failing.calls == 1 and len(errors) == 4


async def _collect(cache: MappingCache, results: list[object]) -> None:
    results.append(await cache.get(None, "a/b"))


async def test_a_cancelled_leader_hands_over():
    hub = _Hub(0.2)
    cache = MappingCache(hub, "https://hub.example", ttl=60)  # type: ignore[arg-type]
    results: list[object] = []
    async with trio.open_nursery() as nursery:
        leader = trio.CancelScope()

        async def lead() -> None:
            with leader:
                await cache.get(None, "a/b")

        nursery.start_soon(lead)
        await hub.started.wait()
        nursery.start_soon(_collect, cache, results)
        await trio.sleep(0.01)
        leader.cancel()
    assert hub.calls == 2 and len(results) == 1


@pytest.mark.parametrize("ttl", [60.0])
async def test_cached_answers_need_no_flight(ttl):
    hub = _Hub(0.0)
    cache = MappingCache(hub, "https://hub.example", ttl=ttl)  # type: ignore[arg-type]
    await cache.get(None, "a/b")
    await cache.get(None, "a/b")
    assert hub.calls == 1

"""Short analyses of concurrent requests run together: same entities, fewer thread calls, and a
request that goes away neither loses the others' results nor gets its text analysed for nothing."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
import trio
import trio.testing

from keeptrust import PolicyEnv, RequestContext
from keeptrust_presidio.coalesce import Coalescer
from keeptrust_presidio.config import PiiDetectorConfig
from keeptrust_presidio.policy import PiiDetectorPolicy


@pytest.fixture(scope="module")
def policy() -> PiiDetectorPolicy:
    return PiiDetectorPolicy(PiiDetectorConfig(), PolicyEnv(logger=logging.getLogger("t"), registry=None, config=None))


def _ctx(i: int, text: str) -> RequestContext:
    return RequestContext(
        request_id=str(i),
        operation="chat",
        endpoint="/v1/chat/completions",
        body={"messages": [{"role": "user", "content": text}]},
    )


async def test_concurrent_requests_are_redacted_as_each_would_be_alone(policy: PiiDetectorPolicy) -> None:
    texts = [
        f"Hi, I am {name} ({name.split()[0].lower()}@example.com, +1 415 555 01{i:02d}). Ticket {i}: {topic}."
        for i, (name, topic) in enumerate(
            [
                ("Ana Lima", "my card 4111 1111 1111 1111 was charged twice"),
                ("Bo Chen", "explain attention in two sentences"),
                ("Kwame Mensah", "call me back tomorrow"),
                ("Priya Raghunathan", "the invoice is wrong"),
                ("Hans Müller", "reset my password"),
                ("Oluwaseun Adeyemi", "nothing else"),
            ]
            * 3
        )
    ]
    alone = []
    for i, text in enumerate(texts):
        ctx = _ctx(i, text + " (alone)")
        await policy.on_request(ctx)
        alone.append(ctx.body["messages"][0]["content"].removesuffix(" (alone)"))

    together: dict[int, str] = {}
    batches, jobs = policy.coalescer.batches, policy.coalescer.jobs

    async def one(i: int, text: str) -> None:
        ctx = _ctx(i, text)
        await policy.on_request(ctx)
        together[i] = ctx.body["messages"][0]["content"]

    async with trio.open_nursery() as nursery:
        for i, text in enumerate(texts):
            nursery.start_soon(one, i, text)
    assert [together[i] for i in range(len(texts))] == alone
    assert all("<PERSON>" in t and "<EMAIL_ADDRESS>" in t and "<PHONE_NUMBER>" in t for t in alone), alone
    assert policy.coalescer.jobs - jobs == len(texts)
    assert policy.coalescer.batches - batches < len(texts)  # some of them shared a thread call


class _Recorder:
    """A stand-in analysis: the length of each text, after ``gate`` opens (set from the test)."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.gate = threading.Event()
        self.fail = False

    def __call__(self, texts: list[str]) -> list[int]:
        self.gate.wait(10)
        self.batches.append(list(texts))
        if self.fail:
            raise ValueError("analysis failed")
        return [len(t) for t in texts]


async def _start_batch(
    coalescer: Coalescer[int],
    results: dict[str, Any],
    name: str,
    texts: list[str],
    scopes: dict[str, trio.CancelScope] | None = None,
) -> None:
    """One request's analysis; ``scopes[name]`` cancels it (the client went away)."""
    with trio.CancelScope() as scope:
        if scopes is not None:
            scopes[name] = scope
        try:
            results[name] = await coalescer.analyze(texts)
        except Exception as exc:
            results[name] = exc


async def test_waiting_jobs_go_together_and_each_gets_its_own_results() -> None:
    run = _Recorder()
    coalescer: Coalescer[int] = Coalescer(run, trio.CapacityLimiter(1), max_chars=100)
    results: dict[str, Any] = {}
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_start_batch, coalescer, results, "first", ["a"])
        await trio.testing.wait_all_tasks_blocked()  # "first" holds the only thread, blocked on the gate
        for name, texts in (("second", ["bb", "ccc"]), ("too long", ["x" * 200]), ("third", ["dddd"])):
            nursery.start_soon(_start_batch, coalescer, results, name, texts)
            await trio.testing.wait_all_tasks_blocked()  # queued in this order
        run.gate.set()
    assert results == {"first": [1], "second": [2, 3], "third": [4], "too long": [200]}
    assert run.batches == [["a"], ["bb", "ccc", "dddd"], ["x" * 200]]


async def test_a_cancelled_waiting_job_is_not_analysed_and_a_cancelled_leader_still_serves_the_others() -> None:
    run = _Recorder()
    coalescer: Coalescer[int] = Coalescer(run, trio.CapacityLimiter(1), max_chars=100)
    results: dict[str, Any] = {}
    scopes: dict[str, trio.CancelScope] = {}
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_start_batch, coalescer, results, "leader", ["a"], scopes)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(_start_batch, coalescer, results, "gone", ["gone"], scopes)
        await trio.testing.wait_all_tasks_blocked()
        scopes["gone"].cancel()
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(_start_batch, coalescer, results, "later", ["bb"], scopes)
        await trio.testing.wait_all_tasks_blocked()
        scopes["leader"].cancel()  # its thread call is under way: it finishes, then the next batch runs
        await trio.testing.wait_all_tasks_blocked()
        run.gate.set()
    assert run.batches == [["a"], ["bb"]]
    assert results == {"later": [2]}


async def test_a_failed_batch_fails_every_job_in_it() -> None:
    run = _Recorder()
    run.fail = True
    run.gate.set()
    coalescer: Coalescer[int] = Coalescer(run, trio.CapacityLimiter(1), max_chars=100)
    results: dict[str, Any] = {}
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_start_batch, coalescer, results, "one", ["a"])
        nursery.start_soon(_start_batch, coalescer, results, "two", ["b"])
    assert all(isinstance(results[k], ValueError) for k in ("one", "two")), results

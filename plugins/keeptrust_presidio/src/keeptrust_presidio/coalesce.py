"""Short analyses of concurrent requests, run together: one worker-thread call and one spaCy batch.

Under load, many requests wait for one of the few analysis threads at the same time. A spaCy call
has a fixed cost (the model's layers are walked, its weights brought back into the CPU caches) that
a batch of texts shares, and each thread hop costs a wake-up: so when a thread comes free, whoever
gets it takes every short job waiting and analyses them all at once. One request alone (no one
waiting) goes at once, as before; a job never waits for a batch to fill.

A job's entities are the same in a batch as alone (``Detector.analyze`` treats each text on its own;
spaCy's NER reads each text apart from the others in its batch). Short means a few segments at most:
the analysis budget of such a job is never checked past its start anyway (it is checked between
batches of ``analysis.BATCH`` segments), so batches run without one, and the long analyses keep
their own thread call, budget and cancellation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import trio

R = TypeVar("R")


class _Job(Generic[R]):
    __slots__ = ("done", "error", "result", "taken", "texts", "waiting")

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.taken = False
        self.done = trio.Event()
        self.result: list[R] = []
        self.error: BaseException | None = None
        # The scope its owner waits for a thread slot in, cancelled when another task takes the job.
        self.waiting: trio.CancelScope | None = None


class Coalescer(Generic[R]):
    """``await coalescer.analyze(texts)``: ``run(texts)`` per text, in a worker thread, in the
    company of the other jobs waiting when a slot of ``limiter`` comes free. ``run`` gets the texts of
    the job that got the slot and of the waiting ones, in one list of at most ``max_chars`` characters
    (or one job's, if that alone is longer)."""

    def __init__(self, run: Callable[[list[str]], Sequence[R]], limiter: trio.CapacityLimiter, max_chars: int) -> None:
        self._run = run
        self._limiter = limiter
        self._max_chars = max_chars
        self._queue: list[_Job[R]] = []
        # The thread call happens while a slot of ``limiter`` is held: it needs no limit of its own.
        self._threads = trio.CapacityLimiter(1_000_000)
        self.batches = 0
        self.jobs = 0

    async def analyze(self, texts: list[str]) -> list[R]:
        job: _Job[R] = _Job(texts)
        self._queue.append(job)
        try:
            with trio.CancelScope() as job.waiting:
                await self._limiter.acquire_on_behalf_of(job)
                try:
                    if not job.taken:
                        await self._lead(job)
                finally:
                    self._limiter.release_on_behalf_of(job)
        except BaseException:
            if not job.taken:  # cancelled while waiting: no batch will analyse it for nothing
                self._queue.remove(job)
            raise
        job.waiting = None
        # Taken into another task's batch: its results come when that batch is done (a request
        # cancelled meanwhile stops waiting; the batch goes on for the others).
        await job.done.wait()
        if job.error is not None:
            raise job.error
        return job.result

    def _take(self, leader: _Job[R]) -> list[_Job[R]]:
        """The leader's job, and those waiting that fit within ``max_chars`` characters in all."""
        batch = [leader]
        chars = sum(map(len, leader.texts))
        rest = []
        for job in self._queue:
            if job is leader:
                continue
            size = sum(map(len, job.texts))
            if chars + size <= self._max_chars:
                batch.append(job)
                chars += size
            else:
                rest.append(job)
        self._queue = rest
        for job in batch:
            job.taken = True
            if job is not leader and job.waiting is not None:
                job.waiting.cancel()
        return batch

    async def _lead(self, leader: _Job[R]) -> None:
        batch = self._take(leader)
        texts = [t for job in batch for t in job.texts]
        self.batches += 1
        self.jobs += len(batch)
        try:
            # Shielded: the other jobs of the batch wait for these results, whatever happens to the
            # leader's own request (a short batch takes milliseconds).
            with trio.CancelScope(shield=True):
                found = await trio.to_thread.run_sync(self._run, texts, limiter=self._threads)
        except BaseException as exc:
            for job in batch:
                job.error = exc
                job.done.set()
            raise
        start = 0
        for job in batch:
            job.result = list(found[start : start + len(job.texts)])
            start += len(job.texts)
            job.done.set()

"""CPU and wall time per rate-limit decision in Redis (``RedisStore.take_all``), at 1 and 16 tasks.

    eval "$(scripts/test-services)"     # Redis on loopback (KEEPTRUST_TEST_REDIS_URL)
    taskset -c 0 .venv/bin/python benchmarks/redis_store.py [CALLS]

One decision is what the rate-limiter asks per request (the tokens allowance and the request count
in one script call); the charge when the answer ends is one more such call. CPU is the process's
(worker threads included, for a client that uses them). Run it on two commits to compare two store
implementations; absolute numbers depend on the machine and its load.
"""

from __future__ import annotations

import os
import sys
import time

import trio

from keeptrust.ratelimit import Rate, Take
from keeptrust.ratelimit.redis_store import RedisStore


async def main(calls: int) -> None:
    url = os.environ.get("KEEPTRUST_TEST_REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0] + "/14"
    store = RedisStore(url)
    takes = [
        Take("bench:key:tokens", Rate(1e11, 1e11), 1, charge=False),
        Take("bench:key:requests", Rate(1e8, 1e8), 1),
    ]

    async def worker(n: int) -> None:
        for _ in range(n):
            await store.take_all(takes)

    await worker(200)  # connections open, script cached
    for tasks in (1, 16):
        cpu, wall = time.process_time(), time.perf_counter()
        async with trio.open_nursery() as nursery:
            for _ in range(tasks):
                nursery.start_soon(worker, calls // tasks)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        n = calls // tasks * tasks
        print(f"{tasks:2d} tasks: {cpu / n * 1e6:5.0f} µs CPU, {wall / n * 1e6:5.0f} µs wall per decision")
    await store.aclose()


if __name__ == "__main__":
    trio.run(main, int(sys.argv[1]) if len(sys.argv) > 1 else 5000)

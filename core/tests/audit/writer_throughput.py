"""How many records a second the audit writer sustains (jsonl sink, immutable, fsync per batch).

Not a test: run it by hand (``.venv/bin/python core/tests/audit/writer_throughput.py [N] [DIR]``) to
see the writer's ceiling on this disk. Producers enqueue as fast as they can, so the figure is the
writer task's (seal + hash + scrub + write + fsync) throughput, i.e. the most requests a second one
worker can audit.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time

import trio

from keeptrust.audit.config import AuditLoggerConfig
from keeptrust.audit.jsonl_sink import JsonlOptions, JsonlSink
from keeptrust.audit.sink import SinkEnv
from keeptrust.audit.writer import AuditWriter
from keeptrust.secrets import Redactor


def sample_record(i: int) -> dict:
    return {
        "type": "request",
        "ts": "2026-11-26T13:00:00.000Z",
        "request_id": f"req_{i:024d}",
        "role": "developer",
        "key_id": "key_0123456789abcdef",
        "target": "hf-llama-8b",
        "model": "meta-llama/Meta-Llama-3.1-8B-Instruct",
        "endpoint": "/v1/chat/completions",
        "stream": False,
        "status": 200,
        "latency_ms": 12.5,
        "usage": {"prompt_tokens": 12, "completion_tokens": 30, "total_tokens": 42},
        "upstream_attempts": 1,
        "decisions": [
            {
                "policy": "pii-detector",
                "phase": "request",
                "action": "modify",
                "reason": "redacted",
                "details": {"EMAIL_ADDRESS": 1},
            }
        ],
    }


async def measure(count: int, directory: str, fsync: str = "batch") -> float:
    config = AuditLoggerConfig(directory=directory, fsync=fsync)
    redactor = Redactor(["sk-test-0123456789"])
    env = SinkEnv(audit=config, logger=logging.getLogger("bench"), environ={}, redact=redactor)
    writer = AuditWriter(JsonlSink(JsonlOptions(), env), env, {"name": "bench", "version": "0"})
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        started, cpu = time.perf_counter(), time.process_time()
        for i in range(count):
            await writer.submit(sample_record(i))
        await writer.aclose()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    # CPU time per record is the stable figure on a busy machine; records/s also includes fsync waits.
    print(
        f"fsync={fsync}: {count} records in {elapsed:.2f}s = {count / elapsed:,.0f} records/s, "
        f"{cpu / count * 1e6:.1f} us CPU per record ({writer.batches} batches, "
        f"{count / writer.batches:.0f} records/batch)"
    )
    return count / elapsed


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    with tempfile.TemporaryDirectory(dir=sys.argv[2] if len(sys.argv) > 2 else None) as tmp:
        for policy in ("batch", "interval", "every_record"):
            trio.run(measure, n if policy != "every_record" else min(n, 2000), f"{tmp}/{policy}", policy)

"""Records a second each audit sink sustains, in one run: jsonl, sqlite and postgres side by side.

    eval "$(scripts/test-services)"     # PostgreSQL on loopback (KEEPTRUST_TEST_POSTGRES_DSN)
    .venv/bin/python benchmarks/audit_sinks.py [RECORDS]

The producers enqueue as fast as they can, so each figure is the writer task's ceiling (seal, hash,
scrub, write, commit) with that sink: the most requests a second one gateway process can audit.
fsync: batch for every sink (PostgreSQL: a durable commit per batch). The ratios between sinks are
the figure to quote; absolute numbers depend on the machine and its load.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core" / "tests" / "audit"))

from writer_throughput import sample_record

from keeptrust.audit.config import AuditLoggerConfig
from keeptrust.audit.jsonl_sink import JsonlOptions, JsonlSink
from keeptrust.audit.sink import SinkEnv
from keeptrust.audit.sqlite_sink import SqliteOptions, SqliteSink
from keeptrust.audit.writer import AuditWriter
from keeptrust.secrets import Redactor


async def measure(name: str, make_sink: Any, config: AuditLoggerConfig, count: int) -> float:
    env = SinkEnv(audit=config, logger=logging.getLogger("bench"), environ=dict(os.environ), redact=Redactor())
    writer = AuditWriter(make_sink(env), env, {"name": "bench", "version": "0"})
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        started = time.perf_counter()
        for i in range(count):
            await writer.submit(sample_record(i))
        await writer.aclose()
        elapsed = time.perf_counter() - started
    rate = count / elapsed
    print(f"| {name} | {count} | {elapsed:.2f} s | {rate:,.0f} | {count / writer.batches:.0f} |")
    return rate


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    dsn = os.environ.get("KEEPTRUST_TEST_POSTGRES_DSN")
    print("| sink | records | time | records/s | records/batch |\n|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        config = AuditLoggerConfig(directory=tmp, fsync="batch")
        trio.run(measure, "jsonl", lambda env: JsonlSink(JsonlOptions(), env), config, count)
        trio.run(measure, "sqlite", lambda env: SqliteSink(SqliteOptions(), env), config, count)
        if dsn:
            from keeptrust_postgres.sink import PostgresOptions, PostgresSink

            schema = "kt_bench_" + secrets.token_hex(4)
            options = PostgresOptions(dsn=dsn, schema=schema)
            try:
                trio.run(measure, "postgres", lambda env: PostgresSink(options, env), config, count)
            finally:
                import psycopg
                from psycopg import sql

                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        else:
            print("(postgres skipped: set KEEPTRUST_TEST_POSTGRES_DSN, e.g. with scripts/test-services)")


if __name__ == "__main__":
    main()

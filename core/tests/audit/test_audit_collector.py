"""Sink ``api``: a real loopback collector that is down for a while, then comes back."""

from __future__ import annotations

import itertools
import time
from typing import Any

import orjson

from keeptrust.testing import AuditCollector, BackgroundServer

from .conftest import audit_config, free_port, kt

COLLECTOR_KEY = "collector-key-MARKER-93ad1e"

def wait_for(predicate: Any, what: str) -> None:
    deadline = time.monotonic() + 60
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def ask(gw, request_ids: list[str]) -> None:
    client = gw.client()
    for request_id in request_ids:
        client.chat.completions.create(
            model="fake/model",
            messages=[{"role": "user", "content": request_id}],
            extra_headers={"x-request-id": request_id},
        )


def test_a_collector_that_was_down_receives_every_record_once_and_in_order(upstream, gateway_process, tmp_path):
    port = free_port()
    audit_dir = tmp_path / "audit"
    config = audit_config(
        upstream.url,
        audit_dir,
        destination="api",
        endpoint=f"http://127.0.0.1:{port}/ingest",
        secret_key_ref={"env": "COLLECTOR_KEY"},
        include_request=True,
        sink={"retry_initial_ms": 20, "retry_max_ms": 200, "drain_timeout_seconds": 0.5},
    )
    env = {"COLLECTOR_KEY": COLLECTOR_KEY}
    # The collector is down through a whole gateway run and the start of the next one.
    first = gateway_process(config, env=env)
    before_restart = [f"down-{i}" for i in range(20)]
    ask(first, before_restart)
    assert first.stop() == 0
    assert "audit collector" in first.log and "records stay spooled" in first.log
    gw = gateway_process(config, env=env)
    after_restart = [f"down-again-{i}" for i in range(10)]
    ask(gw, after_restart)

    collector = AuditCollector()
    server = BackgroundServer(collector, port=port).start()
    try:
        wait_for(lambda: "down-again-9" in {r.get("request_id") for r in collector.records}, "the spooled records")
        up = [f"up-{i}" for i in range(10)]
        ask(gw, up)
        wait_for(lambda: "up-9" in {r.get("request_id") for r in collector.records}, "the live records")
        assert gw.stop() == 0
    finally:
        server.stop()

    records = collector.records
    assert [r["seq"] for r in records] == list(range(len(records)))  # every record once, in chain order
    assert [r["request_id"] for r in records if r["type"] == "request"] == before_restart + after_restart + up
    assert [r["type"] for r in records if r["type"] not in ("request", "access")] == ["start", "start"]
    for previous, record in itertools.pairwise(records):
        assert record["prev_hash"] == previous["hash"]
    assert all(h["authorization"] == f"Bearer {COLLECTOR_KEY}" for h in collector.headers)
    assert all(h["idempotency-key"].startswith(records[0]["chain"] + ":") for h in collector.headers)
    spool = b"".join(p.read_bytes() for p in audit_dir.rglob("*") if p.is_file())
    assert b"MARKER" not in spool and b"MARKER" not in orjson.dumps(records)
    verified = kt("audit", "verify", str(audit_dir))
    assert verified.returncode == 0, verified.stdout

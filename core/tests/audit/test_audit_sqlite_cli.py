"""Sink ``sqlite`` and the ``kt audit tail|query|verify`` commands that read it (and JSONL)."""

from __future__ import annotations

import json
import sqlite3

from .conftest import audit_config, kt


def test_sqlite_sink_is_queryable_and_verifiable(upstream, gateway_process, tmp_path):
    audit_dir = tmp_path / "audit"
    gw = gateway_process(audit_config(upstream.url, audit_dir, destination="sqlite", log_all_access=True))
    client = gw.client()
    for i in range(6):
        client.chat.completions.create(
            model="fake/model",
            messages=[{"role": "user", "content": f"q{i}"}],
            extra_headers={"x-request-id": f"sq-{i}"},
        )
    client.models.list(extra_headers={"x-request-id": "sq-models"})
    assert gw.stop() == 0
    database = audit_dir / "audit.sqlite3"

    tail = kt("audit", "tail", str(database), "-n", "3")
    assert tail.returncode == 0, tail.stderr
    lines = tail.stdout.splitlines()
    assert len(lines) == 3 and "id=sq-models" in lines[-1] and "id=sq-5" in lines[-2]

    found = kt("audit", "query", str(audit_dir), "--request-id", "sq-2")
    records = [json.loads(line) for line in found.stdout.splitlines()]
    assert [(r["request_id"], r["status"], r["model"]) for r in records] == [("sq-2", 200, "fake/model")]
    access = kt("audit", "query", str(database), "--type", "access", "--summary")
    assert access.stdout.count("access") == 1 and "/v1/models" in access.stdout

    verified = kt("audit", "verify", str(database))
    assert verified.returncode == 0, verified.stdout
    assert "OK: 1 chain(s), 8 record(s) verified" in verified.stdout

    db = sqlite3.connect(database)
    try:
        # The table refuses updates; someone who drops the guard is still caught by the chain.
        try:
            db.execute("UPDATE audit_records SET status = 500 WHERE request_id = 'sq-2'")
            raise AssertionError("an update went through")
        except sqlite3.DatabaseError as exc:
            assert "append-only" in str(exc)
        db.execute("DROP TRIGGER audit_records_append_only")
        db.execute(
            "UPDATE audit_records SET record = replace(record, '\"status\":200', '\"status\":500') "
            "WHERE request_id = 'sq-2'"
        )
        db.commit()
    finally:
        db.close()
    broken = kt("audit", "verify", str(audit_dir))
    assert broken.returncode == 1
    assert "row (seq 3): edited — the record's hash does not match its content" in broken.stdout


def test_tail_and_query_read_jsonl_chains(upstream, gateway_process, tmp_path):
    audit_dir = tmp_path / "audit"
    gw = gateway_process(audit_config(upstream.url, audit_dir))
    client = gw.client()
    for i in range(4):
        client.chat.completions.create(
            model="fake/model", messages=[{"role": "user", "content": "x"}], extra_headers={"x-request-id": f"j-{i}"}
        )
    assert gw.stop() == 0
    tail = kt("audit", "tail", str(audit_dir), "-n", "2", "--type", "request", "--json")
    assert [json.loads(line)["request_id"] for line in tail.stdout.splitlines()] == ["j-2", "j-3"]
    query = kt("audit", "query", str(audit_dir), "--status", "200", "--limit", "1")
    assert json.loads(query.stdout)["request_id"] == "j-0"

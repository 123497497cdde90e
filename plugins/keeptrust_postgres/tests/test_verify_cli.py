"""`kt audit verify|query|tail|prune postgresql://...` on logs written by a real gateway, and every
kind of tampering someone with the gateway's database role could try, named at its record."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg import sql

from keeptrust.testing import openai_target

KT = str(Path(sys.executable).with_name("kt"))
ENV = {"FAKE_KEY": "sk-test-upstream-key-000000", "KEEPTRUST_LOAD_PLUGINS": "postgres"}
SIGNING = "kt-signing-key-for-tests-0123456789abcdef"


def _kt(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KEEPTRUST_LOAD_PLUGINS": "postgres", "AUDIT_SIGNING": SIGNING}
    return subprocess.run([KT, "audit", *args], capture_output=True, text=True, env=env, timeout=60)


@pytest.fixture
def written(gateway_factory, fake_upstream, postgres_dsn, pg_schema):
    """A log of six requests (one refused) written by a gateway, then the gateway stopped."""
    config = {
        "pack": {"name": "pg", "version": "1.0.0"},
        "providers": {"targets": [openai_target(fake_upstream.url, secret_key_ref={"env": "FAKE_KEY"})]},
        "policies": {
            "chain": ["audit-logger"],
            "policy": {
                "audit-logger": {
                    "destination": "postgres",
                    "sink": {"dsn_ref": {"env": "AUDIT_DSN"}, "schema": pg_schema},
                    "signing_key_ref": {"env": "AUDIT_SIGNING"},
                    "include_request": True,
                    "log_all_access": True,
                }
            },
        },
    }
    gw = gateway_factory(config, environ={**ENV, "AUDIT_DSN": postgres_dsn, "AUDIT_SIGNING": SIGNING})
    for i in range(5):
        body = {"model": "fake/model", "messages": [{"role": "user", "content": f"hello {i}"}]}
        assert httpx.post(gw.base_url + "/chat/completions", json=body).status_code == 200
    assert httpx.post(gw.base_url + "/chat/completions", json={"model": "nope"}).status_code == 400
    gw.stop()
    return f"{postgres_dsn}#{pg_schema}"


def _sql(location: str, statement: str) -> None:
    dsn, schema = location.split("#")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        # The gateway's role owns the tables, so it can switch the guards off: verification must not
        # depend on them.
        for table in ("audit_records", "audit_heads", "audit_anchors"):
            conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        conn.execute(statement)


def test_a_written_log_verifies_with_its_key(written):
    result = _kt("verify", written, "--key-env", "AUDIT_SIGNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK: 1 chain(s), 7 record(s) verified" in result.stdout
    assert "head signed by" in result.stdout
    assert "keeptrust:keeptrust@" not in result.stdout  # the password never shows


@pytest.mark.parametrize(
    "tamper, problem",
    [
        (
            "UPDATE audit_records SET record = replace(record, 'hello 2', 'hullo 2') WHERE seq = 3",
            "row (seq 3): edited — the record's hash does not match",
        ),
        ("UPDATE audit_records SET status = 200 WHERE status = 400", "column status is 200"),
        ("DELETE FROM audit_records WHERE seq >= 5", "truncated"),
        ("DELETE FROM audit_records WHERE seq = 2", "seq 3"),
        ("DELETE FROM audit_heads", "missing"),
    ],
)
def test_tampering_is_named_at_its_record(written, tamper, problem):
    _sql(written, tamper)
    result = _kt("verify", written, "--key-env", "AUDIT_SIGNING")
    assert result.returncode == 1, result.stdout
    assert problem in result.stdout, result.stdout


def test_a_consistent_rewrite_without_the_key_is_caught(written):
    # Re-signing the head needs the key; a head rewritten by someone without it fails.
    _sql(written, "UPDATE audit_heads SET record = replace(record, '\"sig\"', '\"gis\"')")
    result = _kt("verify", written, "--key-env", "AUDIT_SIGNING")
    assert result.returncode == 1 and "audit_heads row" in result.stdout


def test_query_and_tail_read_the_database(written):
    refused = _kt("query", written, "--status", "400")
    records = [json.loads(line) for line in refused.stdout.splitlines()]
    assert [r["status"] for r in records] == [400]
    tail = _kt("tail", written, "-n", "2", "--json")
    assert [json.loads(line)["seq"] for line in tail.stdout.splitlines()] == [5, 6]


def test_retention_leaves_an_anchor_that_verifies(written):
    pruned = _kt("prune", written, "--retention-days", "0", "--key-env", "AUDIT_SIGNING")
    assert pruned.returncode == 0 and "pruned 7 record(s)" in pruned.stdout, pruned.stdout + pruned.stderr
    result = _kt("verify", written, "--key-env", "AUDIT_SIGNING")
    assert result.returncode == 0, result.stdout
    assert "pruned by retention" in result.stdout


def test_an_unknown_scheme_is_a_clear_error():
    result = _kt("verify", "mysql://localhost/db")
    assert result.returncode == 2
    assert "no installed audit sink reads mysql:// locations (readable: postgres://, postgresql://)" in result.stderr

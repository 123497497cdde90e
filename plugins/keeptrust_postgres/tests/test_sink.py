"""The postgres sink against a real PostgreSQL: records and heads commit together, the guards refuse
edits, retention leaves an anchor."""

from __future__ import annotations

import httpx
import psycopg
import pytest
from psycopg import sql

from keeptrust.testing import openai_target

ENV = {"FAKE_KEY": "sk-test-upstream-key-000000", "KEEPTRUST_LOAD_PLUGINS": "postgres"}


def _config(upstream_url: str, schema: str, **audit) -> dict:
    return {
        "pack": {"name": "pg", "version": "1.0.0"},
        "providers": {"targets": [openai_target(upstream_url, secret_key_ref={"env": "FAKE_KEY"})]},
        "policies": {
            "chain": ["audit-logger"],
            "policy": {
                "audit-logger": {
                    "destination": "postgres",
                    "sink": {"dsn_ref": {"env": "AUDIT_DSN"}, "schema": schema},
                    "include_request": True,
                    **audit,
                }
            },
        },
    }


def _rows(dsn: str, schema: str, query: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        return conn.execute(query).fetchall()


def test_every_request_is_a_row_and_the_head_follows(gateway_factory, fake_upstream, postgres_dsn, pg_schema):
    gw = gateway_factory(_config(fake_upstream.url, pg_schema), environ={**ENV, "AUDIT_DSN": postgres_dsn})
    for i in range(5):
        r = httpx.post(
            gw.base_url + "/chat/completions",
            json={"model": "fake/model", "messages": [{"role": "user", "content": f"hello {i}"}]},
        )
        assert r.status_code == 200
    gw.stop()
    rows = _rows(postgres_dsn, pg_schema, "SELECT chain, seq, type, status FROM audit_records ORDER BY seq")
    requests = [row for row in rows if row[2] == "request"]
    assert [row[3] for row in requests] == [200] * 5
    assert [row[1] for row in rows] == list(range(len(rows)))
    heads = _rows(postgres_dsn, pg_schema, "SELECT chain, seq FROM audit_heads")
    assert heads == [(rows[0][0], rows[-1][1])]


def test_the_guards_refuse_edits_deletes_and_truncation(gateway_factory, fake_upstream, postgres_dsn, pg_schema):
    gw = gateway_factory(_config(fake_upstream.url, pg_schema), environ={**ENV, "AUDIT_DSN": postgres_dsn})
    body = {"model": "fake/model", "messages": [{"role": "user", "content": "x"}]}
    assert httpx.post(gw.base_url + "/chat/completions", json=body).status_code == 200
    gw.stop()
    for statement, message in (
        ("UPDATE audit_records SET status = 500", "append-only"),
        ("DELETE FROM audit_records", "behind an anchor"),
        ("TRUNCATE audit_records", "never truncated"),
        ("DELETE FROM audit_heads", "never deleted"),
        ("UPDATE audit_heads SET seq = -5", "only moves forward"),
    ):
        with pytest.raises(psycopg.errors.RaiseException, match=message):
            _rows(postgres_dsn, pg_schema, statement + " RETURNING 1" if "TRUNCATE" not in statement else statement)

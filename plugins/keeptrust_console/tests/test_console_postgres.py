"""The console over a PostgreSQL log (keeptrust-postgres) written by a real gateway run."""

from __future__ import annotations

import httpx

from .conftest import ANSWERED, BLOCKED, serve_console, write_gateway_log


def test_postgres_log_overview_records_detail_and_tamper(postgres_location, tmp_path):
    import psycopg
    from psycopg import sql

    dsn, schema = postgres_location.split("#")
    write_gateway_log(
        tmp_path / "unused",
        environ={"AUDIT_DSN": dsn},
        plugins="postgres",
        destination="postgres",
        sink={"dsn_ref": {"env": "AUDIT_DSN"}, "schema": schema},
    )
    server = serve_console(postgres_location)
    try:
        text = httpx.get(server.url + "/").text
        assert "VERIFIED: 1 chain(s)" in text
        assert f"<strong id=total>{ANSWERED + BLOCKED + 2}</strong>" in text
        assert "keeptrust:keeptrust@" not in text and ":keeptrust@" not in text  # no password shown
        page = httpx.get(server.url + "/records", params={"outcome": "blocked"}).text
        assert f"<span id=matching>{BLOCKED}</span>" in page
        link = page.split('href="/record/')[1].split('"')[0]
        assert "forbidden term" in httpx.get(server.url + "/record/" + link).text

        # Someone with the gateway's database role edits one record; the triggers must be bypassed
        # first, as such an attacker would.
        with psycopg.connect(dsn, autocommit=True) as conn:
            table = sql.Identifier(schema, "audit_records")
            seq = conn.execute(sql.SQL("SELECT seq FROM {} WHERE request_id = 'ok-3'").format(table)).fetchone()[0]
            conn.execute(sql.SQL("ALTER TABLE {} DISABLE TRIGGER USER").format(table))
            conn.execute(
                sql.SQL("UPDATE {} SET record = replace(record, '\"ok-3\"', '\"ok-9\"') WHERE seq = %s").format(table),
                (seq,),
            )
        server.app._verified = None  # do not wait for the verification cache to expire
        text = httpx.get(server.url + "/").text
        assert "BROKEN: 1 of 1 chain(s)" in text and f"seq {seq}" in text, text
    finally:
        server.stop()

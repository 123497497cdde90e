"""The tables, their guards and their migrations.

Records are kept as the canonical JSON text the hash was computed over (``TEXT``, not ``JSONB``:
JSONB re-orders keys and re-spells numbers, so the stored bytes would no longer be the hashed ones).
A few columns are copied out for queries; ``kt audit verify`` checks them against the hashed record.

Triggers refuse to update a record, to delete one that no retention anchor covers, to touch an
anchor, to move a head backwards or delete it, and to ``TRUNCATE`` any of the three tables. They stop
mistakes and a gateway's own role; a superuser can drop them, which is why verification recomputes
every hash and (with a key) checks the signed heads.

Migrations are numbered and applied in one transaction under an advisory lock, so gateways starting
together migrate once. ``keeptrust_audit_schema`` records the version reached.
"""

from __future__ import annotations

from typing import Any

# pg_advisory_xact_lock key: the bytes "kt-audit" read as a big-endian signed 64-bit integer.
LOCK_KEY = int.from_bytes(b"kt-audit", "big", signed=True)

MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
CREATE TABLE IF NOT EXISTS audit_records (
    chain TEXT NOT NULL, seq BIGINT NOT NULL, ts TEXT, type TEXT, request_id TEXT, status INTEGER,
    model TEXT, target TEXT, role TEXT, endpoint TEXT, record TEXT NOT NULL,
    PRIMARY KEY (chain, seq)
);
CREATE INDEX IF NOT EXISTS audit_records_ts ON audit_records (ts);
CREATE INDEX IF NOT EXISTS audit_records_request_id ON audit_records (request_id);
CREATE TABLE IF NOT EXISTS audit_anchors (
    chain TEXT NOT NULL, pruned_through_seq BIGINT NOT NULL, record TEXT NOT NULL,
    PRIMARY KEY (chain, pruned_through_seq)
);
CREATE TABLE IF NOT EXISTS audit_heads (chain TEXT PRIMARY KEY, seq BIGINT NOT NULL, record TEXT NOT NULL);

CREATE OR REPLACE FUNCTION keeptrust_audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'keeptrust audit: %', TG_ARGV[0]; END $$;

CREATE OR REPLACE FUNCTION keeptrust_audit_delete_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.seq > COALESCE(
        (SELECT MAX(pruned_through_seq) FROM audit_anchors WHERE chain = OLD.chain), -1) THEN
        RAISE EXCEPTION 'keeptrust audit: records are deleted only by retention, behind an anchor';
    END IF;
    RETURN OLD;
END $$;

CREATE OR REPLACE FUNCTION keeptrust_audit_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.seq < OLD.seq THEN RAISE EXCEPTION 'keeptrust audit: a head only moves forward'; END IF;
    RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS audit_records_append_only ON audit_records;
CREATE TRIGGER audit_records_append_only BEFORE UPDATE ON audit_records
    FOR EACH ROW EXECUTE FUNCTION keeptrust_audit_refuse('records are append-only');
DROP TRIGGER IF EXISTS audit_records_no_delete ON audit_records;
CREATE TRIGGER audit_records_no_delete BEFORE DELETE ON audit_records
    FOR EACH ROW EXECUTE FUNCTION keeptrust_audit_delete_record();
DROP TRIGGER IF EXISTS audit_anchors_append_only ON audit_anchors;
CREATE TRIGGER audit_anchors_append_only BEFORE UPDATE OR DELETE ON audit_anchors
    FOR EACH ROW EXECUTE FUNCTION keeptrust_audit_refuse('anchors are append-only');
DROP TRIGGER IF EXISTS audit_heads_forward ON audit_heads;
CREATE TRIGGER audit_heads_forward BEFORE UPDATE ON audit_heads
    FOR EACH ROW EXECUTE FUNCTION keeptrust_audit_head_forward();
DROP TRIGGER IF EXISTS audit_heads_no_delete ON audit_heads;
CREATE TRIGGER audit_heads_no_delete BEFORE DELETE ON audit_heads
    FOR EACH ROW EXECUTE FUNCTION keeptrust_audit_refuse('heads are never deleted');
DROP TRIGGER IF EXISTS audit_records_no_truncate ON audit_records;
CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records
    FOR EACH STATEMENT EXECUTE FUNCTION keeptrust_audit_refuse('records are never truncated');
DROP TRIGGER IF EXISTS audit_anchors_no_truncate ON audit_anchors;
CREATE TRIGGER audit_anchors_no_truncate BEFORE TRUNCATE ON audit_anchors
    FOR EACH STATEMENT EXECUTE FUNCTION keeptrust_audit_refuse('anchors are never truncated');
DROP TRIGGER IF EXISTS audit_heads_no_truncate ON audit_heads;
CREATE TRIGGER audit_heads_no_truncate BEFORE TRUNCATE ON audit_heads
    FOR EACH STATEMENT EXECUTE FUNCTION keeptrust_audit_refuse('heads are never truncated');
""",
    ),
]

LATEST = MIGRATIONS[-1][0]


def migrate(conn: Any, schema: str) -> int:
    """Bring ``schema`` to the latest version; returns the version it was at. Safe to run concurrently."""
    from psycopg import sql

    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
        conn.execute("CREATE TABLE IF NOT EXISTS keeptrust_audit_schema (version INTEGER NOT NULL)")
        row = conn.execute("SELECT MAX(version) FROM keeptrust_audit_schema").fetchone()
        current = row[0] or 0
        for version, script in MIGRATIONS:
            if version > current:
                conn.execute(script)
                conn.execute("INSERT INTO keeptrust_audit_schema (version) VALUES (%s)", (version,))
    return current

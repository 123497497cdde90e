"""Sink ``sqlite``: the audit log in one embedded, queryable SQLite database.

Each record is a row keyed by ``(chain, seq)``; ``record`` holds its canonical JSON (hash included),
and a few columns are copied out for queries (``kt audit tail|query``). WAL mode; ``synchronous=FULL``
for ``fsync: batch|every_record`` (a committed transaction survives power loss), ``NORMAL`` for
``interval``. One transaction per batch (per record with ``every_record``), which also moves the
chain's durable head (``audit_heads``, signed with ``signing_key_ref``). SQLite never leaves a torn
row, so there is nothing to recover after a crash; each writer process starts its own chain.
Triggers refuse to update a record, to delete one that no retention anchor covers, to touch an
anchor, and to move a head backwards: they stop mistakes, not an attacker who can write the file
(who can drop them) — ``kt audit verify`` is what detects tampering. Retention deletes the oldest
rows of a chain behind an anchor row with the hash of the last pruned record.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import attrs
import trio

from keeptrust.audit.hashchain import GENESIS, ChainState
from keeptrust.audit.segments import FILE_MODE, make_private_dir, new_chain_id
from keeptrust.audit.signing import SigningKey
from keeptrust.audit.sink import OpenedChain, SinkEnv

DEFAULT_FILE = "audit.sqlite3"

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_records (
    chain TEXT NOT NULL, seq INTEGER NOT NULL, ts TEXT, type TEXT, request_id TEXT, status INTEGER,
    model TEXT, target TEXT, role TEXT, endpoint TEXT, record TEXT NOT NULL,
    PRIMARY KEY (chain, seq)
);
CREATE INDEX IF NOT EXISTS audit_records_ts ON audit_records (ts);
CREATE INDEX IF NOT EXISTS audit_records_request_id ON audit_records (request_id);
CREATE TABLE IF NOT EXISTS audit_anchors (
    chain TEXT NOT NULL, pruned_through_seq INTEGER NOT NULL, record TEXT NOT NULL,
    PRIMARY KEY (chain, pruned_through_seq)
);
CREATE TRIGGER IF NOT EXISTS audit_records_append_only BEFORE UPDATE ON audit_records
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_records_no_delete BEFORE DELETE ON audit_records
WHEN OLD.seq > COALESCE((SELECT MAX(pruned_through_seq) FROM audit_anchors WHERE chain = OLD.chain), -1)
BEGIN SELECT RAISE(ABORT, 'audit records are deleted only by retention, behind an anchor'); END;
CREATE TRIGGER IF NOT EXISTS audit_anchors_no_update BEFORE UPDATE ON audit_anchors
BEGIN SELECT RAISE(ABORT, 'audit anchors are append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_anchors_no_delete BEFORE DELETE ON audit_anchors
BEGIN SELECT RAISE(ABORT, 'audit anchors are append-only'); END;
CREATE TABLE IF NOT EXISTS audit_heads (chain TEXT PRIMARY KEY, seq INTEGER NOT NULL, record TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS audit_heads_forward BEFORE UPDATE ON audit_heads WHEN NEW.seq < OLD.seq
BEGIN SELECT RAISE(ABORT, 'an audit head only moves forward'); END;
CREATE TRIGGER IF NOT EXISTS audit_heads_no_delete BEFORE DELETE ON audit_heads
BEGIN SELECT RAISE(ABORT, 'audit heads are never deleted'); END;
"""


@attrs.frozen(kw_only=True)
class SqliteOptions:
    # The database file; default ``<directory>/audit.sqlite3``.
    path: str | None = None


def connect(path: Path, synchronous: str = "FULL") -> sqlite3.Connection:
    # The connection is used from trio worker threads, one call at a time (a CapacityLimiter of 1).
    make_private_dir(path.parent)
    if not path.exists():
        # Created owner+group only, whatever the umask; SQLite gives its -wal and -shm files the same mode.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30.0)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={synchronous}")
    db.executescript(SCHEMA)
    return db


class SqliteSink:
    name = "sqlite"
    config_class = SqliteOptions

    def __init__(self, config: SqliteOptions, env: SinkEnv) -> None:
        self.audit = env.audit
        self.path = Path(config.path) if config.path else Path(env.audit.directory) / DEFAULT_FILE
        self.db: sqlite3.Connection | None = None
        self.signer = env.signer
        self.chain = new_chain_id()
        self._limiter = trio.CapacityLimiter(1)

    async def _run(self, fn: Any, *args: Any) -> Any:
        return await trio.to_thread.run_sync(fn, *args, limiter=self._limiter)

    async def open(self) -> OpenedChain:
        def open_db() -> None:
            self.db = connect(self.path, "NORMAL" if self.audit.fsync == "interval" else "FULL")
            # The chain has a durable head from its first moment: a missing head is always damage.
            from keeptrust.audit.tables import SqliteDB, set_head

            set_head(
                SqliteDB(self.db, str(self.path)),
                self.chain,
                -1,
                GENESIS if self.audit.immutable else None,
                self.signer,
            )

        await self._run(open_db)
        return OpenedChain(ChainState(self.chain))

    async def write(self, records: list[dict[str, Any]]) -> None:
        await self._run(self._insert, records)

    def _insert(self, records: list[dict[str, Any]]) -> None:
        from keeptrust.audit.tables import SqliteDB, append_records

        assert self.db is not None, "write before open"
        db = SqliteDB(self.db, str(self.path))
        append_records(db, self.chain, records, self.signer, per_record=self.audit.fsync == "every_record")

    async def prune(self, now: float) -> int:
        days = self.audit.retention_days
        if days is None:
            return 0
        return await self._run(prune_database, self.db, now - days * 86400, self.signer)

    async def aclose(self) -> None:
        db, self.db = self.db, None
        if db is not None:
            await self._run(db.close)


def prune_database(db: sqlite3.Connection, cutoff: float, signer: SigningKey | None = None) -> int:
    """Apply retention to a database opened with ``connect`` (``keeptrust.audit.tables.prune_tables``)."""
    from keeptrust.audit.tables import SqliteDB, prune_tables

    return prune_tables(SqliteDB(db, "sqlite"), cutoff, signer)

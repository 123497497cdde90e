"""Audit logs kept in SQL tables: SQLite in the core, PostgreSQL (keeptrust-postgres) and others in
plugins. One verification, one query and one retention over a small connection adapter, so every
database gets the same guarantees. Public module: plugins import it; the names in ``__all__`` are
its API.

The tables (each database's sink creates them): ``audit_records`` (``chain``, ``seq``, the query
columns of ``COLUMNS`` and ``record``, the canonical JSON the hash covers), ``audit_anchors``
(``chain``, ``pruned_through_seq``, ``record``) and ``audit_heads`` (``chain``, ``seq``, ``record``).

A database plugs in with a :class:`TableDB`: SQL is written here with ``?`` placeholders, and an
adapter for another paramstyle rewrites them (no statement here contains a literal ``?``).
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

import orjson

from keeptrust.audit.hashchain import canonical, record_hash
from keeptrust.audit.record import COLUMNS, rfc3339
from keeptrust.audit.signing import SigningKey
from keeptrust.audit.verify import (
    Broken,
    ChainChecker,
    ChainReport,
    Expectations,
    check_anchors,
    check_head,
)

__all__ = [
    "COLUMNS",
    "Broken",
    "ChainReport",
    "Expectations",
    "SqliteDB",
    "TableDB",
    "append_records",
    "head_row",
    "set_head",
    "prune_tables",
    "select_records",
    "verify_tables",
]


class TableDB(Protocol):
    """A connection to a database holding the audit tables.

    ``where`` names it in reports (a path, or a URL without its password)."""

    where: str

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run ``sql`` (``?`` placeholders) and return every row."""
        ...

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run ``sql`` once per row of ``rows`` (batched where the driver can)."""
        ...

    def transaction(self) -> AbstractContextManager[None]:
        """A block that commits at its end, or rolls back if it raises."""
        ...

    def close(self) -> None: ...


class SqliteDB:
    """:class:`TableDB` over a ``sqlite3`` connection opened with ``isolation_level=None``."""

    def __init__(self, conn: sqlite3.Connection, where: str) -> None:
        self.conn = conn
        self.where = where

    @classmethod
    def read_only(cls, path: Path) -> SqliteDB:
        return cls(sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None), str(path))

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.conn.execute(sql, tuple(args)).fetchall()

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.conn.executemany(sql, rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


# ------------------------------------------------------------------------------------------ append
_INSERT = f"INSERT INTO audit_records ({', '.join(COLUMNS)}, record) VALUES ({', '.join('?' * (len(COLUMNS) + 1))})"
_UPSERT_HEAD = (
    "INSERT INTO audit_heads (chain, seq, record) VALUES (?, ?, ?) "
    "ON CONFLICT (chain) DO UPDATE SET seq = excluded.seq, record = excluded.record"
)


def head_row(chain: str, seq: int, digest: str | None, signer: SigningKey | None = None) -> tuple[str, int, str]:
    """The ``audit_heads`` row naming ``seq`` (and its hash) as the chain's durable end, signed if a key is set."""
    head: dict[str, Any] = {"chain": chain, "seq": seq, "hash": digest, "ts": time.time()}
    if signer is not None:
        signer.sign(head)
    return chain, seq, canonical(head).decode()


def set_head(db: TableDB, chain: str, seq: int, digest: str | None, signer: SigningKey | None = None) -> None:
    db.rows(_UPSERT_HEAD, head_row(chain, seq, digest, signer))


def append_records(
    db: TableDB,
    chain: str,
    records: list[dict[str, Any]],
    signer: SigningKey | None = None,
    *,
    per_record: bool = False,
) -> None:
    """Insert sealed records and move the chain's head to the last of them in the same transaction,
    so a committed head never names a record that is not there (one transaction per record with
    ``per_record``: ``fsync: every_record``)."""
    groups = [[r] for r in records] if per_record else [records]
    for group in groups:
        if not group:
            continue
        rows = [(*(r.get(c) for c in COLUMNS), canonical(r).decode()) for r in group]
        with db.transaction():
            db.many(_INSERT, rows)
            set_head(db, chain, group[-1]["seq"], group[-1].get("hash"), signer)


# ------------------------------------------------------------------------------------------ verify
def verify_tables(db: TableDB, expect: Expectations | None = None, *, has_heads: bool = True) -> list[ChainReport]:
    """Every chain in the tables, checked as ``kt audit verify`` checks a jsonl chain, plus: each
    row's key and query columns agree with the hashed record inside it."""
    expect = expect or Expectations()
    sources = ["SELECT chain FROM audit_records", "SELECT chain FROM audit_anchors"]
    if has_heads:
        sources.append("SELECT chain FROM audit_heads")
    chains = [c for (c,) in db.rows(" UNION ".join(sources) + " ORDER BY 1")]
    return [_verify_chain(db, chain, expect, has_heads) for chain in chains]


def _verify_chain(db: TableDB, chain: str, expect: Expectations, has_heads: bool) -> ChainReport:
    report = ChainReport(chain, f"{db.where}#{chain}", parts=1)
    try:
        head_rows = db.rows("SELECT seq, record FROM audit_heads WHERE chain = ?", (chain,)) if has_heads else []
        head_row = head_rows[0] if head_rows else None
        head = _row_json(head_row[1], "audit_heads row") if head_row else None
        if head_row is not None and head is not None and head.get("seq") != head_row[0]:
            raise Broken("audit_heads row: edited — its seq column does not match the signed head inside it")
        check_head(head, chain, expect, "audit_heads row", report)
        anchors = [
            _row_json(text, "audit_anchors row")
            for (text,) in db.rows(
                "SELECT record FROM audit_anchors WHERE chain = ? ORDER BY pruned_through_seq", (chain,)
            )
        ]
        anchor = check_anchors(anchors, expect, "audit_anchors row", report)
        checker = ChainChecker(report, expect, anchor, head, "audit_heads row")
        columns = ", ".join(COLUMNS)
        for row in db.rows(f"SELECT {columns}, record FROM audit_records WHERE chain = ? ORDER BY seq", (chain,)):
            seq = row[1]
            record = _row_json(row[-1], f"row seq {seq}")
            if not isinstance(record, dict) or record.get("seq") != seq or record.get("chain") != chain:
                raise Broken(f"row seq {seq}: edited — the row's key does not match the record inside it")
            checker.feed(record, "row")
            # Queries filter on these columns: a column that disagrees with the hashed record could
            # hide the row from `kt audit query`.
            for name, value in zip(COLUMNS[2:], row[2:-1], strict=True):
                if value != record.get(name):
                    raise Broken(
                        f"row seq {seq}: edited — column {name} is {value!r} but the hashed record says "
                        f"{record.get(name)!r}"
                    )
        checker.finish()
        if not expect.immutable:
            report.warnings.append("not hash-chained (immutable: false): only seq continuity was checked")
    except Broken as exc:
        report.problem = str(exc)
    return report


def _row_json(text: Any, where: str) -> Any:
    try:
        return orjson.loads(text)
    except (orjson.JSONDecodeError, TypeError):
        raise Broken(f"{where}: edited — not valid JSON") from None


# ------------------------------------------------------------------------------------------- query
def select_records(db: TableDB, flt: Any, limit: int | None = None, newest: bool = False) -> list[dict[str, Any]]:
    """Records matching ``flt`` (a ``keeptrust.audit.query.Filter``) in time order; with ``newest``
    the last ``limit`` of them. The filter runs in the database, on its indexed columns."""
    where, args = [], []
    for name, value in flt.columns().items():
        where.append(f"{name} = ?")
        args.append(value)
    if flt.since is not None:
        where.append("ts >= ?")
        args.append(flt.since)
    if flt.until is not None:
        where.append("ts < ?")
        args.append(flt.until)
    sql = "SELECT record FROM audit_records"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY ts DESC, seq DESC" if newest else " ORDER BY ts, seq"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    rows = [orjson.loads(text) for (text,) in db.rows(sql, args)]
    return rows[::-1] if newest else rows


# --------------------------------------------------------------------------------------- retention
def prune_tables(db: TableDB, cutoff: float, signer: SigningKey | None = None) -> int:
    """Delete, per chain, the oldest records whose ``ts`` is before ``cutoff``, behind an anchor row
    (hash of the last pruned record, SHA-256 over the pruned rows, linked to the previous anchor)."""
    limit = rfc3339(cutoff)
    pruned = 0
    for (chain,) in db.rows("SELECT DISTINCT chain FROM audit_records"):
        # The retained records must stay contiguous: stop at the first record that is young enough.
        first_kept = db.rows("SELECT MIN(seq) FROM audit_records WHERE chain = ? AND ts >= ?", (chain, limit))[0][0]
        if first_kept is None:
            first_kept = db.rows("SELECT MAX(seq) + 1 FROM audit_records WHERE chain = ?", (chain,))[0][0]
        through = first_kept - 1
        old = db.rows("SELECT record FROM audit_records WHERE chain = ? AND seq <= ? ORDER BY seq", (chain, through))
        if not old:
            continue
        digest = hashlib.sha256()
        for (text,) in old:
            digest.update(text.encode() + b"\n")
        last = orjson.loads(old[-1][0])
        previous = db.rows(
            "SELECT record FROM audit_anchors WHERE chain = ? ORDER BY pruned_through_seq DESC LIMIT 1", (chain,)
        )
        anchor: dict[str, Any] = {
            "type": "anchor",
            "chain": chain,
            "pruned_through_seq": through,
            "last_hash": last.get("hash"),
            "records": len(old),
            "first_seq": orjson.loads(old[0][0])["seq"],
            "sha256": digest.hexdigest(),
            "pruned_at": time.time(),
            "prev_anchor_hash": orjson.loads(previous[0][0]).get("hash") if previous else None,
        }
        anchor["hash"] = record_hash(anchor)
        if signer is not None:
            signer.sign(anchor)
        with db.transaction():
            db.rows(
                "INSERT INTO audit_anchors (chain, pruned_through_seq, record) VALUES (?, ?, ?)",
                (chain, through, canonical(anchor).decode()),
            )
            db.rows("DELETE FROM audit_records WHERE chain = ? AND seq <= ?", (chain, through))
        pruned += len(old)
    return pruned

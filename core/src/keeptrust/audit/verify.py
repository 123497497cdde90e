"""``kt audit verify``: prove a log's chains unbroken, or name the first broken record and why.

Checked for every chain: each line parses; ``seq`` runs 0, 1, 2, … with no gap (a gap is a
*deletion*, a step back is a *reordering*); each ``hash`` matches the record's content (else it was
*edited*); each ``prev_hash`` is the previous record's ``hash``; a chain that does not start at seq 0
links to its retention anchor; the log reaches the durable head in ``head.json`` (else it was
*truncated*). An unterminated last line of the newest segment is what a crash mid-write leaves: it is
reported as a warning (the gateway cuts it at its next start and writes a ``recovery`` record); an
unterminated line anywhere else is damage.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import attrs
import orjson

from keeptrust.audit.hashchain import GENESIS, record_hash
from keeptrust.audit.segments import ANCHOR_FILE, CHAIN_FILE, HEAD_FILE, chain_dirs, read_json, segments
from keeptrust.audit.sqlite_sink import DEFAULT_FILE

SQLITE_MAGIC = b"SQLite format 3\x00"


@attrs.define
class ChainReport:
    chain: str
    where: str
    records: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    parts: int = 0
    problem: str | None = None
    warnings: list[str] = attrs.Factory(list)
    notes: list[str] = attrs.Factory(list)

    @property
    def ok(self) -> bool:
        return self.problem is None


class _Broken(Exception):
    pass


class ChainChecker:
    """Feeds records in stored order; raises ``_Broken`` at the first one that breaks the chain."""

    def __init__(
        self, report: ChainReport, immutable: bool, anchor: dict[str, Any] | None, head: dict[str, Any] | None = None
    ) -> None:
        self.report = report
        self.immutable = immutable
        self.anchor = anchor
        self.head = head
        self.expected: int | None = None
        self.prev: str | None = None
        self.head_hash_seen: str | None = None
        self.gap: tuple[str, int] | None = None
        if anchor is not None:
            if anchor.get("hash") != record_hash(anchor):
                raise _Broken(f"{ANCHOR_FILE}: edited — the anchor's hash does not match its content")
            report.notes.append(
                f"records up to seq {anchor['pruned_through_seq']} were pruned by retention "
                f"(anchored by hash {str(anchor.get('last_hash'))[:16]}…)"
            )

    def feed(self, record: Any, where: str) -> None:
        if not isinstance(record, dict) or not isinstance(record.get("seq"), int):
            raise _Broken(f"{where}: edited — not an audit record (no integer seq)")
        seq = record["seq"]
        at = f"{where} (seq {seq})"
        if self.gap is not None:
            self._resolve_gap(seq)
        if self.expected is None:
            self._first(record, seq, at)
        elif seq < self.expected:
            raise _Broken(f"{at}: reordered — seq {seq} comes after seq {self.expected - 1}")
        elif seq > self.expected:
            # A gap is a deletion, unless the missing record turns up next: then records were swapped.
            self.gap = (at, seq)
            return
        if self.immutable:
            digest = record.get("hash")
            if digest != record_hash(record):
                raise _Broken(f"{at}: edited — the record's hash does not match its content")
            if self.expected is not None and record.get("prev_hash") != self.prev:
                raise _Broken(
                    f"{at}: edited — prev_hash is not the hash of seq {seq - 1} "
                    "(that record was rewritten, or this one was moved)"
                )
            self.prev = digest
        if record.get("type") == "recovery":
            rec = record.get("recovery") or {}
            self.report.notes.append(
                f"seq {seq}: recovered after a crash — {rec.get('truncated_bytes')} torn "
                f"byte(s) cut from {rec.get('segment')} (kept as {rec.get('fragment_file')})"
            )
        if record.get("type") == "drops":
            self.report.warnings.append(
                f"seq {seq}: {record.get('dropped')} record(s) dropped (on_full: drop_and_count)"
            )
        if self.head is not None and seq == self.head.get("seq"):
            self.head_hash_seen = record.get("hash")
        report = self.report
        if report.first_seq is None:
            report.first_seq = seq
        report.last_seq = seq
        report.records += 1
        self.expected = seq + 1

    def _first(self, record: dict[str, Any], seq: int, at: str) -> None:
        anchor = self.anchor
        if seq == 0 and anchor is None:
            if self.immutable and record.get("prev_hash") != GENESIS:
                raise _Broken(f"{at}: edited — the first record's prev_hash is not the genesis value")
            return
        if anchor is None:
            raise _Broken(
                f"{at}: deleted — the chain starts at seq {seq}; seqs 0-{seq - 1} are missing and no "
                "retention anchor covers them"
            )
        through = anchor["pruned_through_seq"]
        if seq != through + 1:
            raise _Broken(f"{at}: deleted — the anchor covers seqs up to {through}, but the log resumes at seq {seq}")
        if self.immutable and record.get("prev_hash") != anchor.get("last_hash"):
            raise _Broken(f"{at}: edited — prev_hash does not match the hash the retention anchor kept")
        self.prev = anchor.get("last_hash")

    def _resolve_gap(self, next_seq: int | None) -> None:
        assert self.gap is not None and self.expected is not None
        at, seq = self.gap
        if next_seq == self.expected:
            raise _Broken(f"{at}: reordered — seq {seq} is stored before seq {self.expected}")
        missing = f"seq {self.expected}" if seq == self.expected + 1 else f"seqs {self.expected}-{seq - 1}"
        raise _Broken(f"{at}: deleted — {missing} missing before this record")

    def finish(self) -> None:
        if self.gap is not None:
            self._resolve_gap(None)
        head = self.head
        if head is None:
            return
        head_seq = head.get("seq", -1)
        last = -1 if self.expected is None else self.expected - 1
        if head_seq > last:
            raise _Broken(f"truncated — {HEAD_FILE} says seq {head_seq} was durable, but the log ends at seq {last}")
        if self.immutable and self.head_hash_seen is not None and head.get("hash") != self.head_hash_seen:
            raise _Broken(f"seq {head_seq}: edited — its hash differs from the one {HEAD_FILE} recorded as durable")


def verify_chain_dir(chain_dir: Path) -> ChainReport:
    report = ChainReport(chain_dir.name, str(chain_dir))
    meta = read_json(chain_dir / CHAIN_FILE) or {}
    try:
        checker = ChainChecker(
            report,
            bool(meta.get("immutable", True)),
            read_json(chain_dir / ANCHOR_FILE),
            read_json(chain_dir / HEAD_FILE),
        )
        paths = segments(chain_dir)
        report.parts = len(paths)
        for i, path in enumerate(paths):
            data = path.read_bytes()
            lines = data.split(b"\n")
            torn = lines.pop()  # b"" when the file ends with a newline
            for lineno, line in enumerate(lines, 1):
                try:
                    record = orjson.loads(line)
                except orjson.JSONDecodeError:
                    raise _Broken(f"{path.name} line {lineno}: edited — not valid JSON") from None
                checker.feed(record, f"{path.name} line {lineno}")
            if torn:
                where = f"{path.name} line {len(lines) + 1}"
                if i != len(paths) - 1:
                    raise _Broken(f"{where}: truncated — unterminated line inside a closed segment")
                report.warnings.append(
                    f"{where}: torn last line ({len(torn)} bytes, no newline) — a crash mid-write; "
                    "the gateway cuts it and writes a recovery record at its next start"
                )
        checker.finish()
        if not meta.get("immutable", True):
            report.warnings.append("not hash-chained (immutable: false): only seq continuity was checked")
    except _Broken as exc:
        report.problem = str(exc)
    for leftover in sorted(chain_dir.glob("*.torn-*")):
        report.notes.append(f"torn fragment kept from a crash: {leftover.name}")
    return report


def verify_sqlite(path: Path) -> list[ChainReport]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        chains = [
            c for (c,) in db.execute("SELECT chain FROM audit_records UNION SELECT chain FROM audit_anchors ORDER BY 1")
        ]
        return [_verify_sqlite_chain(db, path, chain) for chain in chains]
    finally:
        db.close()


def _verify_sqlite_chain(db: sqlite3.Connection, path: Path, chain: str) -> ChainReport:
    report = ChainReport(chain, f"{path}#{chain}", parts=1)
    anchor_row = db.execute(
        "SELECT record FROM audit_anchors WHERE chain = ? ORDER BY pruned_through_seq DESC LIMIT 1", (chain,)
    ).fetchone()
    anchor = orjson.loads(anchor_row[0]) if anchor_row else None
    try:
        checker: ChainChecker | None = None
        for seq, text in db.execute("SELECT seq, record FROM audit_records WHERE chain = ? ORDER BY seq", (chain,)):
            try:
                record = orjson.loads(text)
            except orjson.JSONDecodeError:
                raise _Broken(f"row seq {seq}: edited — not valid JSON") from None
            if checker is None:
                checker = ChainChecker(report, "hash" in record, anchor)
            if record.get("seq") != seq or record.get("chain") != chain:
                raise _Broken(f"row seq {seq}: edited — the row's key does not match the record inside it")
            checker.feed(record, "row")
        if checker is not None:
            checker.finish()
    except _Broken as exc:
        report.problem = str(exc)
    return report


def is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(16) == SQLITE_MAGIC
    except OSError:
        return False


def find_logs(path: Path) -> Iterator[tuple[str, Path]]:
    """Every log under ``path``: ("sqlite", file) and ("chain", directory), api spools included."""
    if path.is_file():
        if is_sqlite(path):
            yield "sqlite", path
        elif path.parent.is_dir():
            yield "chain", path.parent
        return
    for chain_dir in chain_dirs(path):
        yield "chain", chain_dir
    if path.is_dir():
        if is_sqlite(path / DEFAULT_FILE):
            yield "sqlite", path / DEFAULT_FILE
        if (path / "spool").is_dir():
            yield from find_logs(path / "spool")


def verify_path(path: Path) -> list[ChainReport]:
    reports: list[ChainReport] = []
    for kind, where in find_logs(path):
        reports.extend(verify_sqlite(where) if kind == "sqlite" else [verify_chain_dir(where)])
    return reports


def summary_lines(reports: Iterable[ChainReport]) -> Iterator[str]:
    for r in reports:
        if r.ok:
            span = f" (seq {r.first_seq}-{r.last_seq})" if r.records else ""
            yield f"OK    {r.where}: {r.records} record(s){span}"
        else:
            yield f"FAIL  {r.where}: {r.problem}"
        for note in r.notes:
            yield f"      note: {note}"
        for warning in r.warnings:
            yield f"      warning: {warning}"

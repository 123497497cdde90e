"""The console's index: one in-memory SQLite table of the columns the pages filter, sort and count on,
with where each record lives (a file offset for jsonl chains; chain and seq for table logs).

Built once at start and refreshed incrementally (new bytes at the end of a segment, new seqs in a
table); a segment rewritten in place is indexed again. Pages query the index, then read whole records
from the log itself, so a detail view shows exactly what is stored.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs
import orjson

from keeptrust.audit.segments import segments
from keeptrust.audit.verify import ChainReport, Expectations, find_logs, verify_chain_dir, verify_sqlite
from keeptrust_console.outcomes import family, outcome

BATCH = 5000

SCHEMA = """
CREATE TABLE rec (
    id INTEGER PRIMARY KEY, chain TEXT, seq INTEGER, ts TEXT, t REAL, type TEXT, request_id TEXT,
    role TEXT, target TEXT, model TEXT, status INTEGER, latency_ms REAL, outcome TEXT, family TEXT,
    decisions TEXT, src INTEGER, off INTEGER, len INTEGER
);
CREATE TABLE decision (rec INTEGER, policy TEXT, action TEXT);
"""
# Created after the first load: building an index once is faster than keeping it up row by row.
INDEXES = """
CREATE INDEX rec_ts ON rec (ts, id);
CREATE INDEX rec_outcome ON rec (outcome, ts, id);
CREATE INDEX rec_family ON rec (family, ts, id);
CREATE INDEX rec_role ON rec (role, ts, id);
CREATE INDEX rec_target ON rec (target, ts, id);
CREATE INDEX rec_chain ON rec (chain, seq);
CREATE INDEX decision_policy ON decision (policy, rec);
CREATE INDEX decision_rec ON decision (rec, policy);
"""


_REC_COLUMNS = (
    "id, chain, seq, ts, t, type, request_id, role, target, model, status, latency_ms, outcome, family, "
    "decisions, src, off, len"
)


@attrs.define
class _Segment:
    """A jsonl segment as far as the index has read it."""

    number: int
    path: Path
    size: int = 0
    mtime_ns: int = 0


def _decision_summary(record: dict[str, Any]) -> str:
    parts = []
    for d in record.get("decisions") or ():
        if isinstance(d, dict):
            parts.append(f"{d.get('policy')}:{d.get('action')}")
    return " ".join(parts)


@attrs.define
class Totals:
    """The overview's counts, kept up to date as records are indexed (so the overview of a million
    records costs what the overview of ten does)."""

    total: int = 0
    first_ts: str | None = None
    last_ts: str | None = None
    outcomes: Counter[str] = attrs.Factory(Counter)
    targets: Counter[str | None] = attrs.Factory(Counter)
    roles: Counter[str | None] = attrs.Factory(Counter)
    decisions: Counter[tuple[str | None, str | None]] = attrs.Factory(Counter)
    minutes: Counter[tuple[int, str]] = attrs.Factory(Counter)  # (epoch minute, outcome family)
    hours: Counter[tuple[int, str]] = attrs.Factory(Counter)  # the same by hour, for long spans
    t_min: float | None = None
    t_max: float | None = None
    other_types: Counter[str] = attrs.Factory(Counter)

    def add(self, row: tuple[Any, ...], decisions: list[tuple[int, str | None, str | None]]) -> None:
        ts, t, kind, role, target, out, fam = row[3], row[4], row[5], row[7], row[8], row[12], row[13]
        for _, policy, action in decisions:
            self.decisions[(policy, action)] += 1
        if out is None:
            self.other_types[kind or "?"] += 1
            return
        self.total += 1
        if ts is not None:
            if self.first_ts is None or ts < self.first_ts:
                self.first_ts = ts
            if self.last_ts is None or ts > self.last_ts:
                self.last_ts = ts
        self.outcomes[out] += 1
        self.targets[target] += 1
        self.roles[role] += 1
        if t is not None:
            self.minutes[(int(t // 60), fam)] += 1
            self.hours[(int(t // 3600), fam)] += 1
            if self.t_min is None or t < self.t_min:
                self.t_min = t
            if self.t_max is None or t > self.t_max:
                self.t_max = t


class Source:
    """Where the log lives: a path (audit directory, chain directory, SQLite file) or a URL opened
    through ``keeptrust.audit.locations.open_table_log`` (``postgresql://...``)."""

    def __init__(self, location: str | Path, expect: Expectations | None = None) -> None:
        self.location = location
        self.expect = expect or Expectations()
        self.is_url = isinstance(location, str)

    def describe(self) -> str:
        if self.is_url:
            from urllib.parse import urlsplit, urlunsplit

            # Never show a password that came in the URL.
            parts = urlsplit(str(self.location))
            netloc = parts.hostname or ""
            if parts.username:
                netloc = f"{parts.username}@{netloc}"
            if parts.port:
                netloc += f":{parts.port}"
            return urlunsplit((parts.scheme, netloc, parts.path, "", parts.fragment))
        return str(self.location)

    @contextmanager
    def tables(self) -> Iterator[list[Any]]:
        """Every table log in the location (opened read-only, closed after)."""
        if self.is_url:
            from keeptrust.audit.locations import open_table_log

            with open_table_log(str(self.location)) as db:
                yield [db]
            return
        from keeptrust.audit.tables import SqliteDB

        dbs = [SqliteDB.read_only(where) for kind, where in find_logs(Path(self.location)) if kind == "sqlite"]
        try:
            yield dbs
        finally:
            for db in dbs:
                db.close()

    def chain_dirs(self) -> list[Path]:
        if self.is_url:
            return []
        return [where for kind, where in find_logs(Path(self.location)) if kind == "chain"]

    def verify(self) -> list[ChainReport]:
        if self.is_url:
            from keeptrust.audit.tables import verify_tables

            with self.tables() as dbs:
                return [r for db in dbs for r in verify_tables(db, self.expect)]
        reports: list[ChainReport] = []
        for kind, where in find_logs(Path(self.location)):
            if kind == "sqlite":
                reports.extend(verify_sqlite(where, self.expect))
            else:
                reports.append(verify_chain_dir(where, self.expect))
        return reports

    def anchors(self) -> list[dict[str, Any]]:
        """Every retention anchor (what was pruned, and the hash the kept records link to)."""
        out: list[dict[str, Any]] = []
        from keeptrust.audit.segments import ANCHOR_FILE, read_json

        for chain_dir in self.chain_dirs():
            anchor = read_json(chain_dir / ANCHOR_FILE)
            if anchor is not None:
                out.append(anchor)
        with self.tables() as dbs:
            for db in dbs:
                for (text,) in db.rows("SELECT record FROM audit_anchors ORDER BY chain, pruned_through_seq"):
                    try:
                        out.append(orjson.loads(text))
                    except orjson.JSONDecodeError:
                        out.append({"chain": "?", "problem": "not valid JSON"})
        return out


class Index:
    """The index over one :class:`Source`; every method is safe to call from worker threads."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        self.db.executescript(SCHEMA)
        self.lock = threading.RLock()
        self.files: list[_Segment] = []  # src -> segment; src -1 is "in a table"
        self.by_path: dict[Path, _Segment] = {}
        self.table_seq: dict[tuple[int, str], int] = {}  # (table number, chain) -> last indexed seq
        self.generation = 0
        self.next_id = 0
        self.totals = Totals()
        self.recount = False
        self.indexed = False

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            yield self.db

    # ------------------------------------------------------------------ refresh
    def refresh(self) -> bool:
        """Index what was added (or rewritten) since the last refresh; True when anything changed."""
        with self.lock:
            self.db.execute("BEGIN")
            try:
                changed = self._refresh_chains() | self._refresh_tables()
            except BaseException:
                self.db.execute("ROLLBACK")
                self.recount = True
                raise
            self.db.execute("COMMIT")
            if self.recount:
                self._recount()
            if not self.indexed:
                self.db.executescript(INDEXES)
                self.indexed = True
            if changed:
                self.generation += 1
            return changed

    def _refresh_chains(self) -> bool:
        changed = False
        seen: set[Path] = set()
        for chain_dir in self.source.chain_dirs():
            for path in segments(chain_dir):
                seen.add(path)
                try:
                    st = path.stat()
                except FileNotFoundError:
                    continue
                seg = self.by_path.get(path)
                if seg is None:
                    seg = _Segment(len(self.files), path)
                    self.files.append(seg)
                    self.by_path[path] = seg
                elif st.st_size < seg.size or (st.st_size == seg.size and st.st_mtime_ns != seg.mtime_ns):
                    # Rewritten in place (or cut): index it again from the start.
                    self._forget("src = ?", (seg.number,))
                    seg.size = 0
                if st.st_size == seg.size and st.st_mtime_ns == seg.mtime_ns:
                    continue
                changed |= self._read_segment(seg)
                seg.mtime_ns = st.st_mtime_ns
        for path in [p for p in self.by_path if p not in seen]:  # pruned segments
            seg = self.by_path.pop(path)
            self._forget("src = ?", (seg.number,))
            changed = True
        return changed

    def _recount(self) -> None:
        totals = Totals()
        decisions: dict[int, list[tuple[int, str | None, str | None]]] = {}
        for rec, policy, action in self.db.execute("SELECT rec, policy, action FROM decision"):
            decisions.setdefault(rec, []).append((rec, policy, action))
        for row in self.db.execute(f"SELECT {_REC_COLUMNS} FROM rec"):
            totals.add(row, decisions.get(row[0], []))
        self.totals = totals
        self.recount = False

    def _read_segment(self, seg: _Segment) -> bool:
        rows = []
        added = False
        with open(seg.path, "rb") as f:
            f.seek(seg.size)
            offset = seg.size
            for line in f:
                if not line.endswith(b"\n"):
                    break  # a record still being written: read it next time
                try:
                    record = orjson.loads(line)
                except orjson.JSONDecodeError:
                    record = None
                if isinstance(record, dict):
                    rows.append((record, seg.number, offset, len(line)))
                    added = True
                    if len(rows) >= BATCH:  # bounded memory: a segment holds ~100 000 records
                        self._add(rows)
                        rows = []
                offset += len(line)
            seg.size = offset
        self._add(rows)
        return added

    def _refresh_tables(self) -> bool:
        changed = False
        with self.source.tables() as dbs:
            for n, db in enumerate(dbs):
                chains = [c for (c,) in db.rows("SELECT DISTINCT chain FROM audit_records")]
                for chain in chains:
                    while True:
                        after = self.table_seq.get((n, chain), -1)
                        batch = db.rows(
                            "SELECT seq, record FROM audit_records WHERE chain = ? AND seq > ? ORDER BY seq "
                            f"LIMIT {BATCH}",
                            (chain, after),
                        )
                        if not batch:
                            break
                        rows = []
                        for seq, text in batch:
                            try:
                                record = orjson.loads(text)
                            except orjson.JSONDecodeError:
                                record = {"chain": chain, "seq": seq, "type": "unreadable"}
                            if isinstance(record, dict):
                                record["chain"], record["seq"] = chain, seq
                                rows.append((record, -1 - n, None, None))
                        self._add(rows)
                        self.table_seq[(n, chain)] = batch[-1][0]
                        changed = True
        return changed

    def _forget(self, where: str, args: tuple[Any, ...]) -> None:
        self.recount = True  # rare (a rewritten or pruned segment): recount from the index after
        self.db.execute(f"DELETE FROM decision WHERE rec IN (SELECT id FROM rec WHERE {where})", args)
        self.db.execute(f"DELETE FROM rec WHERE {where}", args)

    def _add(self, rows: list[tuple[dict[str, Any], int, int | None, int | None]]) -> None:
        recs, decisions = [], []
        for record, src, off, length in rows:
            self.next_id += 1
            kind = record.get("type")
            if kind not in ("request", "access"):
                out = fam = None
            else:
                out = outcome(record)
                fam = family(out)
            ts = record.get("ts") if isinstance(record.get("ts"), str) else None
            status = record.get("status") if isinstance(record.get("status"), int) else None
            latency = record.get("latency_ms") if isinstance(record.get("latency_ms"), int | float) else None
            recs.append(
                (
                    self.next_id,
                    _text(record.get("chain")),
                    record.get("seq") if isinstance(record.get("seq"), int) else None,
                    ts,
                    _epoch(ts),
                    _text(kind),
                    _text(record.get("request_id")),
                    _text(record.get("role")),
                    _text(record.get("target")),
                    _text(record.get("model")),
                    status,
                    latency,
                    out,
                    fam,
                    _decision_summary(record),
                    src,
                    off,
                    length,
                )
            )
            mine = [
                (self.next_id, _text(d.get("policy")), _text(d.get("action")))
                for d in record.get("decisions") or ()
                if isinstance(d, dict)
            ]
            decisions.extend(mine)
            self.totals.add(recs[-1], mine)
        self.db.executemany(f"INSERT INTO rec ({_REC_COLUMNS}) VALUES ({', '.join('?' * 18)})", recs)
        self.db.executemany("INSERT INTO decision (rec, policy, action) VALUES (?, ?, ?)", decisions)

    # ------------------------------------------------------------------ reading records back
    def load(self, rows: list[tuple[int, str, int, int | None, int | None]]) -> list[dict[str, Any] | None]:
        """Whole records, as stored, for index rows ``(src, chain, seq, off, len)``."""
        out: list[dict[str, Any] | None] = []
        table_rows = [r for r in rows if r[0] < 0]
        stored: dict[tuple[int, str, int], Any] = {}
        if table_rows:
            with self.source.tables() as dbs:
                for src, chain, seq, _, _ in table_rows:
                    got = dbs[-1 - src].rows(
                        "SELECT record FROM audit_records WHERE chain = ? AND seq = ?", (chain, seq)
                    )
                    stored[(src, chain, seq)] = _loads(got[0][0]) if got else None
        for src, chain, seq, off, length in rows:
            if src < 0:
                out.append(stored.get((src, chain, seq)))
                continue
            seg = self.files[src]
            try:
                with open(seg.path, "rb") as f:
                    f.seek(off or 0)
                    out.append(_loads(f.read(length or 0)))
            except OSError:
                out.append(None)
        return out


@functools.lru_cache(maxsize=4096)
def _second(prefix: str) -> float:
    return datetime.fromisoformat(prefix + "+00:00").timestamp()


def _epoch(ts: str | None) -> float | None:
    """Epoch seconds of an RFC 3339 UTC time as records write it (``2026-11-26T13:20:00.123Z``);
    records of one second share the parse of its prefix."""
    if not ts or len(ts) < 20 or not ts.endswith("Z"):
        return None
    try:
        return _second(ts[:19]) + (float(ts[19:-1]) if len(ts) > 20 else 0.0)
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _loads(text: Any) -> dict[str, Any] | None:
    try:
        value = orjson.loads(text)
    except (orjson.JSONDecodeError, TypeError):
        return None
    return value if isinstance(value, dict) else None


__all__ = ["Index", "Source"]

"""The questions the pages ask of the index: filtered, keyset-paged records and the overview's counts."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import attrs

PAGE = 50
FILTER_FIELDS = ("since", "until", "outcome", "policy", "role", "target", "q")


@attrs.frozen
class Query:
    """The records filters, from the query string (empty fields mean no filter)."""

    since: str = ""  # ISO time or prefix, inclusive
    until: str = ""  # ISO time or prefix, exclusive
    outcome: str = ""
    policy: str = ""
    role: str = ""
    target: str = ""
    q: str = ""  # text in the request id
    # Not a filter: whether the policy decided on at least 1 % of the records (chooses the plan).
    frequent_policy: bool = False

    @classmethod
    def from_params(cls, params: dict[str, str], totals: Any = None) -> Query:
        values = {f: params.get(f, "").strip()[:200] for f in FILTER_FIELDS}
        frequent = False
        if values["policy"] and totals is not None:
            decided = sum(c for (p, _), c in totals.decisions.items() if p == values["policy"])
            frequent = decided * 100 >= max(totals.total, 1)
        return cls(**values, frequent_policy=frequent)

    def params(self) -> dict[str, str]:
        return {f: getattr(self, f) for f in FILTER_FIELDS if getattr(self, f)}

    def encoded(self, **extra: str) -> str:
        return urlencode({**self.params(), **extra})

    def where(self) -> tuple[str, list[Any]]:
        clauses, args = ["type IN ('request', 'access')"], []
        if self.since:
            clauses.append("ts >= ?")
            args.append(self.since)
        if self.until:
            clauses.append("ts < ?")
            args.append(self.until)
        if self.outcome:
            if self.outcome in ("answered", "blocked", "upstream error", "refused", "other"):
                clauses.append("family = ?")
            else:
                clauses.append("outcome = ?")
            args.append(self.outcome)
        for name in ("role", "target"):
            if getattr(self, name):
                clauses.append(f"{name} = ?")
                args.append(getattr(self, name))
        if self.policy:
            if self.frequent_policy:
                # Walk the records newest first and stop at a page: quick when many carry it.
                clauses.append("EXISTS (SELECT 1 FROM decision WHERE rec = rec.id AND policy = ?)")
            else:
                # Start from the few decisions instead of scanning every record.
                clauses.append("id IN (SELECT rec FROM decision WHERE policy = ?)")
            args.append(self.policy)
        if self.q:
            clauses.append("instr(request_id, ?) > 0")
            args.append(self.q)
        return " AND ".join(clauses), args


COLUMNS = "id, ts, request_id, role, target, model, status, latency_ms, outcome, decisions, chain, seq"


def page(db: sqlite3.Connection, query: Query, before: tuple[str, int] | None) -> tuple[list[tuple[Any, ...]], bool]:
    """One page, newest first, strictly older than ``before`` (ts, id): keyset paging, so page
    1000 costs what page 1 does. Returns the rows and whether there are more."""
    where, args = query.where()
    if before is not None:
        where += " AND (ts, id) < (?, ?)"
        args += list(before)
    rows = db.execute(
        f"SELECT {COLUMNS} FROM rec WHERE {where} ORDER BY ts DESC, id DESC LIMIT {PAGE + 1}", args
    ).fetchall()
    return rows[:PAGE], len(rows) > PAGE


COUNT_CAP = 10_000


def count(db: sqlite3.Connection, query: Query) -> tuple[int, bool]:
    """How many records match, counted up to ``COUNT_CAP`` (so a broad filter on a million records
    stays fast); the flag says the cap was reached."""
    where, args = query.where()
    n = db.execute(f"SELECT COUNT(*) FROM (SELECT 1 FROM rec WHERE {where} LIMIT {COUNT_CAP + 1})", args).fetchone()[0]
    return min(n, COUNT_CAP), n > COUNT_CAP


def matching(db: sqlite3.Connection, query: Query, batch: int = 2000) -> Iterator[list[tuple[Any, ...]]]:
    """Every matching row, oldest first, in batches (for exports)."""
    where, args = query.where()
    after: tuple[str, int] = ("", 0)
    while True:
        rows = db.execute(
            f"SELECT {COLUMNS}, src, off, len FROM rec WHERE {where} AND (ts, id) > (?, ?) "
            f"ORDER BY ts, id LIMIT {batch}",
            [*args, *after],
        ).fetchall()
        if not rows:
            return
        yield rows
        after = (rows[-1][1], rows[-1][0])


def choices(totals: Any) -> dict[str, list[str]]:
    """The values the filter menus offer, from the index's running totals."""
    return {
        "outcome": sorted(totals.outcomes),
        "policy": sorted({p for p, _ in totals.decisions if p is not None}),
        "role": sorted(r for r in totals.roles if r is not None),
        "target": sorted(t for t in totals.targets if t is not None),
    }


BUCKETS = (60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400, 30 * 86400)


@attrs.frozen
class Overview:
    total: int
    first_ts: str | None
    last_ts: str | None
    outcomes: list[tuple[str, int]]
    targets: list[tuple[str | None, int]]
    roles: list[tuple[str | None, int]]
    decisions: list[tuple[str, str, int]]
    bucket: int
    series: list[tuple[float, dict[str, int]]]  # bucket start (epoch), count by family
    other_types: list[tuple[str, int]]


def overview(totals: Any, bars: int = 48) -> Overview:
    """The overview from the index's running totals (``keeptrust_console.index.Totals``)."""
    bucket = BUCKETS[-1]
    series: dict[float, dict[str, int]] = {}
    if totals.t_min is not None:
        first, last = int(totals.t_min), int(totals.t_max)
        bucket = next((b for b in BUCKETS if (last - first) / b < bars), BUCKETS[-1])
        # Hour counts serve every bucket of an hour or more: fewer entries to add up on long logs.
        unit, counts = (3600, totals.hours) if bucket % 3600 == 0 else (60, totals.minutes)
        start = first // bucket
        for n in range(last // bucket - start + 1):
            series[(start + n) * bucket] = {}
        for (when, fam), c in counts.items():
            slot = series.setdefault(when * unit // bucket * bucket, {})
            slot[fam] = slot.get(fam, 0) + c
    return Overview(
        total=totals.total,
        first_ts=totals.first_ts,
        last_ts=totals.last_ts,
        outcomes=totals.outcomes.most_common(),
        targets=totals.targets.most_common(10),
        roles=totals.roles.most_common(10),
        decisions=sorted(
            ((p or "?", a or "?", c) for (p, a), c in totals.decisions.items()), key=lambda r: (r[0], -r[2])
        ),
        bucket=bucket,
        series=sorted(series.items()),
        other_types=sorted(totals.other_types.items()),
    )

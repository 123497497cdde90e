"""``kt audit verify``: prove a log's chains unbroken, or name the first broken record and why.

Verification trusts nothing it reads from the log directory about what the log promises: whether
chains are hash-chained, whether a head is required and which keys sign heads come from the
operator (``Expectations``: their policy config or the command line). Checked for every chain:

- each record parses, and ``seq`` runs 0, 1, 2, … with no gap (a gap is a *deletion*, a step back a
  *reordering*); with ``immutable`` every record carries a ``hash`` matching its content (else it was
  *edited*) and a ``prev_hash`` equal to the previous record's ``hash``;
- the durable head exists (else the end of the log could have been cut unnoticed), belongs to this
  chain, and the log reaches it (else it was *truncated*) with the hash it names;
- a chain that does not start at seq 0 links to its retention anchor; the anchors account for every
  pruned seq from 0 on, each linked to the one before where the sink keeps them all;
- with keys: the head and every anchor carry a valid signature by one of them (else they were
  *forged*, or written by someone without the key);
- SQLite: the columns queries filter on agree with the hashed record in the same row.

An unterminated last line of the newest segment is what a crash mid-write leaves: it is reported as a
warning (the gateway cuts it at its next start and writes a ``recovery`` record); an unterminated line
anywhere else is damage.

Each question is one function over plain records (``ChainChecker.feed``, ``check_anchors``,
``check_head``), so another sink (a database, a collector) can reuse them on what it stores.

Public module: plugins import it; the names in ``__all__`` are its API.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import attrs
import orjson

from keeptrust.audit.hashchain import GENESIS, record_hash
from keeptrust.audit.segments import ANCHOR_FILE, HEAD_FILE, chain_dirs, read_json, segments
from keeptrust.audit.signing import Keyring
from keeptrust.audit.sqlite_sink import DEFAULT_FILE

SQLITE_MAGIC = b"SQLite format 3\x00"


@attrs.frozen
class Expectations:
    """What the operator says the log promises, from their config or the command line; never read
    from files an attacker with access to the log directory could rewrite."""

    # Every record carries seq, prev_hash and hash (audit-logger ``immutable: true``, the default).
    immutable: bool = True
    # A chain without its durable head fails (``--allow-missing-head`` accepts it, with a warning).
    require_head: bool = True
    # Heads and anchors must be signed by one of these keys (``--key-env``, ``signing_key_ref``).
    keys: Keyring = attrs.Factory(Keyring)


@attrs.define
class ChainReport:
    chain: str
    where: str
    records: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    parts: int = 0
    problem: str | None = None
    # The key id that signed the head, when one did and the signature was checked.
    signed_by: str | None = None
    warnings: list[str] = attrs.Factory(list)
    notes: list[str] = attrs.Factory(list)

    @property
    def ok(self) -> bool:
        return self.problem is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "chain": self.chain,
            "where": self.where,
            "ok": self.ok,
            "records": self.records,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "problem": self.problem,
            "signed_by": self.signed_by,
            "warnings": self.warnings,
            "notes": self.notes,
        }


class Broken(Exception):
    """The first thing that breaks a chain; its message names where and why."""


_Broken = Broken


def _own_hash(obj: dict[str, Any]) -> str:
    # An anchor's hash covers everything but itself and its signature (which is made over the hash).
    return record_hash({k: v for k, v in obj.items() if k != "sig"})


def _ranges(anchor: dict[str, Any]) -> list[tuple[int, int]]:
    """The seq ranges an anchor says were pruned: its per-segment list (jsonl) or its own range (SQLite)."""
    entries = anchor.get("pruned")
    if isinstance(entries, list):
        return [(int(e["first_seq"]), int(e["last_seq"])) for e in entries]
    return [(int(anchor["first_seq"]), int(anchor["pruned_through_seq"]))]


def check_anchors(
    anchors: list[dict[str, Any]], expect: Expectations, what: str, report: ChainReport | None = None
) -> dict[str, Any] | None:
    """Check a chain's retention anchors, oldest first; return the newest (what the kept records
    link to), or None when nothing was pruned. Raises ``Broken``.

    Each anchor's hash matches its content; consecutive anchors link by ``prev_anchor_hash``; the
    ranges they cover join up from seq 0 to the newest anchor's ``pruned_through_seq``; with keys,
    each is signed. A sink that keeps only its newest anchor (jsonl's ``anchor.json``, which lists
    every segment pruned so far) passes a list of one."""
    previous: dict[str, Any] | None = None
    expected_first = 0
    for i, anchor in enumerate(anchors):
        label = what if len(anchors) == 1 else f"{what} #{i + 1}"
        if not isinstance(anchor, dict) or anchor.get("hash") != _own_hash(anchor):
            raise Broken(f"{label}: edited — the anchor's hash does not match its content")
        if expect.keys:
            problem = expect.keys.problem(anchor, label)
            if problem:
                raise Broken(problem)
        if previous is not None and anchor.get("prev_anchor_hash") != previous.get("hash"):
            raise Broken(f"{label}: edited — it does not link to the anchor before it")
        if previous is None and len(anchors) > 1 and anchor.get("prev_anchor_hash") is not None:
            raise Broken(f"{label}: deleted — it links to an earlier anchor that is missing")
        try:
            ranges = _ranges(anchor)
        except (KeyError, TypeError, ValueError):
            raise Broken(f"{label}: edited — it does not say which seqs it covers") from None
        for first, last in ranges:
            if first != expected_first or last < first:
                raise Broken(
                    f"{label}: forged — it covers seqs {first}-{last}, but the pruned ranges must join up "
                    f"from seq 0 (expected a range starting at seq {expected_first})"
                )
            expected_first = last + 1
        if expected_first != anchor.get("pruned_through_seq", -2) + 1:
            raise Broken(f"{label}: forged — its pruned ranges do not end at pruned_through_seq")
        previous = anchor
    if previous is not None and report is not None:
        report.notes.append(
            f"records up to seq {previous['pruned_through_seq']} were pruned by retention "
            f"(anchored by hash {str(previous.get('last_hash'))[:16]}…)"
        )
    return previous


def check_head(
    head: dict[str, Any] | None, chain: str | None, expect: Expectations, what: str, report: ChainReport
) -> None:
    """Check that the durable head exists (unless the operator allows its absence), names ``chain``
    (when the sink knows it apart from the head; a chain directory may have been copied elsewhere),
    and, with keys, is signed by one of them. Raises ``Broken``."""
    if head is None:
        if expect.require_head:
            raise Broken(
                f"{what} missing — the chain's durable head is gone, so records cut from the end of "
                "the log cannot be told from records never written (deleted or lost; "
                "--allow-missing-head accepts it)"
            )
        report.warnings.append(f"{what} missing — records cut from the end of the log would go unnoticed")
        return
    if chain is not None and head.get("chain") != chain:
        raise Broken(f"{what}: edited — it is the head of chain {head.get('chain')!r}, not of {chain!r}")
    if expect.keys:
        problem = expect.keys.problem(head, what)
        if problem:
            raise Broken(problem)
        report.signed_by = str(head["sig"]["key_id"])
    elif isinstance(head.get("sig"), dict):
        report.warnings.append(
            f"{what} is signed (key {head['sig'].get('key_id')}) but no key was given: its signature "
            "was not checked (--key-env NAME)"
        )


class ChainChecker:
    """Feeds records in stored order; raises ``Broken`` at the first one that breaks the chain.

    ``anchor`` is what ``check_anchors`` returned; ``head`` what ``check_head`` accepted."""

    def __init__(
        self,
        report: ChainReport,
        expect: Expectations,
        anchor: dict[str, Any] | None,
        head: dict[str, Any] | None = None,
        head_name: str = HEAD_FILE,
    ) -> None:
        self.report = report
        self.expect = expect
        self.immutable = expect.immutable
        self.anchor = anchor
        self.head = head
        self.head_name = head_name
        # Every record names the chain its head names: a record moved in from another chain is caught.
        self.chain: Any = head.get("chain") if head is not None else None
        self.expected: int | None = None
        self.prev: str | None = None
        self.head_hash_seen: str | None = None
        self.gap: tuple[str, int] | None = None

    def feed(self, record: Any, where: str) -> None:
        if not isinstance(record, dict) or not isinstance(record.get("seq"), int):
            raise Broken(f"{where}: edited — not an audit record (no integer seq)")
        seq = record["seq"]
        at = f"{where} (seq {seq})"
        if self.chain is None:
            self.chain = record.get("chain")
        elif record.get("chain") != self.chain:
            raise Broken(f"{at}: edited — it belongs to chain {record.get('chain')!r}, not {self.chain!r}")
        if self.immutable and not isinstance(record.get("hash"), str):
            raise Broken(f"{at}: edited — the record has no hash (every record of a hash-chained log has one)")
        if self.gap is not None:
            self._resolve_gap(seq)
        if self.expected is None:
            self._first(record, seq, at)
        elif seq < self.expected:
            raise Broken(f"{at}: reordered — seq {seq} comes after seq {self.expected - 1}")
        elif seq > self.expected:
            # A gap is a deletion, unless the missing record turns up next: then records were swapped.
            self.gap = (at, seq)
            return
        if self.immutable:
            digest = record.get("hash")
            if digest != record_hash(record):
                raise Broken(f"{at}: edited — the record's hash does not match its content")
            if self.expected is not None and record.get("prev_hash") != self.prev:
                raise Broken(
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
                raise Broken(f"{at}: edited — the first record's prev_hash is not the genesis value")
            return
        if anchor is None:
            raise Broken(
                f"{at}: deleted — the chain starts at seq {seq}; seqs 0-{seq - 1} are missing and no "
                "retention anchor covers them"
            )
        through = anchor["pruned_through_seq"]
        if seq != through + 1:
            raise Broken(f"{at}: deleted — the anchor covers seqs up to {through}, but the log resumes at seq {seq}")
        if self.immutable and record.get("prev_hash") != anchor.get("last_hash"):
            raise Broken(f"{at}: edited — prev_hash does not match the hash the retention anchor kept")
        self.prev = anchor.get("last_hash")

    def _resolve_gap(self, next_seq: int | None) -> None:
        assert self.gap is not None and self.expected is not None
        at, seq = self.gap
        if next_seq == self.expected:
            raise Broken(f"{at}: reordered — seq {seq} is stored before seq {self.expected}")
        missing = f"seq {self.expected}" if seq == self.expected + 1 else f"seqs {self.expected}-{seq - 1}"
        raise Broken(f"{at}: deleted — {missing} missing before this record")

    def finish(self) -> None:
        if self.gap is not None:
            self._resolve_gap(None)
        if self.expected is None and self.anchor is not None:
            self.expected = self.anchor["pruned_through_seq"] + 1
        head = self.head
        if head is None:
            return
        head_seq = head.get("seq", -1)
        last = -1 if self.expected is None else self.expected - 1
        if not isinstance(head_seq, int) or head_seq > last:
            raise Broken(
                f"truncated — {self.head_name} says seq {head_seq} was durable, but the log ends at seq {last}"
            )
        seen = self.head_hash_seen
        if self.anchor is not None and head_seq == self.anchor["pruned_through_seq"]:
            seen = self.anchor.get("last_hash")  # every record up to the head was pruned (SQLite retention)
        elif self.anchor is not None and head_seq < self.anchor["pruned_through_seq"]:
            raise Broken(
                f"{self.head_name}: edited — it says seq {head_seq} was the last durable record, but "
                f"retention already pruned up to seq {self.anchor['pruned_through_seq']}"
            )
        if self.immutable and head_seq >= 0 and head.get("hash") != seen:
            raise Broken(
                f"seq {head_seq}: edited — its hash differs from the one {self.head_name} recorded as durable"
            )
        if self.expect.keys and last > head_seq:
            self.report.warnings.append(
                f"seqs {head_seq + 1}-{last} come after the signed head: written after its last update "
                "(a crash between a write and its head update), so not covered by the signature"
            )


def verify_chain_dir(chain_dir: Path, expect: Expectations | None = None) -> ChainReport:
    expect = expect or Expectations()
    report = ChainReport(chain_dir.name, str(chain_dir))
    try:
        head = read_json(chain_dir / HEAD_FILE)
        check_head(head, None, expect, HEAD_FILE, report)
        stored_anchor = read_json(chain_dir / ANCHOR_FILE)
        anchor = check_anchors([stored_anchor] if stored_anchor else [], expect, ANCHOR_FILE, report)
        checker = ChainChecker(report, expect, anchor, head)
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
                    raise Broken(f"{path.name} line {lineno}: edited — not valid JSON") from None
                checker.feed(record, f"{path.name} line {lineno}")
            if torn:
                where = f"{path.name} line {len(lines) + 1}"
                if i != len(paths) - 1:
                    raise Broken(f"{where}: truncated — unterminated line inside a closed segment")
                report.warnings.append(
                    f"{where}: torn last line ({len(torn)} bytes, no newline) — a crash mid-write; "
                    "the gateway cuts it and writes a recovery record at its next start"
                )
        checker.finish()
        if not expect.immutable:
            report.warnings.append("not hash-chained (immutable: false): only seq continuity was checked")
    except Broken as exc:
        report.problem = str(exc)
    for leftover in sorted(chain_dir.glob("*.torn-*")):
        report.notes.append(f"torn fragment kept from a crash: {leftover.name}")
    return report


def verify_sqlite(path: Path, expect: Expectations | None = None) -> list[ChainReport]:
    from keeptrust.audit.tables import SqliteDB, verify_tables

    db = SqliteDB.read_only(path)
    try:
        tables = {name for (name,) in db.rows("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return verify_tables(db, expect, has_heads="audit_heads" in tables)
    finally:
        db.close()


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


def verify_path(path: Path, expect: Expectations | None = None) -> list[ChainReport]:
    """Every chain under ``path`` (see ``find_logs``), checked against what the operator expects."""
    expect = expect or Expectations()
    reports: list[ChainReport] = []
    for kind, where in find_logs(path):
        reports.extend(verify_sqlite(where, expect) if kind == "sqlite" else [verify_chain_dir(where, expect)])
    return reports


def summary_lines(reports: Iterable[ChainReport]) -> Iterator[str]:
    for r in reports:
        if r.ok:
            span = f" (seq {r.first_seq}-{r.last_seq})" if r.records else ""
            signed = f", head signed by {r.signed_by}" if r.signed_by else ""
            yield f"OK    {r.where}: {r.records} record(s){span}{signed}"
        else:
            yield f"FAIL  {r.where}: {r.problem}"
        for note in r.notes:
            yield f"      note: {note}"
        for warning in r.warnings:
            yield f"      warning: {warning}"


__all__ = [
    "Broken",
    "ChainChecker",
    "ChainReport",
    "Expectations",
    "check_anchors",
    "check_head",
    "find_logs",
    "is_sqlite",
    "summary_lines",
    "verify_chain_dir",
    "verify_path",
    "verify_sqlite",
]

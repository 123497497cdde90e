"""Reading records back for ``kt audit tail`` and ``kt audit query``, from SQLite or JSONL chains,
and printing them so that nothing in a record can act on the reader's terminal.

Public module: plugins import it; the names in ``__all__`` are its API.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import orjson

from keeptrust.audit.segments import segments
from keeptrust.audit.verify import find_logs


@attrs.frozen(kw_only=True)
class Filter:
    request_id: str | None = None
    status: int | None = None
    model: str | None = None
    target: str | None = None
    role: str | None = None
    type: str | None = None
    since: str | None = None  # RFC 3339 prefix compare, e.g. 2026-11-26 or 2026-11-26T13:00
    until: str | None = None

    def columns(self) -> dict[str, Any]:
        names = ("request_id", "status", "model", "target", "role", "type")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}

    def matches(self, record: dict[str, Any]) -> bool:
        for name, value in self.columns().items():
            if record.get(name) != value:
                return False
        ts = record.get("ts") or ""
        if self.since is not None and ts < self.since:
            return False
        return not (self.until is not None and ts >= self.until)


def _sqlite_records(path: Path, flt: Filter, limit: int | None, newest: bool) -> list[dict[str, Any]]:
    from keeptrust.audit.tables import SqliteDB, select_records

    db = SqliteDB.read_only(path)
    try:
        return select_records(db, flt, limit, newest)
    finally:
        db.close()


def _chain_records(chain_dir: Path) -> Iterator[dict[str, Any]]:
    for path in segments(chain_dir):
        with open(path, "rb") as f:
            for line in f:
                if line.endswith(b"\n"):
                    try:
                        yield orjson.loads(line)
                    except orjson.JSONDecodeError:
                        continue  # verify reports it; reading shows what can be read


def read_records(path: Path, flt: Filter, limit: int | None = None, newest: bool = False) -> list[dict[str, Any]]:
    """Matching records in time order; with ``newest`` only the last ``limit`` of them."""
    out: list[dict[str, Any]] = []
    for kind, where in find_logs(path):
        if kind == "sqlite":
            out.extend(_sqlite_records(where, flt, limit, newest))
        else:
            out.extend(r for r in _chain_records(where) if flt.matches(r))
    out.sort(key=lambda r: (r.get("ts") or "", r.get("chain") or "", r.get("seq") or 0))
    if limit is not None:
        out = out[-limit:] if newest else out[:limit]
    return out


# C0 and C1 control characters, DEL, and the Unicode controls that reorder or break lines (bidi
# embeddings, overrides and isolates; line and paragraph separators): what a request path or a header
# chosen by anyone who can reach the gateway could use to forge or hide lines on an operator's screen.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    """``text`` with every control character written as a visible escape (``\\x1b``, ``\\u202e``)."""
    return _UNSAFE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def json_line(record: dict[str, Any]) -> str:
    """A record as one line of JSON that is also terminal-safe: JSON escapes C0 controls itself; the
    rest are written as ``\\uXXXX`` escapes, so the line still parses to the same record."""
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(record, ensure_ascii=False))


def summary(record: dict[str, Any]) -> str:
    """One terminal-safe line per record, as ``kt audit tail`` prints it."""
    if record.get("type") not in ("request", "access"):
        line = f"{record.get('ts')}  {record.get('type')!s:<8} chain={record.get('chain')} seq={record.get('seq')}"
    else:
        line = (
            f"{record.get('ts')}  {record.get('type'):<8} {record.get('status')!s:>3}  {record.get('endpoint')}  "
            f"model={record.get('model')} target={record.get('target')} role={record.get('role')} "
            f"latency={record.get('latency_ms')}ms id={record.get('request_id')}"
        )
    return terminal_safe(line)


__all__ = [
    "Filter",
    "json_line",
    "read_records",
    "summary",
    "terminal_safe",
]

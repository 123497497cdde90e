"""Canonical JSON and the hash chain that makes an audit log tamper-evident.

A record's ``hash`` is the SHA-256 of its canonical JSON *without* the ``hash`` key: keys sorted, no
spaces, UTF-8 (orjson's ``OPT_SORT_KEYS`` output). Each record also carries ``chain`` (which writer
wrote it), ``seq`` (0, 1, 2, … with no gaps) and ``prev_hash`` (the previous record's ``hash``; 64
zeros for the first record of a chain), so editing, deleting or reordering a record breaks the chain
at that record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import attrs
import orjson

GENESIS = "0" * 64

_SORTED = orjson.OPT_SORT_KEYS


def canonical(record: dict[str, Any]) -> bytes:
    """The canonical bytes of a record (what is hashed, and what is written, hash included)."""
    return orjson.dumps(record, option=_SORTED)


def record_hash(record: dict[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of ``record`` without its ``hash`` key."""
    if "hash" in record:
        record = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(canonical(record)).hexdigest()


def _json_default(value: Any) -> Any:
    # Multipart bodies hold uploaded files: the audit keeps their shape, never their bytes.
    data = getattr(value, "data", None)
    if isinstance(data, bytes | bytearray):
        return {
            "filename": getattr(value, "filename", None),
            "content_type": getattr(value, "content_type", None),
            "bytes": len(data),
        }
    if isinstance(value, bytes | bytearray):
        return {"bytes": len(value)}
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return f"<{type(value).__name__}>"


@attrs.define
class ChainState:
    """Where a chain stands: the next ``seq`` and the ``hash`` the next record links to."""

    chain: str
    seq: int = 0
    prev_hash: str = GENESIS


class Sealer:
    """Turns records into sealed, scrubbed dicts: numbered, linked and hashed (when ``immutable``).

    Serialising, scrubbing and hashing all happen here, in the writer task, never on the request path.
    The redactor runs over the serialised text as the last line of defence, so a secret that slipped
    into any field of any record is replaced by ``***`` before anything is hashed or stored.
    """

    def __init__(self, state: ChainState, *, immutable: bool, redact: Callable[[str], str] | None = None) -> None:
        self.state = state
        self.immutable = immutable
        self.redact = redact

    def seal(self, record: dict[str, Any]) -> dict[str, Any]:
        state = self.state
        record["chain"] = state.chain
        record["seq"] = state.seq
        if self.immutable:
            record["prev_hash"] = state.prev_hash
        raw = orjson.dumps(record, default=_json_default, option=orjson.OPT_NON_STR_KEYS)
        if self.redact is not None:
            text = raw.decode("utf-8")
            scrubbed = self.redact(text)
            if scrubbed != text:
                raw = scrubbed.encode("utf-8")
        # Round-trip so the stored record is exactly what canonical() of the parsed line gives back:
        # verification re-parses lines and must get the same bytes.
        clean: dict[str, Any] = orjson.loads(raw)
        if self.immutable:
            digest = hashlib.sha256(canonical(clean)).hexdigest()
            clean["hash"] = digest
            state.prev_hash = digest
        state.seq += 1
        return clean

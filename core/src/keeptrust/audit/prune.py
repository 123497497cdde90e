"""Retention: removing whole old segments while keeping the chain verifiable.

Before a segment is deleted, ``anchor.json`` in its chain directory is rewritten (atomically, fsynced)
to carry the seq and hash of the last pruned record, plus each pruned segment's SHA-256, record count
and seq range. ``kt audit verify`` then checks that the oldest remaining record links to the anchor,
so pruning is visible and provable, and deleting anything else still breaks the chain. The anchor is
itself hashed, links to the anchor it replaces, and lists every segment pruned since seq 0 (so the
pruned ranges must join up, from seq 0 to the first record kept); with ``signing_key_ref`` it is
signed, so only a holder of the key can make deleted leading segments look pruned.

A segment's age is the ``ts`` of its last record. The newest segment of a chain is never pruned (it
is the one a writer appends to, and it keeps the chain's head on disk).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from pathlib import Path
from typing import Any

import orjson

from keeptrust.audit.hashchain import record_hash
from keeptrust.audit.record import parse_ts
from keeptrust.audit.segments import (
    ANCHOR_FILE,
    FILE_MODE,
    chain_dirs,
    fsync_dir,
    last_line,
    read_json,
    segment_number,
    segments,
    write_json_atomic,
)
from keeptrust.audit.signing import SigningKey


def prune_directory(directory: Path, cutoff: float, signer: SigningKey | None = None) -> int:
    """Prune, in every chain under ``directory``, the closed segments whose last record is older than
    ``cutoff`` (epoch seconds). Returns the number of records pruned."""
    return sum(prune_chain(chain_dir, cutoff, signer) for chain_dir in chain_dirs(directory))


def prune_chain(chain_dir: Path, cutoff: float, signer: SigningKey | None = None) -> int:
    old: list[Path] = []
    for path in segments(chain_dir)[:-1]:
        line, _, _ = last_line(path)
        if line is None:
            old.append(path)  # an empty closed segment holds nothing to keep
            continue
        try:
            ts = parse_ts(orjson.loads(line)["ts"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            break  # not ours to judge: verify reports damage, prune never deletes evidence
        if ts >= cutoff:
            break
        old.append(path)
    return anchor_and_remove(chain_dir, old, signer) if old else 0


def anchor_and_remove(chain_dir: Path, paths: list[Path], signer: SigningKey | None = None) -> int:
    """Write the anchor covering ``paths`` (the oldest segments of the chain, in order), then delete them."""
    lock_fd = os.open(chain_dir / "prune.lock", os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        # One pruner at a time per chain: the running gateway and `kt audit prune` may overlap.
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        paths = [p for p in paths if p.exists()]
        if not paths:
            return 0
        previous = read_json(chain_dir / ANCHOR_FILE)
        entries = list(previous["pruned"]) if previous else []
        last: dict[str, Any] | None = None
        count = 0
        for path in paths:
            entry, tail = _describe(path)
            if entry is None:
                continue
            entries.append(entry)
            count += entry["records"]
            last = tail
        if last is None:
            if previous is None:
                return 0
            last = {"seq": previous["pruned_through_seq"], "hash": previous["last_hash"]}
        anchor: dict[str, Any] = {
            "type": "anchor",
            "chain": chain_dir.name,
            "pruned_through_seq": last["seq"],
            "last_hash": last.get("hash"),
            "last_segment": max(segment_number(p) for p in paths),
            "pruned": entries,
            "pruned_at": time.time(),
            "prev_anchor_hash": previous.get("hash") if previous else None,
        }
        anchor["hash"] = record_hash(anchor)
        if signer is not None:
            signer.sign(anchor)
        write_json_atomic(chain_dir / ANCHOR_FILE, anchor, sync_dir=True)
        for path in paths:
            path.unlink()
        fsync_dir(chain_dir)
        return count
    finally:
        os.close(lock_fd)


def _describe(path: Path) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    data = path.read_bytes()
    lines = data.splitlines()
    if not lines:
        return None, {}
    first = orjson.loads(lines[0])
    tail = orjson.loads(lines[-1])
    entry = {
        "segment": path.name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
        "records": len(lines),
        "first_seq": first["seq"],
        "last_seq": tail["seq"],
        "last_ts": tail.get("ts"),
    }
    return entry, tail

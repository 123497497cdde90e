"""A chain directory on disk: append-only segment files, the durable chain head, the writer's lock.

Layout of an audit directory (``directory:``, default ``./keeptrust-audit``)::

    keeptrust-audit/
      20261126T132000Z-p4242-1a2b/      one chain: one writer process at a time
        chain.json                      who created it and whether it is hash-chained
        lock                            flock'ed by the writer that owns the chain
        seg-000001.jsonl                records, one canonical JSON object a line
        seg-000002.jsonl                the next segment continues the same chain
        head.json                       the last record known durable (written after each fsync;
                                        signed with signing_key_ref)
        anchor.json                     after pruning: the hash of what was pruned (signed likewise)

Each ``--workers N`` process owns its own chain, so no two processes ever append to one file. At
start-up a writer resumes the oldest chain no live process holds (so a restarted gateway continues
its chain and repairs a torn last line), or starts a new one named by UTC time, pid and a random tag.
Everything here is blocking file I/O: callers run it through ``trio.to_thread.run_sync``.

Public module (the on-disk layout of a jsonl chain, for readers such as the console): the names in
``__all__`` are its API.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import secrets
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from keeptrust.audit.hashchain import GENESIS, ChainState
from keeptrust.audit.record import parse_ts

if TYPE_CHECKING:
    from keeptrust.audit.signing import SigningKey

SEGMENT_RE = re.compile(r"^seg-(\d{6})\.jsonl$")
CHAIN_FILE = "chain.json"
HEAD_FILE = "head.json"
ANCHOR_FILE = "anchor.json"
LOCK_FILE = "lock"


class ChainDamaged(Exception):
    """The last complete record of a chain does not parse: not a crash, so not ours to repair."""


def segment_name(number: int) -> str:
    return f"seg-{number:06d}.jsonl"


def segment_number(path: Path) -> int:
    match = SEGMENT_RE.match(path.name)
    return int(match.group(1)) if match else -1


def segments(chain_dir: Path) -> list[Path]:
    return sorted((p for p in chain_dir.iterdir() if SEGMENT_RE.match(p.name)), key=segment_number)


def is_chain_dir(path: Path) -> bool:
    return path.is_dir() and ((path / CHAIN_FILE).exists() or any(SEGMENT_RE.match(p.name) for p in path.iterdir()))


def chain_dirs(directory: Path) -> list[Path]:
    """The chains under an audit directory (or the directory itself when it is one chain)."""
    if is_chain_dir(directory):
        return [directory]
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if is_chain_dir(p))


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# Audit files are readable by the owner and the group at most, whatever the process umask.
FILE_MODE = 0o640
DIR_MODE = 0o750


def write_json_atomic(path: Path, data: dict[str, Any], *, sync_dir: bool = False) -> None:
    """Write-fsync-rename: a reader (or a crash) sees the old file or the new one, never half."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.write(fd, orjson.dumps(data, option=orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    if sync_dir:
        fsync_dir(path.parent)


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        return orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return None


def last_line(path: Path) -> tuple[bytes | None, int, int]:
    """``(last complete line, size up to its newline, total size)``, reading backwards in blocks."""
    with open(path, "rb") as f:
        total = f.seek(0, os.SEEK_END)
        # Find the last newline: everything after it is an unterminated (torn) tail.
        good = _rfind_newline(f, total)
        if good < 0:
            return None, 0, total
        end = good + 1
        start = _rfind_newline(f, good) + 1
        f.seek(start)
        return f.read(good - start), end, total


def _rfind_newline(f: Any, before: int) -> int:
    block = 65536
    pos = before
    while pos > 0:
        start = max(0, pos - block)
        f.seek(start)
        chunk = f.read(pos - start)
        found = chunk.rfind(b"\n")
        if found >= 0:
            return start + found
        pos = start
    return -1


def new_chain_id() -> str:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return f"{stamp}-p{os.getpid()}-{secrets.token_hex(2)}"


class ChainStore:
    """The one chain this process appends to. Not thread-safe: the writer task calls it serially."""

    def __init__(self, chain_dir: Path, lock_fd: int, immutable: bool, signer: SigningKey | None = None) -> None:
        self.chain_dir = chain_dir
        self.chain = chain_dir.name
        self.immutable = immutable
        self.signer = signer
        self._lock_fd = lock_fd
        self.state = ChainState(self.chain)
        self.recovery: dict[str, Any] | None = None
        self.resumed = False
        self.fd = -1
        self.segment = 0
        self.size = 0
        self.segment_opened = time.time()

    # ------------------------------------------------------------------ claiming
    @classmethod
    def claim(cls, directory: Path, immutable: bool, logger: Any, signer: SigningKey | None = None) -> ChainStore:
        """Resume the oldest chain nobody holds, or create a new one."""
        make_private_dir(directory)
        for chain_dir in chain_dirs(directory):
            meta = read_json(chain_dir / CHAIN_FILE) or {}
            if bool(meta.get("immutable", True)) != immutable:
                continue
            lock_fd = _try_lock(chain_dir / LOCK_FILE)
            if lock_fd is None:
                continue
            store = cls(chain_dir, lock_fd, immutable, signer)
            try:
                store._resume()
            except (ChainDamaged, ValueError) as exc:
                logger.error(
                    "audit chain %s is damaged (%s); leaving it untouched for `kt audit verify` and "
                    "starting another chain",
                    chain_dir,
                    exc,
                )
                store.close()
                continue
            return store
        chain_dir = directory / new_chain_id()
        chain_dir.mkdir(mode=DIR_MODE)
        lock_fd = _try_lock(chain_dir / LOCK_FILE)
        assert lock_fd is not None, "a chain directory this process just created is locked by another"
        write_json_atomic(
            chain_dir / CHAIN_FILE,
            {
                "chain": chain_dir.name,
                "created": time.time(),
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "immutable": immutable,
            },
        )
        store = cls(chain_dir, lock_fd, immutable, signer)
        # A chain has a durable head from its first moment, so a missing head.json is always damage.
        store.write_head(-1, GENESIS if immutable else None)
        store._open_segment(1)
        fsync_dir(directory)
        return store

    def _resume(self) -> None:
        paths = segments(self.chain_dir)
        if not paths:
            anchor = read_json(self.chain_dir / ANCHOR_FILE)
            if anchor is not None:
                self.state = ChainState(self.chain, anchor["pruned_through_seq"] + 1, anchor["last_hash"])
            self._open_segment(1 + (anchor or {}).get("last_segment", 0))
            return
        last = paths[-1]
        line, good, total = last_line(last)
        if good < total:
            self.recovery = _cut_torn_tail(last, good, total)
        self.resumed = True
        # An empty last segment (rotated just before a crash): the chain continues from the one before.
        for path in reversed(paths):
            if path is not last:
                line, _, _ = last_line(path)
            if line is not None:
                self.state = _state_after(self.chain, line, path, self.immutable)
                break
        else:
            anchor = read_json(self.chain_dir / ANCHOR_FILE)
            if anchor is not None:
                self.state = ChainState(self.chain, anchor["pruned_through_seq"] + 1, anchor["last_hash"])
        self._open_segment(segment_number(last), existing=True)

    # ------------------------------------------------------------------ appending
    def _open_segment(self, number: int, existing: bool = False) -> None:
        path = self.chain_dir / segment_name(number)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | (0 if existing else os.O_EXCL)
        self.fd = os.open(path, flags, FILE_MODE)
        self.segment = number
        self.size = os.fstat(self.fd).st_size
        self.segment_opened = _first_ts(path) if existing and self.size else time.time()
        if not existing:
            fsync_dir(self.chain_dir)

    @property
    def segment_path(self) -> Path:
        return self.chain_dir / segment_name(self.segment)

    def append(self, data: bytes, *, sync: bool) -> None:
        """Append whole lines; on any failure cut the file back so no partial line stays behind."""
        try:
            view = memoryview(data)
            while view:
                written = os.write(self.fd, view)
                view = view[written:]
            if sync:
                os.fsync(self.fd)
        except OSError:
            try:
                os.ftruncate(self.fd, self.size)
            except OSError:
                pass
            raise
        self.size += len(data)

    def sync(self) -> None:
        os.fsync(self.fd)

    def write_head(self, seq: int, record_hash: str | None) -> None:
        """Record the last durable record. Called only after the fsync that made it durable, so the
        head never claims more than the disk holds; verify reports a log shorter than its head."""
        head: dict[str, Any] = {
            "chain": self.chain,
            "seq": seq,
            "hash": record_hash,
            "segment": segment_name(max(self.segment, 1)),
            "ts": time.time(),
        }
        if self.signer is not None:
            self.signer.sign(head)
        write_json_atomic(self.chain_dir / HEAD_FILE, head)

    def should_rotate(self, max_bytes: int, max_age_seconds: float) -> bool:
        if self.size == 0:
            return False
        return self.size >= max_bytes or time.time() - self.segment_opened >= max_age_seconds

    def rotate(self) -> None:
        os.fsync(self.fd)
        os.close(self.fd)
        self._open_segment(self.segment + 1)

    def close(self) -> None:
        if self.fd >= 0:
            try:
                os.fsync(self.fd)
            finally:
                os.close(self.fd)
                self.fd = -1
        if self._lock_fd >= 0:
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = -1


def _first_ts(path: Path) -> float:
    """When a resumed segment was started (its first record's ``ts``), for age-based rotation."""
    with open(path, "rb") as f:
        first = f.readline()
    try:
        return parse_ts(orjson.loads(first)["ts"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return os.stat(path).st_mtime


def make_private_dir(directory: Path) -> None:
    """Create ``directory`` (and its parents) owner+group only; an existing one is left as the operator set it."""
    directory.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)


def _try_lock(path: Path) -> int | None:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _state_after(chain: str, line: bytes, path: Path, immutable: bool) -> ChainState:
    try:
        record = orjson.loads(line)
        seq = int(record["seq"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ChainDamaged(f"the last record of {path.name} is not a valid record: {exc}") from None
    digest = record.get("hash")
    if immutable and not isinstance(digest, str):
        raise ChainDamaged(f"the last record of {path.name} has no hash")
    return ChainState(chain, seq + 1, digest if immutable else GENESIS)


def _cut_torn_tail(path: Path, good: int, total: int) -> dict[str, Any]:
    """Keep the torn fragment beside the segment (evidence), cut the segment at its last newline."""
    with open(path, "rb") as f:
        f.seek(good)
        fragment = f.read(total - good)
    keep = path.with_name(f"{path.name}.torn-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{secrets.token_hex(2)}")
    fd = os.open(keep, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        os.write(fd, fragment)
        os.fsync(fd)
    finally:
        os.close(fd)
    fd = os.open(path, os.O_WRONLY)
    try:
        os.ftruncate(fd, good)
        os.fsync(fd)
    finally:
        os.close(fd)
    fsync_dir(path.parent)
    return {
        "segment": path.name,
        "truncated_bytes": total - good,
        "fragment_sha256": hashlib.sha256(fragment).hexdigest(),
        "fragment_file": keep.name,
    }


__all__ = [
    "ANCHOR_FILE",
    "CHAIN_FILE",
    "HEAD_FILE",
    "chain_dirs",
    "is_chain_dir",
    "new_chain_id",
    "read_json",
    "segments",
]

"""Sink ``jsonl``: hash-chained JSON Lines segments on the local disk (the embedded default).

Durability follows ``fsync:``. ``batch`` (default): each batch is written with one ``write(2)`` and
fsynced before ``write`` returns (group commit). ``interval``: written at once, fsynced at most every
``fsync_interval_ms``. ``every_record``: one fsync per record. After each fsync the chain head
(``head.json``) is updated, so the head never names a record the disk may not hold. ``write`` returns
as soon as the records are durable; the head (a second fsync) is written just after, by the sink's
task, so an answer held for its record (``durable_before_response``) waits for one fsync, not two.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import attrs
import trio

from keeptrust.audit import prune
from keeptrust.audit.hashchain import canonical
from keeptrust.audit.segments import ChainStore
from keeptrust.audit.sink import OpenedChain, SinkEnv


@attrs.frozen(kw_only=True)
class JsonlOptions:
    """The jsonl sink has no options of its own: ``directory``, ``fsync`` and the segment keys of the
    audit-logger block apply."""


class SegmentWriter:
    """Appends sealed records to a ``ChainStore`` under an fsync policy. Shared by ``jsonl`` and the
    ``api`` sink's spool. All file I/O runs in a worker thread, one call at a time."""

    def __init__(self, directory: Path, env: SinkEnv) -> None:
        self.directory = directory
        self.audit = env.audit
        self.logger = env.logger
        self.signer = env.signer
        self.store: ChainStore | None = None
        self._lock = trio.Lock()
        self._last_sync = time.monotonic()
        self._unsynced: tuple[int, str | None] | None = None
        # The last durable record whose head is not written yet, and the event that wakes the head writer.
        self._head_due: tuple[int, str | None] | None = None
        self._head_wake = trio.Event()
        # Heads are written beside appends (head.json vs the segment), one at a time and in order.
        self._head_lock = trio.Lock()
        # Heads are written beside appends (head.json vs the segment), one at a time and in order.
        self._head_lock = trio.Lock()

    async def open(self) -> OpenedChain:
        store = await trio.to_thread.run_sync(
            ChainStore.claim, self.directory, self.audit.immutable, self.logger, self.signer
        )
        self.store = store
        return OpenedChain(store.state, store.recovery, store.resumed)

    async def write(self, records: list[dict[str, Any]]) -> bool:
        """Append; returns True when the records are on disk (fsynced), False when only written."""
        if not records:
            return True
        async with self._lock:
            durable = await trio.to_thread.run_sync(self._write, records)
        if self._head_due is not None:
            self._head_wake.set()
        return durable

    def _write(self, records: list[dict[str, Any]]) -> bool:
        store = self.store
        assert store is not None, "write before open"
        audit = self.audit
        if store.should_rotate(audit.segment_max_bytes, audit.segment_max_age_hours * 3600):
            store.rotate()
        last = records[-1]
        if audit.fsync == "every_record":
            for record in records:
                store.append(canonical(record) + b"\n", sync=True)
        else:
            sync = audit.fsync == "batch" or time.monotonic() - self._last_sync >= audit.fsync_interval_ms / 1000
            store.append(b"".join(canonical(r) + b"\n" for r in records), sync=sync)
            if not sync:
                self._unsynced = (last["seq"], last.get("hash"))
                return False
        self._synced(last["seq"], last.get("hash"))
        return True

    def _synced(self, seq: int, digest: str | None) -> None:
        self._last_sync = time.monotonic()
        self._unsynced = None
        self._head_due = (seq, digest)

    def _write_due_head(self) -> None:
        if self._head_due is not None and self.store is not None:
            due, self._head_due = self._head_due, None
            self.store.write_head(*due)

    async def run_head_writer(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Write the head after each durable write (and, with ``fsync: interval``, sync within the interval)."""
        async with trio.open_nursery() as nursery:
            if self.audit.fsync == "interval":
                await nursery.start(self.run_interval_sync)
            task_status.started()
            while True:
                await self._head_wake.wait()
                self._head_wake = trio.Event()
                async with self._head_lock:
                    await trio.to_thread.run_sync(self._write_due_head)

    def _sync_pending(self) -> None:
        if self._unsynced is not None and self.store is not None:
            self.store.sync()
            self._synced(*self._unsynced)

    async def run_interval_sync(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """With ``fsync: interval``, make written records durable within the interval even when idle."""
        task_status.started()
        while True:
            await trio.sleep(self.audit.fsync_interval_ms / 1000)
            async with self._lock:
                await trio.to_thread.run_sync(self._sync_pending)
            if self._head_due is not None:
                self._head_wake.set()

    async def prune(self, now: float) -> int:
        days = self.audit.retention_days
        if days is None:
            return 0
        async with self._lock:
            return await trio.to_thread.run_sync(
                prune.prune_directory, self.directory, now - days * 86400, self.signer
            )

    async def aclose(self) -> None:
        async with self._lock, self._head_lock:
            if self.store is not None:
                await trio.to_thread.run_sync(self._close)

    def _close(self) -> None:
        self._sync_pending()
        self._write_due_head()
        store, self.store = self.store, None
        assert store is not None
        store.close()


class JsonlSink:
    name = "jsonl"
    config_class = JsonlOptions

    def __init__(self, config: JsonlOptions, env: SinkEnv) -> None:
        self.segments = SegmentWriter(Path(env.audit.directory), env)

    async def open(self) -> OpenedChain:
        return await self.segments.open()

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await self.segments.run_head_writer(task_status)

    async def write(self, records: list[dict[str, Any]]) -> None:
        await self.segments.write(records)

    async def prune(self, now: float) -> int:
        return await self.segments.prune(now)

    async def aclose(self) -> None:
        await self.segments.aclose()

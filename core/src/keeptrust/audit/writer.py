"""The audit writer: a bounded queue between the request path and one writer task.

The request path only *enqueues* a record dict (``submit``). One writer task drains the queue in
batches (up to ``batch_max_records``, waiting at most ``batch_max_delay_ms`` for a batch to fill),
seals them (seq, prev_hash, hash, secret scrubbing) and hands the batch to the sink, whose ``write``
returns when the batch is durable (one fsync per batch: group commit). While the sink is busy the
next batch piles up in the queue, so load raises batch size rather than fsync count.

With ``durable_before_response`` the request path uses ``submit_durable``, which also waits until
the sink has made the record durable; the writer then commits each batch as soon as it has one (no
``batch_max_delay_ms`` wait), and the records that arrive during a commit share the next one.

When the queue is full, ``on_full: block`` (default) makes ``submit`` wait (backpressure: the request
handler finishes later, nothing is lost); ``drop_and_count`` drops the record, counts it, logs it and
writes a ``drops`` record into the chain so the loss itself is on the record.
"""

from __future__ import annotations

import os
import time
from typing import Any

import trio

from keeptrust import __version__, metrics
from keeptrust.audit.config import AuditLoggerConfig
from keeptrust.audit.hashchain import ChainState, Sealer
from keeptrust.audit.record import rfc3339
from keeptrust.audit.segments import new_chain_id
from keeptrust.audit.sink import OpenedChain, SinkEnv
from keeptrust.errors import ConfigError

# A sink that fails (disk full, collector spool unwritable) is retried with this backoff: records
# wait in the queue rather than being dropped.
_RETRY_FIRST, _RETRY_MAX = 0.05, 5.0
_Item = tuple[dict[str, Any], "trio.Event | None"]
# At shutdown, how long the writer may take to commit what is queued before it is cancelled (the
# count of records left behind is logged).
_CLOSE_TIMEOUT = 60.0


class AuditWriter:
    def __init__(self, sink: Any, env: SinkEnv, pack: dict[str, str]) -> None:
        self.sink = sink
        self.env = env
        self.config: AuditLoggerConfig = env.audit
        self.logger = env.logger
        self.pack = pack
        # Each item: a record, and the event its request waits on (durable_before_response) or None.
        self._send, self._receive = trio.open_memory_channel[_Item](self.config.queue_size)
        self._waiting: set[trio.Event] = set()
        self._finished = trio.Event()
        self._started = False
        self._sink_closed = False
        self._sealer: Sealer | None = None
        self.dropped = 0
        self._dropped_reported = 0
        self.written = 0
        self.batches = 0

    # ------------------------------------------------------------------ request path
    async def submit(self, record: dict[str, Any]) -> None:
        if self.config.on_full == "block":
            await self._enqueue((record, None))
            return
        try:
            self._send.send_nowait((record, None))
        except trio.WouldBlock:
            self.dropped += 1
            metrics.audit_dropped()
            # Log the first drop and then every power of two, so a flood does not flood the log.
            if self.dropped & (self.dropped - 1) == 0:
                self.logger.warning(
                    "audit queue full (queue_size %d): %d record(s) dropped so far (on_full: drop_and_count)",
                    self.config.queue_size,
                    self.dropped,
                )
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            self._lost_after_close()

    async def submit_durable(self, record: dict[str, Any]) -> None:
        """Enqueue ``record`` and return once the sink holds it durably (never drops it)."""
        done = trio.Event()
        self._waiting.add(done)
        try:
            if await self._enqueue((record, done)):
                await done.wait()
        finally:
            self._waiting.discard(done)

    async def _enqueue(self, item: _Item) -> bool:
        try:
            try:
                # No checkpoint (task switch) on the request path while the queue has room.
                self._send.send_nowait(item)
            except trio.WouldBlock:
                await self._send.send(item)  # full: backpressure, never loss
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            self._lost_after_close()
            return False
        return True

    def _lost_after_close(self) -> None:
        self.dropped += 1
        metrics.audit_dropped()
        self.logger.error("an audit record arrived after the audit writer closed; %d record(s) lost", self.dropped)

    # ------------------------------------------------------------------ writer task
    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self._started = True
        try:
            opened = await self._open()
            self._sealer = Sealer(opened.state, immutable=self.config.immutable, redact=self.env.redact)
            async with trio.open_nursery() as nursery:
                runner = getattr(self.sink, "run", None)
                if runner is not None:
                    await nursery.start(runner)
                await self._commit([(self._start_record(opened), None)])
                if getattr(self.sink, "prune", None) is not None and self.config.retention_days is not None:
                    await self._prune()
                    nursery.start_soon(self._prune_periodically)
                task_status.started()
                await self._drain()
                # Close the sink while its own task still runs, so it can finish (e.g. deliver the spool).
                await self._close_sink()
                nursery.cancel_scope.cancel()
        finally:
            with trio.CancelScope(shield=True):
                try:
                    await self._close_sink()
                finally:
                    self._finished.set()
                    self._release_waiting()

    def _release_waiting(self) -> None:
        # The writer is gone (shutdown timed out, or it failed): answers still held for their record
        # are released rather than hung; their records were not written, and the log says how many.
        if self._waiting:
            self.logger.error(
                "audit writer stopped with %d answer(s) still waiting for their record to be durable; "
                "releasing them without it",
                len(self._waiting),
            )
            for event in list(self._waiting):
                event.set()

    async def _close_sink(self) -> None:
        if not self._sink_closed:
            self._sink_closed = True
            await self.sink.aclose()

    async def _open(self) -> OpenedChain:
        opener = getattr(self.sink, "open", None)
        if opener is None:
            return OpenedChain(ChainState(new_chain_id()))
        try:
            return await opener()
        except OSError as exc:
            # Refuse to serve without an audit log, and say which setting to fix.
            raise ConfigError(
                f"policies.policy.audit-logger: the {self.config.destination} sink cannot open its "
                f"files: {exc.strerror}: {exc.filename}"
            ) from exc

    def _start_record(self, opened: OpenedChain) -> dict[str, Any]:
        record: dict[str, Any] = {
            "type": "recovery" if opened.recovery else "start",
            "ts": rfc3339(time.time()),
            "pid": os.getpid(),
            "version": __version__,
            "pack": self.pack,
            "resumed": opened.resumed,
            "destination": self.config.destination,
        }
        if opened.recovery:
            record["recovery"] = opened.recovery
            self.logger.warning(
                "audit chain %s: a torn last line (%d bytes) left by a crash was cut from %s and kept as %s; the "
                "chain resumes at seq %d with a recovery record",
                opened.state.chain,
                opened.recovery["truncated_bytes"],
                opened.recovery["segment"],
                opened.recovery["fragment_file"],
                opened.state.seq,
            )
        return record

    async def _drain(self) -> None:
        receive = self._receive
        # Answers wait for durability: commit at once, and let load (not a timer) fill the batches.
        delay = 0.0 if self.config.durable_before_response else self.config.batch_max_delay_ms / 1000
        limit = self.config.batch_max_records
        closed = False
        while not closed:
            try:
                batch = [await receive.receive()]
            except trio.EndOfChannel:
                break
            if delay > 0:
                # Let the batch fill for ``delay`` with one wake-up, not one per record: under load a
                # task switch per record costs more than the record itself.
                await trio.sleep(delay)
            while len(batch) < limit:
                try:
                    batch.append(receive.receive_nowait())
                except trio.WouldBlock:
                    break
                except trio.EndOfChannel:
                    closed = True
                    break
            await self._commit(batch)

    async def _commit(self, batch: list[_Item]) -> None:
        sealer = self._sealer
        assert sealer is not None
        if self.dropped > self._dropped_reported:
            delta, self._dropped_reported = self.dropped - self._dropped_reported, self.dropped
            drops = {"type": "drops", "ts": rfc3339(time.time()), "dropped": delta, "dropped_total": self.dropped}
            batch.append((drops, None))
        started = time.monotonic()
        sealed = [sealer.seal(record) for record, _ in batch]
        delay = _RETRY_FIRST
        while True:
            try:
                await self.sink.write(sealed)
                break
            except Exception as exc:
                self.logger.error(
                    "audit sink %s failed to write %d record(s): %s: %s; retrying in %.2fs",
                    self.config.destination,
                    len(sealed),
                    type(exc).__name__,
                    exc,
                    delay,
                )
                await trio.sleep(delay)
                delay = min(delay * 2, _RETRY_MAX)
        self.written += len(sealed)
        self.batches += 1
        metrics.audit_batch(time.monotonic() - started, len(sealed))
        metrics.audit_queue_depth(self._send.statistics().current_buffer_used)
        for _, done in batch:
            if done is not None:
                done.set()

    async def _prune(self) -> None:
        try:
            pruned = await self.sink.prune(time.time())
        except Exception as exc:
            self.logger.error("audit retention failed: %s: %s", type(exc).__name__, exc)
            return
        if pruned:
            self.logger.info(
                "audit retention: pruned %d record(s) older than %g day(s)", pruned, self.config.retention_days
            )

    async def _prune_periodically(self) -> None:
        while True:
            await trio.sleep(self.config.prune_interval_minutes * 60)
            await self._prune()

    # ------------------------------------------------------------------ shutdown
    async def aclose(self) -> None:
        """Stop accepting records, let the writer commit everything queued, close the sink."""
        await self._send.aclose()
        if not self._started:
            return
        with trio.move_on_after(_CLOSE_TIMEOUT):
            await self._finished.wait()
        left = self._send.statistics().current_buffer_used
        if left:
            self.logger.error(
                "audit writer did not finish within %gs: %d queued record(s) not written", _CLOSE_TIMEOUT, left
            )
        if self.dropped:
            self.logger.warning("audit writer closed: %d record(s) written, %d dropped", self.written, self.dropped)

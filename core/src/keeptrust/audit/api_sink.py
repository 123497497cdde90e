"""Sink ``api``: batched POSTs to a collector, through a local spool so nothing is lost while it is down.

Every record is first appended to a hash-chained spool (the same segment files as the ``jsonl`` sink,
under ``<directory>/spool``, fsynced per the ``fsync`` policy): ``write`` returns once the spool holds
it. A delivery task reads the spool from a durable cursor and POSTs batches, in order::

    POST <endpoint>
    Authorization: Bearer <secret from secret_key_ref>
    Idempotency-Key: <chain>:<first seq>-<last seq>
    {"chain": "...", "records": [<record>, ...]}

A 2xx answer advances the cursor (``cursor.json``); anything else (refused connection, timeout, 5xx,
429, other 4xx) is retried with exponential backoff and jitter, never skipped. Records reach the
collector exactly in spool order; a collector that answered 2xx but whose answer was lost may see a
batch twice, so collectors deduplicate on ``(chain, seq)``. Fully delivered spool segments are pruned
behind an anchor (``retention_days`` applies at the collector, never to undelivered records). On
shutdown the task gets ``drain_timeout_seconds`` to catch up; what is left stays in the spool and is
delivered by the next start that resumes the chain.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import attrs
import httpx
import orjson
import trio

from keeptrust.audit.config import ENDPOINT_ENV
from keeptrust.audit.jsonl_sink import SegmentWriter
from keeptrust.audit.prune import anchor_and_remove
from keeptrust.audit.segments import read_json, segment_name, segment_number, segments, write_json_atomic
from keeptrust.audit.sink import OpenedChain, SinkEnv
from keeptrust.errors import ConfigError

CURSOR_FILE = "cursor.json"
_READ_BYTES = 4 * 1024 * 1024
_PATH = "policies.policy.audit-logger"


@attrs.frozen(kw_only=True)
class ApiOptions:
    spool_directory: str | None = None
    batch_max_records: int = 500
    timeout_seconds: float = 10.0
    retry_initial_ms: float = 200.0
    retry_max_ms: float = 30_000.0
    # The header that carries the secret; ``authorization`` sends ``Bearer <secret>``, others the bare value.
    auth_header: str = "authorization"
    drain_timeout_seconds: float = 5.0


@attrs.define
class Cursor:
    segment: int
    offset: int
    seq: int = -1


class ApiSink:
    name = "api"
    config_class = ApiOptions

    def __init__(self, config: ApiOptions, env: SinkEnv) -> None:
        audit = env.audit
        endpoint = audit.endpoint or env.environ.get(ENDPOINT_ENV)
        if not endpoint:
            raise ConfigError(
                f"{_PATH}.endpoint: required with destination: api; set `endpoint:` in the block "
                f"or the environment variable {ENDPOINT_ENV}"
            )
        if not endpoint.startswith(("http://", "https://")):
            raise ConfigError(f"{_PATH}.endpoint: expected an http:// or https:// URL; got {endpoint!r}")
        self.endpoint = endpoint
        self.headers = {"content-type": "application/json"}
        if audit.secret_key_ref is not None:
            secret = env.environ.get(audit.secret_key_ref.env)
            if not secret:
                raise ConfigError(
                    f"{_PATH}.secret_key_ref.env: environment variable {audit.secret_key_ref.env} "
                    "(the audit collector's key) is not set"
                )
            env.add_secret(secret)
            name = config.auth_header.lower()
            self.headers[name] = f"Bearer {secret}" if name == "authorization" else secret
        self.options = config
        self.logger = env.logger
        spool = Path(config.spool_directory) if config.spool_directory else Path(audit.directory) / "spool"
        self.spool = SegmentWriter(spool, env)
        self.delivered_records = 0
        self._wake = trio.Event()
        self._idle = trio.Event()
        self._closing = False

    async def open(self) -> OpenedChain:
        return await self.spool.open()

    async def write(self, records: list[dict[str, Any]]) -> None:
        await self.spool.write(records)
        self._idle = trio.Event()
        self._wake.set()

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(self.spool.run_head_writer)
            async with httpx.AsyncClient(timeout=self.options.timeout_seconds, follow_redirects=False) as client:
                task_status.started()
                await self._deliver_forever(client)

    async def _deliver_forever(self, client: httpx.AsyncClient) -> None:
        store = self.spool.store
        assert store is not None, "run before open"
        chain_dir = store.chain_dir
        cursor = await trio.to_thread.run_sync(_load_cursor, chain_dir)
        while True:
            # A fresh event *before* reading: a write landing while we read still wakes us.
            self._wake = trio.Event()
            lines, after = await trio.to_thread.run_sync(
                _read_batch, chain_dir, cursor, self.options.batch_max_records, self.spool.signer
            )
            if not lines:
                if after != cursor:
                    cursor = after
                    await trio.to_thread.run_sync(_save_cursor, chain_dir, cursor)
                    continue
                self._idle.set()
                if self._closing:
                    return
                await self._wake.wait()
                continue
            await self._post(client, store.chain, lines)
            cursor = after
            await trio.to_thread.run_sync(_save_cursor, chain_dir, cursor)
            self.delivered_records += len(lines)

    async def _post(self, client: httpx.AsyncClient, chain: str, lines: list[bytes]) -> None:
        first, last = _seq_of(lines[0]), _seq_of(lines[-1])
        # The records go out as the exact bytes the spool holds, so the collector can check every hash.
        body = b'{"chain":"' + chain.encode() + b'","records":[' + b",".join(lines) + b"]}"
        headers = {**self.headers, "idempotency-key": f"{chain}:{first}-{last}"}
        delay = self.options.retry_initial_ms / 1000
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await client.post(self.endpoint, content=body, headers=headers)
                if 200 <= response.status_code < 300:
                    if attempt > 1:
                        self.logger.info(
                            "audit collector reachable again: delivered seq %d-%d after %d attempts",
                            first,
                            last,
                            attempt,
                        )
                    return
                problem = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}"
            if attempt == 1 or attempt % 10 == 0:
                self.logger.warning(
                    "audit collector %s: %s delivering seq %d-%d (attempt %d); records stay spooled, retrying",
                    self.endpoint,
                    problem,
                    first,
                    last,
                    attempt,
                )
            await trio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, self.options.retry_max_ms / 1000)

    async def aclose(self) -> None:
        self._closing = True
        self._wake.set()
        if self.spool.store is None:  # never opened: nothing spooled, nothing to deliver
            return
        with trio.move_on_after(self.options.drain_timeout_seconds):
            await self._idle.wait()
        if not self._idle.is_set():
            self.logger.warning(
                "audit collector %s not caught up at shutdown: the undelivered records stay in the "
                "spool and are delivered, in order, by the next start",
                self.endpoint,
            )
        await self.spool.aclose()


def _seq_of(line: bytes) -> int:
    return int(orjson.loads(line)["seq"])


def _load_cursor(chain_dir: Path) -> Cursor:
    saved = read_json(chain_dir / CURSOR_FILE)
    if saved is not None:
        return Cursor(saved["segment"], saved["offset"], saved.get("seq", -1))
    present = segments(chain_dir)
    return Cursor(segment_number(present[0]) if present else 1, 0)


def _save_cursor(chain_dir: Path, cursor: Cursor) -> None:
    write_json_atomic(chain_dir / CURSOR_FILE, attrs.asdict(cursor))


def _read_batch(chain_dir: Path, cursor: Cursor, limit: int, signer: Any = None) -> tuple[list[bytes], Cursor]:
    """Up to ``limit`` complete lines after the cursor, and the cursor after them. At the end of a
    segment that has a successor, move to the successor and prune the delivered segment."""
    path = chain_dir / segment_name(cursor.segment)
    if not path.exists():
        later = [p for p in segments(chain_dir) if segment_number(p) > cursor.segment]
        return [], (Cursor(segment_number(later[0]), 0, cursor.seq) if later else cursor)
    # Look for a successor *before* reading: once it exists this segment is closed, so reading to its
    # end means it has been fully delivered.
    has_next = (chain_dir / segment_name(cursor.segment + 1)).exists()
    with open(path, "rb") as f:
        f.seek(cursor.offset)
        data = f.read(_READ_BYTES)
        while b"\n" not in data:  # one record larger than a read: read on to its end
            more = f.read(_READ_BYTES)
            if not more:
                break
            data += more
    end = data.rfind(b"\n")
    if end < 0:
        if has_next and not data:
            anchor_and_remove(chain_dir, [path], signer)
            return [], Cursor(cursor.segment + 1, 0, cursor.seq)
        return [], cursor
    lines = data[: end + 1].splitlines()[:limit]
    used = sum(len(line) + 1 for line in lines)
    return lines, Cursor(cursor.segment, cursor.offset + used, _seq_of(lines[-1]))

"""The writer queue (backpressure, drop counting, retries), sealing, and a third-party sink."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import attrs
import trio
import trio.testing

from keeptrust import hookimpl
from keeptrust.audit import AuditLoggerConfig, SinkEnv, record_hash
from keeptrust.audit.hashchain import GENESIS, ChainState, Sealer
from keeptrust.audit.writer import AuditWriter
from keeptrust.secrets import Redactor
from keeptrust.testing import openai_target

from .conftest import BASE_ENV


@attrs.frozen(kw_only=True)
class MemoryOptions:
    label: str = "memory"


class MemorySink:
    """A sink as a third party would write one: it keeps records in memory, and can be held or fail."""

    name = "memory"
    config_class = MemoryOptions

    def __init__(self, config: MemoryOptions, env: SinkEnv) -> None:
        self.label = config.label
        self.records: list[dict[str, Any]] = []
        self.hold: trio.Event | None = None
        self.failures = 0
        self.closed = False

    async def write(self, records: list[dict[str, Any]]) -> None:
        if self.hold is not None:
            await self.hold.wait()
        if self.failures:
            self.failures -= 1
            raise OSError("No space left on device")
        self.records.extend(records)

    async def aclose(self) -> None:
        self.closed = True


@hookimpl
def register_audit_sinks(register: Any) -> None:
    register(MemorySink)


def make_writer(**config: Any) -> tuple[AuditWriter, MemorySink]:
    audit = AuditLoggerConfig(destination="memory", **{"batch_max_delay_ms": 0, **config})
    env = SinkEnv(audit=audit, logger=logging.getLogger("test.audit"), environ={})
    sink = MemorySink(MemoryOptions(), env)
    return AuditWriter(sink, env, {"name": "p", "version": "1"}), sink


def requests(sink: MemorySink) -> list[str]:
    return [r["request_id"] for r in sink.records if r["type"] == "request"]


async def test_drop_and_count_drops_when_full_and_records_the_drops():
    writer, sink = make_writer(queue_size=4, on_full="drop_and_count")
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        sink.hold = trio.Event()
        await writer.submit({"type": "request", "request_id": "r0"})
        await trio.testing.wait_all_tasks_blocked()  # the writer holds r0 inside the sink
        for i in range(1, 8):
            await writer.submit({"type": "request", "request_id": f"r{i}"})
        assert writer.dropped == 3
        sink.hold.set()
        await writer.aclose()
    assert requests(sink) == ["r0", "r1", "r2", "r3", "r4"]
    drops = [r for r in sink.records if r["type"] == "drops"]
    assert [(d["dropped"], d["dropped_total"]) for d in drops] == [(3, 3)]
    assert [r["seq"] for r in sink.records] == list(range(len(sink.records)))
    assert sink.closed


async def test_block_applies_backpressure_and_loses_nothing():
    writer, sink = make_writer(queue_size=2, on_full="block")
    submitted = []

    async def submit(i: int) -> None:
        await writer.submit({"type": "request", "request_id": f"r{i}"})
        submitted.append(i)

    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        sink.hold = trio.Event()
        await submit(0)
        await trio.testing.wait_all_tasks_blocked()
        await submit(1)
        await submit(2)
        nursery.start_soon(submit, 3)
        await trio.testing.wait_all_tasks_blocked()
        assert submitted == [0, 1, 2]  # the fourth waits for room: the request handler is held back
        sink.hold.set()
        await trio.testing.wait_all_tasks_blocked()
        assert submitted == [0, 1, 2, 3]
        await writer.aclose()
    assert requests(sink) == ["r0", "r1", "r2", "r3"] and writer.dropped == 0


async def test_a_failing_sink_is_retried_and_nothing_is_lost_or_repeated(autojump_clock):
    writer, sink = make_writer()
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        sink.failures = 3
        for i in range(5):
            await writer.submit({"type": "request", "request_id": f"r{i}"})
        await writer.aclose()
    assert requests(sink) == [f"r{i}" for i in range(5)]
    assert [r["seq"] for r in sink.records] == list(range(6))


def test_sealing_links_hashes_and_scrubs_secrets_before_hashing():
    sealer = Sealer(ChainState("c1"), immutable=True, redact=Redactor(["s3cret-value-123"]))
    first = sealer.seal({"type": "request", "request": {"note": "key s3cret-value-123", "n": {1: "x"}}})
    second = sealer.seal({"type": "request", "blob": b"\x00\x01"})
    assert first["prev_hash"] == GENESIS and second["prev_hash"] == first["hash"]
    assert first["hash"] == record_hash(first) and second["hash"] == record_hash(second)
    assert first["request"] == {"note": "key ***", "n": {"1": "x"}}
    assert second["blob"] == {"bytes": 2}
    plain = Sealer(ChainState("c2"), immutable=False).seal({"type": "request"})
    assert plain["seq"] == 0 and "hash" not in plain and "prev_hash" not in plain


def test_a_third_party_sink_registered_through_the_hook_receives_the_records(fake_upstream, gateway_factory):
    config = {
        "providers": {"targets": [openai_target(fake_upstream.url)]},
        "policies": {
            "chain": ["audit-logger"],
            "policy": {"audit-logger": {"destination": "memory", "sink": {"label": "mine"}}},
        },
    }
    gw = gateway_factory(config, environ=BASE_ENV, extra_plugins=[sys.modules[__name__]])
    gw.client().chat.completions.create(
        model="fake/model",
        messages=[{"role": "user", "content": "hi"}],
        extra_headers={"x-request-id": "third-party-1"},
    )
    policy = next(p for p in gw.app.gateway.chain.policies if p.name == "audit-logger")
    gw.stop()
    sink = policy.writer.sink
    assert sink.label == "mine" and sink.closed
    assert [r["type"] for r in sink.records] == ["start", "request"]
    assert sink.records[1]["request_id"] == "third-party-1" and sink.records[1]["prev_hash"] == sink.records[0]["hash"]


async def test_each_fsync_policy_leaves_a_verifiable_log_and_a_matching_head(tmp_path):
    from keeptrust.audit.jsonl_sink import JsonlOptions, JsonlSink
    from keeptrust.audit.verify import verify_path

    for policy in ("batch", "interval", "every_record"):
        audit = AuditLoggerConfig(
            directory=str(tmp_path / policy), fsync=policy, segment_max_bytes=4096, batch_max_records=10
        )
        env = SinkEnv(audit=audit, logger=logging.getLogger("test.audit"), environ={})
        writer = AuditWriter(JsonlSink(JsonlOptions(), env), env, {"name": "p", "version": "1"})
        async with trio.open_nursery() as nursery:
            await nursery.start(writer.run)
            for i in range(100):
                await writer.submit({"type": "request", "request_id": f"{policy}-{i}", "pad": "x" * 100})
            await writer.aclose()
        [report] = verify_path(tmp_path / policy)
        assert report.ok and report.records == 101 and report.parts > 1, (policy, report)
        head = next((tmp_path / policy).rglob("head.json")).read_text()
        assert '"seq":100' in head


async def test_durable_submissions_wait_for_the_sink_and_share_its_commits():
    writer, sink = make_writer(durable_before_response=True, batch_max_delay_ms=25)
    returned: list[int] = []

    async def submit(i: int) -> None:
        await writer.submit_durable({"type": "request", "request_id": f"r{i}"})
        returned.append(i)

    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        sink.hold = trio.Event()
        for i in range(16):
            nursery.start_soon(submit, i)
        await trio.testing.wait_all_tasks_blocked()
        assert returned == []  # nothing returns before the sink has it
        batches = writer.batches
        sink.hold.set()
        await trio.testing.wait_all_tasks_blocked()
        assert sorted(returned) == list(range(16))
        # Sixteen answers, at most two commits: those that arrived while one was being written share
        # the next one (the writer never waits batch_max_delay_ms for a batch to fill).
        assert writer.batches - batches <= 2
        await writer.aclose()
    assert sorted(requests(sink)) == sorted(f"r{i}" for i in range(16))


def test_durable_before_response_holds_a_streams_done_until_the_record_is_durable(fake_upstream, gateway_factory):
    import threading

    import httpx

    gate = threading.Event()

    class GatedSink(MemorySink):
        async def write(self, records: list[dict[str, Any]]) -> None:
            if any(r["type"] == "request" for r in records):
                await trio.to_thread.run_sync(gate.wait)
            self.records.extend(records)

    class Plugin:
        @hookimpl
        def register_audit_sinks(self, register: Any) -> None:
            GatedSink.name = "gated"
            register(GatedSink)

    config = {
        "providers": {"targets": [openai_target(fake_upstream.url)]},
        "policies": {
            "chain": ["audit-logger"],
            "policy": {"audit-logger": {"destination": "gated", "durable_before_response": True}},
        },
    }
    gw = gateway_factory(config, environ=BASE_ENV, extra_plugins=[Plugin()])
    lines: list[str] = []
    body = {"model": "fake/model", "stream": True, "messages": [{"role": "user", "content": "one two three"}]}

    def stream() -> None:
        with httpx.stream("POST", gw.base_url + "/chat/completions", json=body, timeout=30) as response:
            for line in response.iter_lines():
                if line:
                    lines.append(line)

    reader = threading.Thread(target=stream)
    reader.start()
    deadline = time.monotonic() + 10
    while not any("three" in line for line in lines) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)
    assert any("three" in line for line in lines)  # the answer's content has arrived...
    assert "data: [DONE]" not in lines  # ...but not its end: the record is not durable yet
    gate.set()
    reader.join(10)
    assert lines[-1] == "data: [DONE]"
    policy = next(p for p in gw.app.gateway.chain.policies if p.name == "audit-logger")
    gw.stop()
    assert [r["type"] for r in policy.writer.sink.records] == ["start", "request"]

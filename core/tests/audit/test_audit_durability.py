"""Real `kt gateway run` processes: exactly-once records, SIGKILL, torn lines, tampering, retention."""

from __future__ import annotations

import collections
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import orjson
import pytest

from .conftest import audit_config, kt, read_chain_records, request_records


def chat(client, request_id: str, stream: bool = False) -> None:
    messages = [{"role": "user", "content": f"hello {request_id}"}]
    if stream:
        for _ in client.chat.completions.create(
            model="fake/model", messages=messages, stream=True, extra_headers={"x-request-id": request_id}
        ):
            pass
    else:
        client.chat.completions.create(
            model="fake/model", messages=messages, extra_headers={"x-request-id": request_id}
        )


def test_every_request_of_a_concurrent_multi_worker_run_is_recorded_exactly_once(upstream, gateway_process, tmp_path):
    audit_dir = tmp_path / "audit"
    gw = gateway_process(audit_config(upstream.url, audit_dir, include_response=True), workers=2)
    client = gw.client()
    ids = [f"conc-{i}" for i in range(240)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: chat(client, ids[i], stream=i % 4 == 0), range(len(ids))))
    assert gw.stop() == 0

    counts = collections.Counter(r["request_id"] for r in request_records(audit_dir))
    assert set(counts) == set(ids)
    assert set(counts.values()) == {1}
    chains = sorted(p for p in audit_dir.iterdir() if p.is_dir())
    assert len(chains) == 2  # one chain per worker process
    verified = kt("audit", "verify", str(audit_dir))
    assert verified.returncode == 0, verified.stdout
    assert f"OK: 2 chain(s), {len(ids) + 2} record(s) verified" in verified.stdout


def kill_under_load(gw, threads: int, answered_before_kill: int, stream_every: int = 0) -> tuple[list[str], list[str]]:
    """Drive ``gw`` from ``threads`` clients, SIGKILL it once enough answers came back; return the
    request ids sent and those whose answer the client received in full."""
    client = gw.client()
    sent: list[str] = []
    answered: list[str] = []
    enough = threading.Event()
    lock = threading.Lock()

    def load(worker: int) -> None:
        for i in range(100_000):
            request_id = f"kill-{worker}-{i}"
            with lock:
                sent.append(request_id)
            try:
                chat(client, request_id, stream=bool(stream_every) and i % stream_every == 0)
            except Exception:
                return
            with lock:
                answered.append(request_id)
                if len(answered) >= answered_before_kill:
                    enough.set()

    running = [threading.Thread(target=load, args=(w,)) for w in range(threads)]
    for t in running:
        t.start()
    assert enough.wait(120)
    gw.kill()
    for t in running:
        t.join(60)
    return sent, answered


def test_sigkill_under_load_leaves_a_log_verify_accepts_and_the_restart_continues_the_chain(
    upstream, gateway_process, tmp_path
):
    audit_dir = tmp_path / "audit"
    queue_size, batch = 64, 16
    config = audit_config(upstream.url, audit_dir, queue_size=queue_size, batch_max_records=batch)
    gw = gateway_process(config)
    threads = 8
    sent, answered = kill_under_load(gw, threads, answered_before_kill=300)

    verified = kt("audit", "verify", str(audit_dir))
    assert verified.returncode == 0, verified.stdout
    logged = collections.Counter(r["request_id"] for r in request_records(audit_dir))
    assert set(logged.values()) == {1}
    assert set(logged) <= set(sent)
    # SIGKILL loses only what was still queued in memory (the page cache survives a process kill):
    # at most queue_size + one batch, plus the requests caught between their answer and their enqueue.
    lost = set(answered) - set(logged)
    assert len(lost) <= queue_size + batch + threads, sorted(lost)
    head = orjson.loads(next(audit_dir.rglob("head.json")).read_bytes())
    assert head["seq"] <= max(r["seq"] for r in read_chain_records(audit_dir))

    gw2 = gateway_process(config)
    chat(gw2.client(), "after-restart")
    assert gw2.stop() == 0
    chains = [p for p in audit_dir.iterdir() if p.is_dir()]
    assert len(chains) == 1  # the restarted gateway resumed the chain the killed one left
    records = read_chain_records(audit_dir)
    restart = [r for r in records if r["type"] in ("start", "recovery") and r["seq"] > 0]
    assert len(restart) == 1 and restart[0]["resumed"] is True
    assert records[-1]["request_id"] == "after-restart"
    verified = kt("audit", "verify", str(audit_dir))
    assert verified.returncode == 0, verified.stdout


@pytest.mark.parametrize("destination", ["jsonl", "sqlite"])
def test_sigkill_with_durable_before_response_loses_no_answered_request(
    upstream, gateway_process, tmp_path, destination
):
    audit_dir = tmp_path / "audit"
    config = audit_config(upstream.url, audit_dir, destination=destination, durable_before_response=True)
    gw = gateway_process(config)
    # Every third request streams: it counts as answered once its [DONE] has arrived.
    _, answered = kill_under_load(gw, 16, answered_before_kill=400, stream_every=3)

    verified = kt("audit", "verify", str(audit_dir))
    assert verified.returncode == 0, verified.stdout
    if destination == "jsonl":
        records = request_records(audit_dir)
    else:
        query = kt("audit", "query", str(audit_dir), "--type", "request")
        records = [orjson.loads(line) for line in query.stdout.splitlines()]
    logged = {r["request_id"] for r in records}
    assert len(answered) >= 400
    assert set(answered) <= logged, sorted(set(answered) - logged)


def run_some(gateway_process, config, count: int, prefix: str = "r") -> None:
    gw = gateway_process(config)
    client = gw.client()
    for i in range(count):
        chat(client, f"{prefix}-{i}")
    assert gw.stop() == 0


def last_segment(audit_dir: Path) -> Path:
    return sorted(audit_dir.rglob("seg-*.jsonl"))[-1]


def test_a_torn_last_line_is_reported_then_cut_with_a_recovery_record(upstream, gateway_process, tmp_path):
    audit_dir = tmp_path / "audit"
    config = audit_config(upstream.url, audit_dir)
    run_some(gateway_process, config, 5)
    segment = last_segment(audit_dir)
    whole = segment.read_bytes()
    # What a crash in the middle of write(2) leaves: the start of a record and no newline.
    with open(segment, "ab") as f:
        f.write(whole.splitlines(keepends=True)[-1][:57])

    verified = kt("audit", "verify", str(audit_dir))
    assert verified.returncode == 0, verified.stdout
    assert "torn last line (57 bytes, no newline)" in verified.stdout

    run_some(gateway_process, config, 2, prefix="after")
    assert segment.read_bytes().startswith(whole)
    assert len(list(segment.parent.glob("seg-*.jsonl.torn-*"))) == 1
    records = read_chain_records(audit_dir)
    recovery = [r for r in records if r["type"] == "recovery"]
    assert len(recovery) == 1 and recovery[0]["recovery"]["truncated_bytes"] == 57
    assert [r["request_id"] for r in records if r["type"] == "request"][-2:] == ["after-0", "after-1"]
    verified = kt("audit", "verify", str(audit_dir))
    assert verified.returncode == 0, verified.stdout
    assert "recovered after a crash — 57 torn byte(s)" in verified.stdout


def test_tampering_is_reported_at_the_record_and_says_how(upstream, gateway_process, tmp_path):
    audit_dir = tmp_path / "audit"
    run_some(gateway_process, audit_config(upstream.url, audit_dir), 10)
    original = next(p for p in audit_dir.iterdir() if p.is_dir())

    def tampered(name: str, change) -> str:
        copy = tmp_path / name
        shutil.copytree(original, copy)
        segment = copy / "seg-000001.jsonl"
        lines = segment.read_bytes().splitlines(keepends=True)
        segment.write_bytes(b"".join(change(lines)))
        result = kt("audit", "verify", str(copy))
        assert result.returncode == 1, result.stdout
        return result.stdout

    def flip_one_byte(lines):
        line = lines[5]
        at = line.index(b'"request_id":"r-4"') + len('"request_id":"r-')
        lines[5] = line[:at] + b"5" + line[at + 1 :]
        return lines

    assert "seg-000001.jsonl line 6 (seq 5): edited — the record's hash does not match" in tampered(
        "flipped", flip_one_byte
    )
    assert "line 6 (seq 6): deleted — seq 5 missing before this record" in tampered(
        "deleted", lambda lines: lines[:5] + lines[6:]
    )
    assert "line 6 (seq 6): reordered — seq 6 is stored before seq 5" in tampered(
        "reordered", lambda lines: [*lines[:5], lines[6], lines[5], *lines[7:]]
    )
    assert "truncated — head.json says seq 10 was durable, but the log ends at seq 8" in tampered(
        "truncated", lambda lines: lines[:9]
    )

    def rewrite_with_a_fresh_hash(lines):
        from keeptrust.audit import canonical, record_hash

        record = orjson.loads(lines[3])
        record["status"] = 204
        record["hash"] = record_hash(record)
        lines[3] = canonical(record) + b"\n"
        return lines

    assert "line 5 (seq 4): edited — prev_hash is not the hash of seq 3" in tampered(
        "rehashed", rewrite_with_a_fresh_hash
    )
    untouched = kt("audit", "verify", str(original))
    assert untouched.returncode == 0 and "11 record(s) (seq 0-10)" in untouched.stdout


def test_retention_prunes_whole_segments_behind_an_anchor(upstream, gateway_process, tmp_path):
    audit_dir = tmp_path / "audit"
    small = audit_config(upstream.url, audit_dir, include_request=True, segment_max_bytes=1500, batch_max_delay_ms=0)
    run_some(gateway_process, small, 12)
    chain = next(p for p in audit_dir.iterdir() if p.is_dir())
    before = sorted(p.name for p in chain.glob("seg-*.jsonl"))
    assert len(before) > 3

    # The running gateway prunes at start-up (and then every prune_interval_minutes).
    run_some(
        gateway_process,
        {
            **small,
            "policies": {
                "chain": ["audit-logger"],
                "policy": {"audit-logger": {**small["policies"]["policy"]["audit-logger"], "retention_days": 0}},
            },
        },
        3,
        prefix="later",
    )
    after = sorted(p.name for p in chain.glob("seg-*.jsonl"))
    assert before[0] not in after
    anchor = orjson.loads((chain / "anchor.json").read_bytes())
    assert anchor["pruned_through_seq"] >= 0 and anchor["pruned"][0]["segment"] == before[0]
    verified = kt("audit", "verify", str(audit_dir))
    assert verified.returncode == 0, verified.stdout
    assert "pruned by retention" in verified.stdout

    pruned = kt("audit", "prune", str(audit_dir), "--retention-days", "0")
    assert pruned.returncode == 0 and "pruned" in pruned.stdout
    assert len(list(chain.glob("seg-*.jsonl"))) == 1
    assert kt("audit", "verify", str(audit_dir)).returncode == 0

    (chain / "anchor.json").unlink()
    broken = kt("audit", "verify", str(audit_dir))
    assert broken.returncode == 1
    assert "deleted — the chain starts at seq" in broken.stdout and "no retention anchor" in broken.stdout

"""A local attacker with write access to the audit directory, against logs written by real
`kt gateway run` processes (jsonl and sqlite): what `kt audit verify` detects, with and without a key,
and what it names."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import orjson
import yaml

from keeptrust.audit import canonical, record_hash
from keeptrust.audit.signing import key_id_of

from .conftest import audit_config, kt

KEY = "k" * 32
OTHER_KEY = "o" * 32
KEY_ENV = {"KT_AUDIT_KEY": KEY, "KT_AUDIT_KEY_OLD": OTHER_KEY}


def write_log(gateway_process, upstream, directory: Path, count: int = 10, env=None, **audit: Any) -> Path:
    gw = gateway_process(audit_config(upstream.url, directory, batch_max_delay_ms=0, **audit), env=env)
    client = gw.client()
    for i in range(count):
        client.chat.completions.create(
            model="fake/model",
            messages=[{"role": "user", "content": f"q{i}"}],
            extra_headers={"x-request-id": f"r-{i}"},
        )
    assert gw.stop() == 0
    return directory


def verify(path: Path, *args: str) -> tuple[int, str]:
    result = kt("audit", "verify", str(path), *args, env=KEY_ENV)
    return result.returncode, result.stdout + result.stderr


def chain_copy(directory: Path, tmp_path: Path, name: str) -> Path:
    original = next(p for p in directory.iterdir() if p.is_dir())
    copy = tmp_path / name
    shutil.copytree(original, copy)
    return copy


def lines_of(segment: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in segment.read_bytes().splitlines()]


def rechain(records: list[dict[str, Any]], prev: str) -> list[dict[str, Any]]:
    """What an attacker who knows the format does after an edit: recompute every hash after it."""
    for record in records:
        record["prev_hash"] = prev
        record["hash"] = record_hash(record)
        prev = record["hash"]
    return records


def write_lines(segment: Path, records: list[dict[str, Any]]) -> None:
    segment.write_bytes(b"".join(canonical(r) + b"\n" for r in records))


# ---------------------------------------------------------------------------------------- jsonl


def test_jsonl_what_the_chain_promises_comes_from_the_operator_not_chain_json(upstream, gateway_process, tmp_path):
    log = write_log(gateway_process, upstream, tmp_path / "audit")
    chain = chain_copy(log, tmp_path, "flipped")
    meta = orjson.loads((chain / "chain.json").read_bytes())
    (chain / "chain.json").write_bytes(orjson.dumps({**meta, "immutable": False}))
    segment = chain / "seg-000001.jsonl"
    records = lines_of(segment)
    records[4]["status"] = 204  # edited, and every hash stripped as if never hash-chained
    for r in records:
        r.pop("hash"), r.pop("prev_hash")
    write_lines(segment, records)

    code, out = verify(chain)
    assert code == 1
    assert "seg-000001.jsonl line 1 (seq 0): edited — the record has no hash" in out
    config = tmp_path / "policy-config.yaml"
    config.write_text(yaml.safe_dump(audit_config(upstream.url, log)))
    code, out = verify(chain, "--policy-config", str(config))
    assert code == 1 and "the record has no hash" in out
    # Only the operator can lower the bar, knowingly.
    code, out = verify(chain, "--not-hash-chained", "--allow-missing-head")
    assert code == 0 and "only seq continuity was checked" in out


def test_jsonl_a_missing_head_fails_unless_the_operator_accepts_it(upstream, gateway_process, tmp_path):
    log = write_log(gateway_process, upstream, tmp_path / "audit")
    chain = chain_copy(log, tmp_path, "headless")
    segment = chain / "seg-000001.jsonl"
    segment.write_bytes(b"".join(segment.read_bytes().splitlines(keepends=True)[:-2]))
    (chain / "head.json").unlink()

    code, out = verify(chain)
    assert code == 1
    assert "head.json missing — the chain's durable head is gone" in out
    code, out = verify(chain, "--allow-missing-head")
    assert code == 0 and "warning: head.json missing" in out
    # A chain that never got past its creation has a head too (seq -1).
    untouched = next(p for p in log.iterdir() if p.is_dir())
    assert orjson.loads((untouched / "head.json").read_bytes())["seq"] == 10


def test_jsonl_a_consistent_rewrite_is_caught_only_with_the_key(upstream, gateway_process, tmp_path):
    log = write_log(gateway_process, upstream, tmp_path / "audit", env=KEY_ENV, signing_key_ref={"env": "KT_AUDIT_KEY"})
    original = next(p for p in log.iterdir() if p.is_dir())
    code, out = verify(original, "--key-env", "KT_AUDIT_KEY")
    assert code == 0 and f"head signed by {key_id_of(KEY.encode())}" in out

    chain = chain_copy(log, tmp_path, "rewritten")
    segment = chain / "seg-000001.jsonl"
    records = lines_of(segment)
    records[4]["status"] = 204
    write_lines(segment, records[:4] + rechain(records[4:], records[3]["hash"]))
    head = orjson.loads((chain / "head.json").read_bytes())
    head["hash"] = records[-1]["hash"]  # the head follows, keeping its old signature...
    (chain / "head.json").write_bytes(orjson.dumps(head))

    code, out = verify(chain)
    assert code == 0  # without the key a consistent rewrite verifies: the documented limit
    assert "signed (key k-" in out and "was not checked" in out
    code, out = verify(chain, "--key-env", "KT_AUDIT_KEY")
    assert code == 1 and "head.json: forged — its signature does not match its content" in out

    del head["sig"]  # ...or drops it
    (chain / "head.json").write_bytes(orjson.dumps(head))
    code, out = verify(chain, "--key-env", "KT_AUDIT_KEY")
    assert code == 1 and "head.json is not signed" in out
    code, out = verify(original, "--key-env", "KT_AUDIT_KEY_OLD")
    assert code == 1 and "not one given" in out


def test_jsonl_a_forged_anchor_cannot_make_deleted_segments_look_pruned(upstream, gateway_process, tmp_path):
    log = write_log(
        gateway_process,
        upstream,
        tmp_path / "audit",
        # Segments rotate between batches; enough records that a loaded machine's larger batches
        # still leave more than three segments.
        count=30,
        env=KEY_ENV,
        signing_key_ref={"env": "KT_AUDIT_KEY"},
        segment_max_bytes=1500,
    )
    original = next(p for p in log.iterdir() if p.is_dir())
    assert len(list(original.glob("seg-*.jsonl"))) > 3
    chain = chain_copy(log, tmp_path, "forged")
    first, second = sorted(chain.glob("seg-*.jsonl"))[:2]
    deleted = lines_of(first) + lines_of(second)
    first.unlink()
    second.unlink()
    # The attacker writes the anchor pruning would have written: every field can be derived from
    # what is left, and its own hash is easy to compute...
    split = len(lines_of(original / first.name))
    anchor: dict[str, Any] = {
        "type": "anchor",
        "chain": deleted[0]["chain"],
        "pruned_through_seq": deleted[-1]["seq"],
        "last_hash": deleted[-1]["hash"],
        "last_segment": 2,
        "pruned": [
            {"segment": first.name, "first_seq": 0, "last_seq": split - 1, "records": split},
            {
                "segment": second.name,
                "first_seq": split,
                "last_seq": deleted[-1]["seq"],
                "records": len(deleted) - split,
            },
        ],
        "pruned_at": 0,
        "prev_anchor_hash": None,
    }
    anchor["hash"] = record_hash(anchor)
    (chain / "anchor.json").write_bytes(orjson.dumps(anchor))

    code, out = verify(chain)
    assert code == 0  # without the key the forgery is consistent: the documented limit
    code, out = verify(chain, "--key-env", "KT_AUDIT_KEY")
    assert code == 1 and "anchor.json is not signed" in out

    # A forgery that does not account for every pruned seq from 0 fails even without the key.
    anchor["pruned"] = anchor["pruned"][1:]
    anchor["hash"] = record_hash(anchor)
    (chain / "anchor.json").write_bytes(orjson.dumps(anchor))
    code, out = verify(chain)
    assert code == 1 and "anchor.json: forged — it covers seqs" in out and "must join up from seq 0" in out

    # Real retention signs its anchor: the pruned chain verifies with the key.
    pruned = kt("audit", "prune", str(log), "--retention-days", "0", "--key-env", "KT_AUDIT_KEY", env=KEY_ENV)
    assert pruned.returncode == 0, pruned.stderr
    code, out = verify(log, "--key-env", "KT_AUDIT_KEY")
    assert code == 0 and "pruned by retention" in out, out


def test_key_rotation_verifies_with_every_key_of_the_rotation(upstream, gateway_process, tmp_path):
    log = tmp_path / "audit"
    old = {"signing_key_ref": {"env": "KT_AUDIT_KEY_OLD"}, "signing_key_id": "2026-old", "segment_max_bytes": 1500}
    write_log(gateway_process, upstream, log, count=8, env=KEY_ENV, **old)
    # Retention under the old key, then a restart under the new one: the anchor keeps the old key's
    # signature, the head carries the new one's.
    pruned = kt(
        "audit", "prune", str(log), "--retention-days", "0", "--key-env", "KT_AUDIT_KEY_OLD:2026-old", env=KEY_ENV
    )
    assert pruned.returncode == 0, pruned.stderr
    write_log(gateway_process, upstream, log, count=2, env=KEY_ENV, signing_key_ref={"env": "KT_AUDIT_KEY"})

    code, out = verify(log, "--key-env", "KT_AUDIT_KEY")
    assert code == 1 and "anchor.json is signed with key '2026-old', not one given" in out
    code, out = verify(log, "--key-env", "KT_AUDIT_KEY", "--key-env", "KT_AUDIT_KEY_OLD:2026-old")
    assert code == 0 and f"head signed by {key_id_of(KEY.encode())}" in out, out


# ---------------------------------------------------------------------------------------- sqlite


def sqlite_log(gateway_process, upstream, tmp_path: Path, **audit: Any) -> Path:
    log = write_log(gateway_process, upstream, tmp_path / "audit", destination="sqlite", **audit)
    return log / "audit.sqlite3"


def tampered_db(database: Path, tmp_path: Path, name: str, *statements: str) -> Path:
    copy = tmp_path / f"{name}.sqlite3"
    shutil.copy(database, copy)
    db = sqlite3.connect(copy)
    try:
        for statement in statements:
            db.execute(statement)
        db.commit()
    finally:
        db.close()
    return copy


def test_sqlite_refuses_deletes_and_verify_catches_what_dropping_the_guards_allows(upstream, gateway_process, tmp_path):
    database = sqlite_log(gateway_process, upstream, tmp_path)
    assert verify(database)[0] == 0
    db = sqlite3.connect(database)
    try:
        for statement in (
            "DELETE FROM audit_records WHERE seq = 3",
            "DELETE FROM audit_heads",
            "UPDATE audit_heads SET seq = 2",
        ):
            try:
                db.execute(statement)
                raise AssertionError(f"{statement} went through")
            except sqlite3.DatabaseError as exc:
                assert "audit" in str(exc)
    finally:
        db.close()

    row = sqlite3.connect(database).execute("SELECT record FROM audit_records WHERE seq = 3").fetchone()[0]
    stripped = orjson.loads(row)
    stripped.pop("hash"), stripped.pop("prev_hash")
    reinserted = tampered_db(
        database,
        tmp_path,
        "reinserted",
        "DROP TRIGGER audit_records_no_delete",
        "DELETE FROM audit_records WHERE seq = 3",
        "INSERT INTO audit_records (chain, seq, ts, type, request_id, status, model, target, role, endpoint, "
        f"record) SELECT chain, 3, ts, type, request_id, status, model, target, role, endpoint, "
        f"'{canonical(stripped).decode()}' FROM audit_records WHERE seq = 4",
    )
    code, out = verify(reinserted)
    assert code == 1 and "row (seq 3): edited — the record has no hash" in out

    cut = tampered_db(
        database, tmp_path, "cut", "DROP TRIGGER audit_records_no_delete", "DELETE FROM audit_records WHERE seq >= 9"
    )
    code, out = verify(cut)
    assert code == 1 and "truncated — audit_heads row says seq 10 was durable, but the log ends at seq 8" in out
    headless = tampered_db(
        database,
        tmp_path,
        "headless",
        "DROP TRIGGER audit_records_no_delete",
        "DROP TRIGGER audit_heads_no_delete",
        "DELETE FROM audit_records WHERE seq >= 9",
        "DELETE FROM audit_heads",
    )
    code, out = verify(headless)
    assert code == 1 and "audit_heads row missing" in out

    hidden = tampered_db(
        database,
        tmp_path,
        "hidden",
        "DROP TRIGGER audit_records_append_only",
        "UPDATE audit_records SET status = 204 WHERE request_id = 'r-5'",
    )
    # The column hides the record from a status query...
    query = kt("audit", "query", str(hidden), "--status", "200")
    assert "r-5" not in query.stdout and "r-4" in query.stdout
    # ...and verify names it.
    code, out = verify(hidden)
    assert code == 1 and "edited — column status is 204 but the hashed record says 200" in out


def test_sqlite_consistent_rewrite_is_caught_with_the_key(upstream, gateway_process, tmp_path):
    database = sqlite_log(gateway_process, upstream, tmp_path, env=KEY_ENV, signing_key_ref={"env": "KT_AUDIT_KEY"})
    code, out = verify(database, "--key-env", "KT_AUDIT_KEY")
    assert code == 0 and "head signed by" in out
    rows = sqlite3.connect(database).execute("SELECT seq, record FROM audit_records ORDER BY seq").fetchall()
    records = [orjson.loads(text) for _, text in rows]
    records[5]["status"] = 204
    rechain(records[5:], records[4]["hash"])
    head = orjson.loads(sqlite3.connect(database).execute("SELECT record FROM audit_heads").fetchone()[0])
    head["hash"] = records[-1]["hash"]
    statements = ["DROP TRIGGER audit_records_append_only"]
    for record in records[5:]:
        text = canonical(record).decode().replace("'", "''")
        statements.append(
            f"UPDATE audit_records SET record = '{text}', status = {record['status']} WHERE seq = {record['seq']}"
        )
    statements.append(f"UPDATE audit_heads SET record = '{canonical(head).decode()}'")
    rewritten = tampered_db(database, tmp_path, "rewritten", *statements)
    assert verify(rewritten)[0] == 0  # the documented limit without a key
    code, out = verify(rewritten, "--key-env", "KT_AUDIT_KEY")
    assert code == 1 and "audit_heads row: forged — its signature does not match its content" in out


# ---------------------------------------------------------------------------------------- files, terminal


def test_audit_files_are_private_to_owner_and_group_for_every_sink(upstream, gateway_process, tmp_path):
    import os
    import stat

    previous = os.umask(0)  # the gateway inherits a umask that would let anyone read what it creates
    try:
        for destination, extra in (
            ("jsonl", {}),
            ("sqlite", {}),
            ("api", {"endpoint": "http://127.0.0.1:9/ingest", "sink": {"drain_timeout_seconds": 0.1}}),
        ):
            write_log(gateway_process, upstream, tmp_path / destination, count=2, destination=destination, **extra)
    finally:
        os.umask(previous)
    seen = []
    for path in tmp_path.rglob("*"):
        if path.parent == tmp_path or path.suffix in (".log", ".yaml"):
            continue  # the test's own files
        mode = stat.S_IMODE(path.stat().st_mode)
        seen.append(path.name)
        assert mode & 0o007 == 0, (path, oct(mode))  # nothing for others
        assert mode & 0o022 == 0, (path, oct(mode))  # nobody but the owner writes
    assert {"seg-000001.jsonl", "head.json", "chain.json", "audit.sqlite3", "spool"} <= set(seen), seen


def test_tail_and_query_escape_control_characters_from_unknown_routes(upstream, gateway_process, tmp_path):
    import json

    import httpx

    log = tmp_path / "audit"
    gw = gateway_process(audit_config(upstream.url, log, log_all_access=True, batch_max_delay_ms=0))
    # Unknown routes are audited before authentication: anyone can choose this path.
    forged = "/v1/x%0a2026-01-01T00:00:00.000Z%20%20request%20%20200%20%20/v1/chat/completions%1b%5b2K%c2%9b%e2%80%ae"
    assert httpx.get(gw.url + forged).status_code == 404
    assert gw.stop() == 0

    for args in (("tail",), ("query", "--summary"), ("query",), ("tail", "--json")):
        out = kt("audit", *args[:1], str(log), *args[1:]).stdout
        assert "\x1b" not in out and "\x9b" not in out and "\u202e" not in out, (args, out)
        lines = [line for line in out.splitlines() if "/v1/x" in line]
        assert len(lines) == 1 and len(out.splitlines()) == 2, (args, out)  # the start record and this one
        if "--summary" in args or args == ("tail",):
            assert "/v1/x\\x0a2026-01-01" in lines[0] and "\\x1b[2K\\x9b\\u202e" in lines[0]
        else:
            assert json.loads(lines[0])["endpoint"].startswith("/v1/x\n2026-01-01")  # the JSON still parses


async def test_sqlite_retention_deletes_behind_a_signed_anchor_and_verifies(tmp_path):
    import logging

    import trio

    from keeptrust.audit import AuditLoggerConfig, SinkEnv
    from keeptrust.audit.signing import Keyring, SigningKey
    from keeptrust.audit.sqlite_sink import SqliteOptions, SqliteSink, connect, prune_database
    from keeptrust.audit.verify import Expectations, verify_path
    from keeptrust.audit.writer import AuditWriter

    key = SigningKey.from_secret(KEY)
    audit = AuditLoggerConfig(destination="sqlite", directory=str(tmp_path), batch_max_delay_ms=0)
    env = SinkEnv(audit=audit, logger=logging.getLogger("test.audit"), environ={}, signer=key)
    writer = AuditWriter(SqliteSink(SqliteOptions(), env), env, {"name": "p", "version": "1"})
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        for i in range(20):
            await writer.submit({"type": "request", "request_id": f"r-{i}"})
        await writer.aclose()
    db = connect(tmp_path / "audit.sqlite3")
    try:
        assert prune_database(db, 4102444800.0, key) == 21  # everything, including the head's record
        assert prune_database(db, 4102444800.0, key) == 0
    finally:
        db.close()
    keyed = Expectations(keys=Keyring([key]))
    [report] = verify_path(tmp_path, keyed)
    assert report.ok and report.records == 0 and "pruned by retention" in report.notes[0], report
    [unkeyed_anchor] = verify_path(tmp_path, Expectations(keys=Keyring([SigningKey.from_secret(OTHER_KEY)])))
    assert "signed with key" in unkeyed_anchor.problem

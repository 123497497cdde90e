"""A policy that hangs (in async code, or in blocking work in a worker thread) never holds a
request: past its ``timeout_ms`` the request goes on as ``on_timeout`` says, and the audit record
keeps that decision and names the upstream actually called. A real gateway process throughout."""

from __future__ import annotations

import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import orjson
import pytest

from keeptrust.demo import FakeOpenAI
from keeptrust.testing import openai_target, serve_app
from keeptrust.testing.process import GatewayProcess

STALL = """
    import time

    import trio

    from keeptrust import Policy, hookimpl


    class Stall(Policy):
        '''Never decides: sleeps forever on the event loop's clock.'''

        name = "stall"

        async def on_request(self, ctx):
            await trio.sleep_forever()


    class StallInThread(Policy):
        '''Blocking work in a worker thread, as the CPU-bound detectors run theirs (abandonable).'''

        name = "stall-thread"

        async def on_request(self, ctx):
            await trio.to_thread.run_sync(time.sleep, 4, abandon_on_cancel=True)


    @hookimpl
    def register_policies(register):
        register(Stall)
        register(StallInThread)
"""
CHAT = {"model": "fake/model", "messages": [{"role": "user", "content": "hello"}]}


def _install(root: Path) -> None:
    info = root / "keeptrust_stall-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: keeptrust-stall\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[keeptrust]\nstall = keeptrust_stall\n")
    (root / "keeptrust_stall.py").write_text(textwrap.dedent(STALL))


@pytest.fixture(scope="module")
def upstream():
    server = serve_app(FakeOpenAI())
    yield server
    server.stop()


def _gateway(tmp_path: Path, upstream_url: str, chain: list[str], policy: dict) -> tuple[GatewayProcess, Path]:
    _install(tmp_path)
    audit = tmp_path / "audit"
    config = {
        "pack": {"name": "budget", "version": "1.0.0"},
        "providers": {"targets": [openai_target(upstream_url)]},
        "policies": {
            "chain": [*chain, "audit-logger"],
            "policy": {**policy, "audit-logger": {"directory": str(audit), "include_policy_decisions": True}},
        },
    }
    env = {"PYTHONPATH": str(tmp_path), "KEEPTRUST_LOAD_PLUGINS": "stall"}
    return GatewayProcess(tmp_path, config, env=env), audit


def _records(audit: Path) -> list[dict]:
    return [orjson.loads(line) for p in sorted(audit.rglob("seg-*.jsonl")) for line in p.read_bytes().splitlines()]


def test_a_hanging_policy_that_blocks_on_timeout_answers_503_in_time(tmp_path, upstream):
    gw, audit = _gateway(tmp_path, upstream.url, ["stall"], {"stall": {"timeout_ms": 300}})
    try:
        seen = len(upstream.app.requests)
        started = time.monotonic()
        r = httpx.post(gw.url + "/v1/chat/completions", json=CHAT, timeout=30)
        assert time.monotonic() - started < 5
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "policy_timeout"
        assert "stall" in r.json()["error"]["message"]
        assert len(upstream.app.requests) == seen  # an unchecked request never reaches the upstream
    finally:
        assert gw.stop() == 0
    (record,) = [r for r in _records(audit) if r["type"] == "request"]
    assert record["status"] == 503
    assert {
        "policy": "stall",
        "phase": "request",
        "action": "block",
        "reason": "no decision within 300 ms",
        "details": {"timeout_ms": 300, "on_timeout": "block"},
    } in record["decisions"]


def test_a_policy_stuck_in_a_thread_lets_requests_through_when_told_to(tmp_path, upstream):
    policy = {"stall-thread": {"timeout_ms": 200, "on_timeout": "allow"}}
    gw, audit = _gateway(tmp_path, upstream.url, ["stall-thread"], policy)
    try:
        started = time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            answers = list(
                pool.map(lambda _: httpx.post(gw.url + "/v1/chat/completions", json=CHAT, timeout=30), range(4))
            )
        # Each thread sleeps 4 s; the requests do not wait for them.
        assert time.monotonic() - started < 3.5
        assert [a.status_code for a in answers] == [200] * 4
    finally:
        assert gw.stop() == 0
    records = [r for r in _records(audit) if r["type"] == "request"]
    assert len(records) == 4
    for record in records:
        assert record["status"] == 200
        assert record["decisions"][0]["action"] == "allow"
        assert record["decisions"][0]["details"] == {"timeout_ms": 200, "on_timeout": "allow"}
        assert record["upstream"] == {
            "url": upstream.url + "/v1/chat/completions",
            "backend": None,
            "region": None,
        }

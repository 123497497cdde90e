"""Operations against a real `kt gateway run` process: metrics across workers, diagnosable upstream
failures in the log, JSON logs, reload."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from keeptrust.demo import FakeOpenAI
from keeptrust.testing import openai_target, serve_app
from keeptrust.testing.process import GatewayProcess

MARKER = "sk-SECRET-MARKER-ops-4c1d7e9a02"
CHAT = {"model": "fake/model", "messages": [{"role": "user", "content": "w"}]}


@pytest.fixture
def upstream():
    server = serve_app(FakeOpenAI(token=MARKER))
    yield server
    server.stop()


def _config(upstream_url: str, **server) -> dict:
    return {
        "pack": {"name": "ops", "version": "1.0.0"},
        "server": server,
        "providers": {"targets": [openai_target(upstream_url, secret_key_ref={"env": "UPSTREAM_KEY"})]},
    }


def _answered(url: str) -> float:
    text = httpx.get(url + "/metrics", timeout=10).text
    total = 0.0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "keeptrust_requests_total" and s.labels["outcome"] == "answered":
                total += s.value
    return total


def test_metrics_add_up_across_workers(tmp_path, upstream):
    gw = GatewayProcess(tmp_path, _config(upstream.url), "--workers", "2", env={"UPSTREAM_KEY": MARKER})
    try:
        # A fresh run starts from zero, whatever earlier runs counted.
        assert _answered(gw.url) == 0
        for _ in range(10):
            assert httpx.post(gw.url + "/v1/chat/completions", timeout=10, json=CHAT).status_code == 200
        # Each scrape lands on either worker; every one sees both workers' counts.
        assert [_answered(gw.url) for _ in range(6)] == [10.0] * 6
    finally:
        assert gw.stop() == 0


def test_an_unreachable_upstream_is_diagnosed_in_the_answer_and_the_log(tmp_path):
    from keeptrust.testing.process import free_port

    port = free_port()  # nothing listens there
    config = {
        "pack": {"name": "ops", "version": "1.0.0"},
        "providers": {
            "targets": [
                openai_target(f"http://127.0.0.1:{port}", "down", max_retries=2, secret_key_ref={"env": "UPSTREAM_KEY"})
            ]
        },
    }
    gw = GatewayProcess(tmp_path, config, env={"UPSTREAM_KEY": MARKER})
    try:
        r = httpx.post(gw.url + "/v1/chat/completions", timeout=20, json=CHAT)
        assert r.status_code == 502
        message = r.json()["error"]["message"]
        assert message == (
            f"target 'down': the upstream http://127.0.0.1:{port} could not be reached: connection refused (3 attempts)"
        )
    finally:
        gw.stop()
    log = gw.output()
    lines = [line for line in log.splitlines() if "target 'down': attempt" in line]
    assert len(lines) == 3, log
    assert all(f"to http://127.0.0.1:{port} failed: connection refused [refused]" in line for line in lines)
    assert MARKER not in log

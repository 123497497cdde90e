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

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


GATEWAY_KEY = "gw-KEY-MARKER-ops-8b2f61c0d4"


@pytest.mark.parametrize("how", ["flag", "config"])
def test_json_logs_one_line_per_request_and_never_a_secret(tmp_path, upstream, how):
    import json

    config = _config(upstream.url, auth={"keys": [{"key_ref": {"env": "GATEWAY_KEY"}, "role": "dev"}]})
    config["policies"] = {"chain": ["rate-limiter"], "policy": {"rate-limiter": {"requests_per_minute": 2}}}
    args: tuple[str, ...] = ("--log-format", "json")
    if how == "config":
        config["server"]["log_format"] = "json"
        args = ()
    env = {"UPSTREAM_KEY": MARKER, "GATEWAY_KEY": GATEWAY_KEY}
    gw = GatewayProcess(tmp_path, config, *args, "--log-level", "debug", env=env)
    auth = {"authorization": f"Bearer {GATEWAY_KEY}"}
    try:
        ok = httpx.post(gw.url + "/v1/chat/completions", timeout=10, json=CHAT, headers={**auth, "x-request-id": "r-1"})
        assert ok.status_code == 200
        # A client that sends a secret where an id goes: the log still never shows it.
        sneaky = {**auth, "x-request-id": GATEWAY_KEY}
        assert httpx.post(gw.url + "/v1/chat/completions", timeout=10, json=CHAT, headers=sneaky).status_code == 200
        limited = httpx.post(gw.url + "/v1/chat/completions", timeout=10, json=CHAT, headers=auth)
        assert limited.status_code == 429
        assert httpx.post(gw.url + "/v1/chat/completions", timeout=10, json=CHAT).status_code == 401
        gw.wait_for_log('"status":401')
    finally:
        assert gw.stop() == 0
    text = gw.output()
    assert MARKER not in text and GATEWAY_KEY not in text
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line is JSON
    assert all({"ts", "level", "logger", "pid", "message"} <= set(line) for line in lines)
    access = [line for line in lines if line.get("event") == "request"]
    assert len(access) == 4
    first = access[0]
    assert first["request_id"] == "r-1" and first["route"] == "/v1/chat/completions" and first["target"] == "fake"
    assert first["status"] == 200 and first["outcome"] == "answered" and first["latency_ms"] > 0
    assert first["key_id"] and first["role"] == "dev"
    assert access[2]["status"] == 429 and access[2]["outcome"] == "blocked"
    assert access[2]["blocked_by"] == "rate-limiter"
    assert access[3]["status"] == 401 and access[3]["outcome"] == "refused"


def test_the_human_format_stays_the_default(tmp_path, upstream):
    gw = GatewayProcess(tmp_path, _config(upstream.url), env={"UPSTREAM_KEY": MARKER})
    try:
        headers = {"x-request-id": "r-human"}
        assert httpx.post(gw.url + "/v1/chat/completions", timeout=10, json=CHAT, headers=headers).status_code == 200
        line = gw.wait_for_log("r-human")
    finally:
        gw.stop()
    assert "INFO keeptrust.access" in line
    assert "r-human POST /v1/chat/completions -> 200 answered target=fake" in line
    assert not line.lstrip().startswith("{")

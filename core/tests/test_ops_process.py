"""Operations against a real `kt gateway run` process: metrics across workers, diagnosable upstream
failures in the log, JSON logs, reload."""

from __future__ import annotations

import json

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


def _reload(gw: GatewayProcess, pid_file) -> None:
    import subprocess
    import sys
    import time
    from pathlib import Path

    deadline = time.monotonic() + 10
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    kt = str(Path(sys.executable).with_name("kt"))
    done = subprocess.run([kt, "gateway", "reload", "--pid-file", str(pid_file)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "sent SIGHUP" in done.stdout


def _wait_count(gw: GatewayProcess, text: str, count: int, timeout: float = 30.0) -> str:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = gw.output()
        if out.count(text) >= count:
            return out
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not {count} times in the gateway log: {gw.output()}")


@pytest.fixture
def second_upstream():
    server = serve_app(FakeOpenAI(token=MARKER, reply="from the new upstream"))
    yield server
    server.stop()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_reload_switches_new_requests_while_a_stream_in_flight_finishes(tmp_path, upstream, second_upstream, workers):
    upstream.app.chunk_delay = 0.1
    upstream.app.reply = " ".join(f"w{i}" for i in range(40))
    pid_file = tmp_path / "kt.pid"
    gw = GatewayProcess(
        tmp_path, _config(upstream.url), "--workers", workers, "--pid-file", str(pid_file), env={"UPSTREAM_KEY": MARKER}
    )
    try:
        _wait_count(gw, "Running on", int(workers))
        old_answer = httpx.post(gw.url + "/v1/chat/completions", timeout=10, json=CHAT).json()
        assert old_answer["choices"][0]["message"]["content"] == upstream.app.reply
        new_config = _config(second_upstream.url)
        text: list[str] = []
        lines: list[str] = []
        with httpx.stream("POST", gw.url + "/v1/chat/completions", timeout=30, json={**CHAT, "stream": True}) as r:
            for line in r.iter_lines():
                if line.startswith("data: {") and not text:
                    gw.write_config(new_config)
                    _reload(gw, pid_file)
                    _wait_count(gw, "reloaded ", int(workers))
                    # New requests see the new routing while the stream is still in flight.
                    for _ in range(4):
                        answer = httpx.post(gw.url + "/v1/chat/completions", timeout=10, json=CHAT).json()
                        assert answer["choices"][0]["message"]["content"] == "from the new upstream"
                if line.startswith("data: {"):
                    text.append(json.loads(line[6:])["choices"][0]["delta"].get("content") or "")
                if line:
                    lines.append(line)
        assert "".join(text) == upstream.app.reply
        assert lines[-1] == "data: [DONE]"
        # The old generation is closed once its last request (the stream) ended.
        _wait_count(gw, "generation 1 closed", int(workers))
        # Each process kept its long-lived objects out of the collector's full collections at
        # start-up, and again for the new generation once the old one closed.
        _wait_count(gw, "long-lived objects out of the garbage collector's full collections", 2 * int(workers))
    finally:
        assert gw.stop() == 0
    assert not pid_file.exists()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_an_invalid_config_is_refused_and_the_old_one_keeps_serving(tmp_path, upstream, workers):
    pid_file = tmp_path / "kt.pid"
    gw = GatewayProcess(
        tmp_path, _config(upstream.url), "--workers", workers, "--pid-file", str(pid_file), env={"UPSTREAM_KEY": MARKER}
    )
    try:
        # Every worker has loaded the file (a worker still starting would read the edited one).
        _wait_count(gw, "Running on", int(workers))
        bad = _config(upstream.url)
        bad["providers"]["targets"][0]["timeout_seconds"] = "soon"
        bad["server"]["max_body_bytes"] = "big"
        bad["policies"] = {"chain": ["no-such-policy"]}
        gw.write_config(bad)
        _reload(gw, pid_file)
        log = gw.wait_for_log("reload refused")
        assert "providers.targets[0].timeout_seconds" in log
        assert "server.max_body_bytes" in log
        assert "no-such-policy" in log
        answer = httpx.post(gw.url + "/v1/chat/completions", timeout=10, json=CHAT)
        assert answer.status_code == 200 and answer.json()["choices"][0]["message"]["content"] == "You said: w"
    finally:
        assert gw.stop() == 0


def test_a_gateway_embedded_in_a_process_leaves_its_collector_alone(upstream):
    # Only `kt gateway run` owns its process and freezes its heap; an app served by the test
    # harness (or embedded anywhere else) does not, and a reload's refreeze does nothing there.
    import gc

    from keeptrust.server import heap
    from keeptrust.testing import start_gateway

    gw = start_gateway(_config(upstream.url), environ={"UPSTREAM_KEY": MARKER})
    try:
        assert httpx.post(gw.url + "/v1/chat/completions", timeout=10, json=CHAT).status_code == 200
        heap.refreeze()
        assert gc.get_freeze_count() == 0
    finally:
        gw.stop()

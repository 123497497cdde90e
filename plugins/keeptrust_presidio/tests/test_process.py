"""The pii-detector in a real gateway process (`kt gateway run`): logs, the analysis budget, clients
that leave, other clients' latency and SIGTERM while hostile input is being analysed."""

from __future__ import annotations

import os
import random
import signal
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from keeptrust.demo import FakeOpenAI
from keeptrust.testing import openai_target, serve_app
from keeptrust.testing.process import GatewayProcess

SECRET_NAME = "Zebulon Quackenbush"
SECRET_MAIL = "zebulon.quackenbush@example.org"
SECRET_PHONE = "+44 20 7946 0958"


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Gateway(GatewayProcess):
    """A gateway whose chain is the pii-detector alone, configured with ``policy``."""

    def __init__(self, tmp_path: Path, upstream_url: str, policy: dict[str, Any], *args: str, **server: Any) -> None:
        config = {
            "server": server,
            "providers": {"targets": [openai_target(upstream_url)]},
            "policies": {"chain": ["pii-detector"], "policy": {"pii-detector": policy}},
        }
        # spaCy's model loads at start: allow it more than the default wait.
        super().__init__(tmp_path, config, *args, env={"KEEPTRUST_LOAD_PLUGINS": "presidio"}, ready_timeout=120)

    def chat(self, content: str, timeout: float = 60) -> httpx.Response:
        return httpx.post(
            self.url + "/v1/chat/completions",
            json={"model": "fake/model", "messages": [{"role": "user", "content": content}]},
            timeout=timeout,
        )


@pytest.fixture
def upstream() -> Iterator[Any]:
    server = serve_app(FakeOpenAI())
    yield server
    server.stop()


def _prose(size: int) -> str:
    """English-looking text with names and numbers in it: spaCy's NER has to read every word."""
    rng = random.Random(size)
    words = ("the report from Anna Berg says we met Peter Olsen in Oslo about order 48213 and the budget").split()  # noqa: SIM905
    out, n = [], 0
    while n < size:
        w = rng.choice(words)
        out.append(w)
        n += len(w) + 1
    return " ".join(out)


def _digits(size: int) -> str:
    rng = random.Random(size)
    return " ".join(str(rng.randrange(10**6, 10**12)) for _ in range(size // 8))[:size]


def test_presidio_loggers_never_write_request_text_at_debug(tmp_path: Path, upstream: Any) -> None:
    gw = Gateway(tmp_path, upstream.url, {"action": "redact"}, "--log-level", "debug")
    try:
        text = f"I am {SECRET_NAME}, mail {SECRET_MAIL}, phone {SECRET_PHONE}; call me about the phone contract."
        assert gw.chat(text).status_code == 200
    finally:
        assert gw.stop() == 0
    log = gw.log.read_text()
    assert "DEBUG" in log  # the level really was debug
    for secret in (SECRET_NAME, "Quackenbush", SECRET_MAIL, "7946 0958"):
        assert secret not in log


def test_budget_runs_out_block_is_answered_and_logged(tmp_path: Path, upstream: Any) -> None:
    gw = Gateway(tmp_path, upstream.url, {"analysis_budget_seconds": 0.2})
    try:
        answer = gw.chat(_prose(300_000))
        assert answer.status_code == 413, answer.text
        error = answer.json()["error"]
        assert error["code"] == "policy_violation"
        assert "analysis budget" in error["message"]
        assert gw.chat("Hi, I am Ana Lima.").status_code == 200  # small requests still pass
    finally:
        gw.stop()
    assert "ran out of its budget" in gw.log.read_text()
    assert len(upstream.app.requests) == 1  # nothing unchecked went upstream


def test_budget_runs_out_allow_forwards_with_what_was_found_redacted(tmp_path: Path, upstream: Any) -> None:
    gw = Gateway(tmp_path, upstream.url, {"analysis_budget_seconds": 0.2, "on_budget_exceeded": "allow"})
    try:
        text = f"Mail {SECRET_MAIL} now. " + _prose(300_000)
        answer = gw.chat(text)
        assert answer.status_code == 200, answer.text
    finally:
        gw.stop()
    sent = upstream.app.last.body["messages"][0]["content"]
    assert sent.startswith("Mail <EMAIL_ADDRESS> now. ")


def test_worst_case_digits_at_the_body_limit_cost_little_cpu(tmp_path: Path, upstream: Any) -> None:
    gw = Gateway(tmp_path, upstream.url, {"analysis_budget_seconds": 0})  # no budget: the cost itself
    try:
        before = _cpu_seconds(gw.proc.pid)
        # The default body limit (server.max_body_bytes) is 2,000,000 bytes.
        answer = gw.chat(_digits(1_990_000), timeout=300)
        assert answer.status_code == 200, answer.text
        used = _cpu_seconds(gw.proc.pid) - before
    finally:
        gw.stop()
    assert used <= 5.0, used


def test_a_client_that_leaves_stops_costing_cpu_within_a_second(tmp_path: Path, upstream: Any) -> None:
    gw = Gateway(tmp_path, upstream.url, {"analysis_budget_seconds": 600})
    try:
        with pytest.raises(httpx.TimeoutException):
            gw.chat(_prose(1_000_000), timeout=2)  # the client gives up after 2 s and disconnects
        time.sleep(1.0)
        start = _cpu_seconds(gw.proc.pid)
        time.sleep(2.0)
        assert _cpu_seconds(gw.proc.pid) - start < 0.3
        assert gw.chat("Hi, I am Ana Lima.").status_code == 200
    finally:
        gw.stop()


def test_other_clients_keep_their_latency_while_hostile_requests_run(tmp_path: Path, upstream: Any) -> None:
    gw = Gateway(tmp_path, upstream.url, {"analysis_budget_seconds": 3})

    def p50(n: int) -> float:
        times = []
        for i in range(n):
            started = time.perf_counter()
            assert gw.chat(f"Hi, I am Ana Lima ({i}), mail ana{i}@example.com.").status_code == 200
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    try:
        p50(3)  # warm
        alone = p50(10)
        heavy = [
            threading.Thread(target=lambda: _swallow(lambda: gw.chat(_prose(300_000), timeout=60))) for _ in range(2)
        ]
        for t in heavy:
            t.start()
        time.sleep(0.5)
        loaded = p50(10)
        for t in heavy:
            t.join()
    finally:
        gw.stop()
    # Ratios on a shared machine: the heavy requests may take a core, never the queue.
    assert loaded <= 2 * alone + 0.05, (alone, loaded)


def test_sigterm_is_honoured_while_a_huge_text_is_analysed(tmp_path: Path, upstream: Any) -> None:
    gw = Gateway(tmp_path, upstream.url, {"analysis_budget_seconds": 600}, graceful_timeout_seconds=3)
    worker = threading.Thread(target=lambda: _swallow(lambda: gw.chat(_prose(1_000_000), timeout=60)))
    worker.start()
    time.sleep(2.0)
    started = time.monotonic()
    os.killpg(gw.proc.pid, signal.SIGTERM)
    try:
        gw.proc.wait(timeout=3 + 5)
    finally:
        if gw.proc.poll() is None:
            os.killpg(gw.proc.pid, signal.SIGKILL)
        worker.join()
    # The graceful timeout, then the abandoned analysis stops at its next batch; the margin is for
    # a shared 2-core machine where one batch may take seconds of wall time.
    assert time.monotonic() - started <= 3 + 5


def _swallow(call: Any) -> None:
    try:
        call()
    except httpx.HTTPError:
        pass

"""End to end: ``kt gateway run`` in its own process, keeptrust-otel installed and configured by the
standard environment variables, exporting over OTLP/HTTP to a receiver on loopback that decodes
each protobuf ``ExportTraceServiceRequest``. Checked: the span tree of a request, a stream, a
policy block and a retried upstream failure; the parent from a client's ``traceparent``; the
``traceparent`` the upstream received; the flush at shutdown; one provider per worker."""

from __future__ import annotations

import shutil
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest
from keeptrust.demo import FakeOpenAI
from keeptrust.testing import openai_target, serve_app
from keeptrust.testing.process import GatewayProcess

from keeptrust_otel.testing import OTLPReceiver

HERE = Path(__file__).parent
CLIENT_TRACE = "0af7651916cd43dd8448eb211c80319c"
CLIENT_SPAN = "b7ad6b7169203331"
TRACEPARENT = f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"
PROMPT = "tell me about the weather 98765"


@pytest.fixture
def receiver():
    app = OTLPReceiver()
    server = serve_app(app)
    try:
        yield app, server.url
    finally:
        server.stop()


@pytest.fixture
def upstream():
    server = serve_app(FakeOpenAI(chunk_delay=0.01))
    try:
        yield server
    finally:
        server.stop()


def _gateway(
    tmp_path: Path, upstream_url: str, collector: str, *args: str, env: dict[str, str] | None = None
) -> GatewayProcess:
    # The test policy, installed as a distribution of its own so `kt` finds it by entry point.
    info = tmp_path / "keeptrust_otel_words-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: keeptrust-otel-words\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[keeptrust]\nwords = otel_test_policy\n")
    shutil.copy(HERE / "otel_test_policy.py", tmp_path / "otel_test_policy.py")
    config = {
        "providers": {
            "targets": [openai_target(upstream_url, "primary", "fake/model", secret_key_ref={"env": "UP_KEY"})]
        },
        "policies": {"chain": ["words"], "policy": {"words": {}}},
    }
    base_env = {
        "PYTHONPATH": str(tmp_path),
        "KEEPTRUST_LOAD_PLUGINS": "otel,words",
        "UP_KEY": "sk-upstream-secret-000000000042",
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector,
        "OTEL_SERVICE_NAME": "gateway-under-test",
        # A long delay: nothing is exported before shutdown unless the flush at shutdown works.
        "OTEL_BSP_SCHEDULE_DELAY": "60000",
    }
    return GatewayProcess(tmp_path, config, *args, env=base_env | (env or {}))


def test_spans_reach_an_otlp_receiver_with_the_request_tree(tmp_path, upstream, receiver):
    spans, collector = receiver
    gw = _gateway(tmp_path, upstream.url, collector)
    try:
        traced = openai.OpenAI(
            base_url=gw.url + "/v1", api_key="unused", max_retries=0, default_headers={"traceparent": TRACEPARENT}
        )
        answer = traced.chat.completions.create(model="primary", messages=[{"role": "user", "content": PROMPT}])
        sent_traceparent = upstream.app.last.headers["traceparent"]
        client = openai.OpenAI(base_url=gw.url + "/v1", api_key="unused", max_retries=0)
        stream = client.chat.completions.create(
            model="primary", messages=[{"role": "user", "content": "one two three four"}], stream=True
        )
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "You said: one two three four"
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(model="primary", messages=[{"role": "user", "content": "forbidden"}])
        upstream.app.fail_next(status=503, path="/v1/chat/completions")
        client.chat.completions.create(model="primary", messages=[{"role": "user", "content": "again"}])
        assert spans.roots() == []  # still buffered (OTEL_BSP_SCHEDULE_DELAY)
    finally:
        assert gw.stop() == 0
    plain, streamed, blocked, retried = spans.wait_for_roots(4)
    assert "application/x-protobuf" in spans.content_types

    # The traced request: the client's trace continues, the upstream got the attempt's context.
    assert plain.trace_id == CLIENT_TRACE and plain.parent_id == CLIENT_SPAN
    assert plain.name == "POST /v1/chat/completions"
    assert plain.resource["service.name"] == "gateway-under-test"
    assert plain.attributes["http.response.status_code"] == 200
    assert plain.attributes["gen_ai.operation.name"] == "chat"
    assert plain.attributes["gen_ai.request.model"] == "primary"
    assert plain.attributes["gen_ai.usage.input_tokens"] == answer.usage.prompt_tokens
    assert plain.attributes["gen_ai.usage.output_tokens"] == answer.usage.completion_tokens
    children = spans.children(plain)
    assert [(c.kind, c.name) for c in children] == [
        ("internal", "policy words request"),
        ("client", "chat fake/model"),
        ("internal", "policy words complete"),
    ]
    attempt = children[1]
    assert attempt.trace_id == CLIENT_TRACE
    assert sent_traceparent == f"00-{CLIENT_TRACE}-{attempt.span_id}-01"
    assert attempt.attributes["server.address"] == "127.0.0.1"
    assert attempt.attributes["http.response.status_code"] == 200
    everything = repr(spans.spans)
    assert PROMPT not in everything and "sk-upstream-secret" not in everything

    # The stream: a new trace; its span covers the stream; the filter's span spans the stream too.
    assert streamed.trace_id != CLIENT_TRACE and streamed.parent_id == ""
    assert streamed.attributes["keeptrust.stream.time_to_first_chunk_ms"] > 0
    assert any(name == "keeptrust.stream.first_chunk" for name, _ in streamed.events)
    phases = [c.attributes.get("keeptrust.policy.phase") for c in spans.children(streamed)]
    assert phases == ["request", None, "stream", "complete"]

    # The block: no upstream attempt; the request span says who blocked it.
    assert blocked.attributes["keeptrust.outcome"] == "blocked"
    assert blocked.attributes["keeptrust.blocked_by"] == "words"
    (request_span,) = [c for c in spans.children(blocked) if c.attributes.get("keeptrust.policy.phase") == "request"]
    assert request_span.attributes["keeptrust.policy.action"] == "block"
    assert not [c for c in spans.children(blocked) if c.kind == "client"]

    # The retry: two attempts, the second saying why.
    first, second = [c for c in spans.children(retried) if c.kind == "client"]
    assert first.attributes["http.response.status_code"] == 503 and first.error
    assert second.attributes["keeptrust.upstream.attempt"] == 2
    assert second.attributes["keeptrust.upstream.retry_reason"] == "status_503"
    assert retried.attributes["http.response.status_code"] == 200 and not retried.error


def test_every_worker_traces_and_flushes_at_shutdown(tmp_path, upstream, receiver):
    spans, collector = receiver
    hold = tmp_path / "hold"
    hold.mkdir()
    gw = _gateway(tmp_path, upstream.url, collector, "--workers", "2", env={"OTEL_TEST_HOLD_DIR": str(hold)})

    def ask(text: str) -> int:
        body = {"model": "primary", "messages": [{"role": "user", "content": text}]}
        return httpx.post(gw.url + "/v1/chat/completions", json=body, timeout=30).status_code

    try:
        # Which worker accepts a connection is up to the kernel and the scheduler: on a busy machine
        # one worker can take them all. So one request stalls the worker that took it, and the next
        # must be accepted by the other one.
        with ThreadPoolExecutor(8) as pool:
            held = pool.submit(ask, "hold the worker")
            deadline = time.monotonic() + 20
            while not (hold / "held").exists():
                assert time.monotonic() < deadline, "the held request never reached the policy"
                time.sleep(0.01)
            assert ask("hello from the other worker") == 200
            (hold / "release").touch()
            assert held.result() == 200
            assert list(pool.map(ask, [f"hello {i}" for i in range(14)])) == [200] * 14
    finally:
        assert gw.stop() == 0
    roots = spans.wait_for_roots(16)
    assert len(roots) == 16
    # Each worker set up its own provider: two processes exported spans.
    assert len({r.resource["process.pid"] for r in roots}) == 2
    sent = {r.headers["traceparent"].split("-")[1] for r in upstream.app.requests}
    assert {r.trace_id for r in roots} == sent


def test_a_collector_that_is_down_costs_requests_nothing(tmp_path, upstream):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    config = {"providers": {"targets": [openai_target(upstream.url, "primary", "fake/model")]}}
    env = {
        "KEEPTRUST_LOAD_PLUGINS": "otel",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{closed}",
        "OTEL_BSP_SCHEDULE_DELAY": "50",
        "OTEL_EXPORTER_OTLP_TIMEOUT": "2",
    }
    gw = GatewayProcess(tmp_path, config, env=env)
    try:
        body = {"model": "primary", "messages": [{"role": "user", "content": "hi"}]}
        for _ in range(5):
            r = httpx.post(gw.url + "/v1/chat/completions", json=body, timeout=30)
            assert r.status_code == 200
            assert upstream.app.last.headers["traceparent"].startswith("00-")
    finally:
        started = time.monotonic()
        assert gw.stop() == 0
    # The last export gives up within the exporter's timeout; the gateway stops cleanly.
    assert time.monotonic() - started < 15
    assert "tracing requests with tracer 'otel'" in gw.output()

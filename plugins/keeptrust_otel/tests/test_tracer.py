"""The ``otel`` tracer on a gateway served on loopback, its spans caught by the SDK's in-memory
exporter: the span tree, its attributes, trace context in and out, streams, blocks, retries and
fallbacks. Driven with the official openai client."""

from __future__ import annotations

import importlib.util
import logging
import time
from pathlib import Path
from typing import Any

import openai
import pytest
from keeptrust.demo import FakeOpenAI
from keeptrust.demo.upstream import Fault
from keeptrust.testing import BackgroundServer, openai_target, start_gateway
from keeptrust.tracing import TracerEnv
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from keeptrust_otel.exporting import TracingConfigError, build_provider, unconfigured
from keeptrust_otel.tracer import OtelTracer

HERE = Path(__file__).parent
ENV = {"KEEPTRUST_LOAD_PLUGINS": "none", "FAKE_KEY": "sk-upstream-secret-0000000001"}
CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"
PROMPT = "my prompt text 12345"


def _policy_module() -> Any:
    spec = importlib.util.spec_from_file_location("otel_test_policy", HERE / "otel_test_policy.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


POLICY = _policy_module()


@pytest.fixture
def upstreams():
    primary = BackgroundServer(FakeOpenAI(chunk_delay=0.01)).start()
    backup = BackgroundServer(FakeOpenAI(reply="from backup")).start()
    try:
        yield primary, backup
    finally:
        primary.stop()
        backup.stop()


@pytest.fixture
def traced(upstreams):
    """A gateway whose tracer exports to memory; yields (client, exporter, upstream apps)."""
    primary, backup = upstreams
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    key = {"secret_key_ref": {"env": "FAKE_KEY"}}
    config = {
        "providers": {
            "targets": [
                openai_target(primary.url, "primary", "fake/model", **key),
                openai_target(backup.url, "backup", "backup/model", max_retries=0),
                {"id": "pool", "strategy": "fallback", "members": ["primary-once", "backup"]},
                openai_target(primary.url, "primary-once", "fake/once", max_retries=0),
            ]
        },
        "policies": {"chain": ["words"], "policy": {"words": {}}},
    }
    gw = start_gateway(config, environ=ENV, extra_plugins=[POLICY])
    env = TracerEnv(logger=logging.getLogger("test.otel"), environ={}, version="test")
    gw.app.tracer = OtelTracer(env, provider=provider)
    try:
        yield gw, exporter, primary.app, backup.app
    finally:
        gw.stop()


def _requests(exporter: InMemorySpanExporter, count: int = 1, timeout: float = 10.0) -> list[list[ReadableSpan]]:
    """Each finished request's spans (its SERVER span first), once ``count`` requests finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        spans = list(exporter.get_finished_spans())
        roots = [s for s in spans if s.kind == SpanKind.SERVER]
        if len(roots) >= count:
            return [
                [r, *(s for s in spans if s.parent is not None and s.parent.span_id == r.context.span_id)]
                for r in roots
            ]
        time.sleep(0.02)
    raise AssertionError(f"{count} request span(s) expected; got {exporter.get_finished_spans()}")


def _children(tree: list[ReadableSpan], kind: SpanKind | None = None) -> list[ReadableSpan]:
    return [s for s in tree[1:] if kind is None or s.kind == kind]


def _text_of(spans: list[ReadableSpan]) -> str:
    parts = []
    for span in spans:
        parts.append(span.name)
        parts += [f"{k}={v}" for k, v in (span.attributes or {}).items()]
        for event in span.events:
            parts += [f"{k}={v}" for k, v in (event.attributes or {}).items()]
    return "\n".join(parts)


def test_a_request_is_a_server_span_with_a_child_per_policy_phase_and_upstream_attempt(traced):
    gw, exporter, primary, _ = traced
    client = gw.client(default_headers={"traceparent": TRACEPARENT, "tracestate": "vendor=1"})
    answer = client.chat.completions.create(model="primary", messages=[{"role": "user", "content": PROMPT}])
    assert answer.choices[0].message.content == "You said: " + PROMPT
    (tree,) = _requests(exporter)
    root = tree[0]
    assert root.name == "POST /v1/chat/completions"
    # The client's trace continues: same trace id, the client's span as parent, its tracestate kept.
    assert format(root.context.trace_id, "032x") == CLIENT_TRACE
    assert root.parent is not None and format(root.parent.span_id, "016x") == CLIENT_SPAN
    assert root.context.trace_state.get("vendor") == "1"
    attrs = dict(root.attributes or {})
    assert attrs["http.request.method"] == "POST"
    assert attrs["http.route"] == "/v1/chat/completions"
    assert attrs["http.response.status_code"] == 200
    assert attrs["keeptrust.outcome"] == "answered"
    assert attrs["keeptrust.target"] == "primary"
    assert attrs["keeptrust.request_id"] == answer._request_id or attrs["keeptrust.request_id"].startswith("req_")
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.request.model"] == "primary"
    assert attrs["gen_ai.response.model"] == answer.model
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.usage.input_tokens"] == answer.usage.prompt_tokens
    assert attrs["gen_ai.usage.output_tokens"] == answer.usage.completion_tokens
    assert root.status.status_code == StatusCode.UNSET

    policies = {
        (s.attributes["keeptrust.policy.name"], s.attributes["keeptrust.policy.phase"]): s
        for s in _children(tree, SpanKind.INTERNAL)
    }
    assert set(policies) == {("words", "request"), ("words", "complete")}
    assert policies[("words", "request")].attributes["keeptrust.policy.action"] == "allow"
    (attempt,) = _children(tree, SpanKind.CLIENT)
    assert attempt.name == "chat fake/model"
    a = dict(attempt.attributes or {})
    assert a["keeptrust.upstream.attempt"] == 1 and "keeptrust.upstream.retry_reason" not in a
    assert a["server.address"] == "127.0.0.1" and a["http.response.status_code"] == 200
    assert a["gen_ai.request.model"] == "fake/model" and a["keeptrust.target"] == "primary"
    # The upstream continues the trace under the attempt span.
    sent = primary.last.headers["traceparent"]
    assert sent == f"00-{CLIENT_TRACE}-{attempt.context.span_id:016x}-01"
    assert primary.last.headers.get("tracestate") == "vendor=1"
    # No prompt, answer or credential in any span.
    text = _text_of(tree)
    assert PROMPT not in text and "sk-upstream-secret" not in text and "Bearer" not in text


def test_without_a_client_traceparent_a_new_trace_starts(traced):
    gw, exporter, primary, _ = traced
    gw.client().chat.completions.create(model="primary", messages=[{"role": "user", "content": "hi"}])
    bad = gw.client(default_headers={"traceparent": "00-not-a-trace-01"})
    bad.chat.completions.create(model="primary", messages=[{"role": "user", "content": "hi"}])
    trees = _requests(exporter, 2)
    for tree in trees:
        assert tree[0].parent is None
    assert trees[0][0].context.trace_id != trees[1][0].context.trace_id
    assert primary.last.headers["traceparent"].split("-")[1] == format(trees[1][0].context.trace_id, "032x")


def test_a_policy_block_is_its_spans_decision_and_the_request_never_goes_upstream(traced):
    gw, exporter, primary, _ = traced
    seen = len(primary.requests)
    with pytest.raises(openai.BadRequestError):
        gw.client().chat.completions.create(model="primary", messages=[{"role": "user", "content": "a forbidden ask"}])
    (tree,) = _requests(exporter)
    root = dict(tree[0].attributes or {})
    assert root["http.response.status_code"] == 400
    assert root["keeptrust.outcome"] == "blocked" and root["keeptrust.blocked_by"] == "words"
    assert root["error.type"] == "policy_violation"
    assert tree[0].status.status_code == StatusCode.UNSET  # a client error, not the server's
    request_span = next(s for s in tree if s.attributes.get("keeptrust.policy.phase") == "request")
    assert request_span.attributes["keeptrust.policy.action"] == "block"
    assert request_span.attributes["keeptrust.policy.mode"] == "enforce"
    assert request_span.status.status_code == StatusCode.UNSET
    assert not _children(tree, SpanKind.CLIENT) and len(primary.requests) == seen


def test_a_retried_attempt_and_a_group_fallback_each_have_their_span(traced):
    gw, exporter, primary, _ = traced
    primary.fail_next(status=503, path="/v1/chat/completions")
    gw.client().chat.completions.create(model="primary", messages=[{"role": "user", "content": "hi"}])
    (tree,) = _requests(exporter)
    first, second = sorted(_children(tree, SpanKind.CLIENT), key=lambda s: s.start_time)
    assert first.attributes["http.response.status_code"] == 503
    assert first.attributes["error.type"] == "503" and first.status.status_code == StatusCode.ERROR
    assert second.attributes["keeptrust.upstream.attempt"] == 2
    assert second.attributes["keeptrust.upstream.retry_reason"] == "status_503"
    assert second.attributes["http.response.status_code"] == 200

    exporter.clear()
    primary.fail_next(status=502, path="/v1/chat/completions")
    answer = gw.client().chat.completions.create(model="pool", messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content == "from backup"
    (tree,) = _requests(exporter)
    left, taken = sorted(_children(tree, SpanKind.CLIENT), key=lambda s: s.start_time)
    assert left.attributes["keeptrust.target"] == "primary-once" and left.attributes["http.response.status_code"] == 502
    assert taken.attributes["keeptrust.target"] == "backup"
    assert taken.attributes["keeptrust.upstream.fallback_from"] == "primary-once"
    assert taken.attributes["keeptrust.upstream.fallback_reason"] == "status_502"
    (event,) = [e for e in tree[0].events if e.name == "keeptrust.upstream.fallback"]
    assert dict(event.attributes) == {"from_target": "primary-once", "to_target": "backup", "reason": "status_502"}
    assert tree[0].attributes["keeptrust.target"] == "backup"


def test_an_unreachable_upstream_is_an_attempt_with_its_cause(traced, upstreams):
    gw, exporter, _, _ = traced
    # The gateway's own port closed under it: a refused connection, retried.
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    config = {"providers": {"targets": [openai_target(f"http://127.0.0.1:{closed}", "gone", "m", max_retries=1)]}}
    gone = start_gateway(config, environ=ENV)
    gone.app.tracer = gw.app.tracer
    try:
        with pytest.raises(openai.APIStatusError):
            gone.client().chat.completions.create(model="gone", messages=[{"role": "user", "content": "hi"}])
    finally:
        gone.stop()
    (tree,) = _requests(exporter)
    attempts = sorted(_children(tree, SpanKind.CLIENT), key=lambda s: s.start_time)
    assert [s.attributes["keeptrust.upstream.cause"] for s in attempts] == ["refused", "refused"]
    assert attempts[1].attributes["keeptrust.upstream.retry_reason"] == "refused"
    assert all(s.status.status_code == StatusCode.ERROR for s in attempts)
    assert tree[0].attributes["keeptrust.outcome"] == "upstream_error"
    assert tree[0].status.status_code == StatusCode.ERROR


def test_a_stream_span_ends_with_the_stream_and_records_the_first_chunk(traced):
    gw, exporter, primary, _ = traced
    started = time.time_ns()
    stream = gw.client().chat.completions.create(
        model="primary",
        messages=[{"role": "user", "content": "one two three four five six"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text.endswith("five six")
    (tree,) = _requests(exporter)
    root = tree[0]
    attrs = dict(root.attributes or {})
    assert 0 < attrs["keeptrust.stream.time_to_first_chunk_ms"] < (root.end_time - root.start_time) / 1e6
    (first,) = [e for e in root.events if e.name == "keeptrust.stream.first_chunk"]
    assert started <= first.timestamp <= root.end_time
    assert attrs["gen_ai.usage.output_tokens"] > 0
    stream_span = next(s for s in tree if s.attributes.get("keeptrust.policy.phase") == "stream")
    (attempt,) = _children(tree, SpanKind.CLIENT)
    # The filter's span covers the stream, which goes on after the attempt's headers.
    assert stream_span.end_time > attempt.end_time
    assert stream_span.attributes["keeptrust.policy.action"] == "allow"

    exporter.clear()
    primary.fail_next(Fault(reset_after_chunks=2))
    cut = gw.client().chat.completions.create(
        model="primary", messages=[{"role": "user", "content": "one two three four five six"}], stream=True
    )
    with pytest.raises(openai.APIError):
        for _ in cut:
            pass
    (tree,) = _requests(exporter)
    assert tree[0].attributes["http.response.status_code"] == 200
    assert tree[0].attributes["error.type"] == "bad_gateway"
    assert tree[0].status.status_code == StatusCode.ERROR


def test_the_environment_decides_whether_and_where_spans_go():
    assert unconfigured({}) is not None
    assert unconfigured({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}) is None
    assert unconfigured({"OTEL_TRACES_EXPORTER": "console"}) is None
    assert "OTEL_SDK_DISABLED" in unconfigured({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"})
    assert build_provider({}, "1") is None
    env = TracerEnv(logger=logging.getLogger("test.otel"), environ={}, version="1")
    tracer = OtelTracer(env)
    assert tracer.provider is None and tracer.start(None, "/x", "POST", []) is None  # type: ignore[arg-type]
    with pytest.raises(TracingConfigError, match="OTEL_TRACES_EXPORTER: unknown exporter 'zipkin'"):
        build_provider({"OTEL_TRACES_EXPORTER": "zipkin"}, "1")
    with pytest.raises(TracingConfigError, match=r"OTEL_EXPORTER_OTLP_PROTOCOL: .*got 'grpc'"):
        build_provider({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "1")
    provider = build_provider({"OTEL_TRACES_EXPORTER": "none"}, "2.0")
    assert provider is not None
    assert provider.resource.attributes["service.name"] == "keeptrust"
    assert provider.resource.attributes["service.version"] == "2.0"
    provider.shutdown()

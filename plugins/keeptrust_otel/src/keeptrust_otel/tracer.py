"""The ``otel`` tracer: keeptrust's tracing calls (``keeptrust.tracing``) as OpenTelemetry spans.

Per request: a SERVER span named ``{method} {route}`` (the trace the client's ``traceparent``
continues, else a new one); under it one INTERNAL span per policy call and phase, and one CLIENT
span per upstream attempt, whose context goes upstream in a ``traceparent`` header. Attributes
follow the OpenTelemetry HTTP and GenAI semantic conventions, plus ``keeptrust.*`` ones. No request
or answer text, header value or credential is ever recorded.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import trio
from keeptrust import metrics
from opentelemetry import trace
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.semconv.attributes import error_attributes, http_attributes, server_attributes, url_attributes
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from keeptrust_otel.exporting import TracingConfigError, build_provider, unconfigured

if TYPE_CHECKING:
    import httpx
    from keeptrust.context import RequestContext
    from keeptrust.policy import DecisionRecord
    from keeptrust.tracing import TracerEnv
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import TracerProvider

SCOPE = "keeptrust_otel"
# Only W3C trace context crosses the gateway: baggage could carry anything a client put in it.
PROPAGATOR = TraceContextTextMapPropagator()
_CARRIED = (b"traceparent", b"tracestate")

# keeptrust operation -> gen_ai.operation.name (well-known values where the conventions have one).
OPERATIONS = {
    "chat": gen_ai.GenAiOperationNameValues.CHAT.value,
    "responses": gen_ai.GenAiOperationNameValues.CHAT.value,
    "embeddings": gen_ai.GenAiOperationNameValues.EMBEDDINGS.value,
}
TEXT_COMPLETION = gen_ai.GenAiOperationNameValues.TEXT_COMPLETION.value
# Strongest first: the action a policy span reports when one call took several decisions.
_ACTIONS = ("block", "modify", "flag", "allow")

REQUEST_ID = "keeptrust.request_id"
OUTCOME = "keeptrust.outcome"
TARGET = "keeptrust.target"
BLOCKED_BY = "keeptrust.blocked_by"
POLICY = "keeptrust.policy.name"
PHASE = "keeptrust.policy.phase"
ACTION = "keeptrust.policy.action"
MODE = "keeptrust.policy.mode"
ATTEMPT = "keeptrust.upstream.attempt"
RETRY_REASON = "keeptrust.upstream.retry_reason"
FALLBACK_FROM = "keeptrust.upstream.fallback_from"
FALLBACK_REASON = "keeptrust.upstream.fallback_reason"
CAUSE = "keeptrust.upstream.cause"
TTFC = "keeptrust.stream.time_to_first_chunk_ms"


def operation_name(ctx: RequestContext) -> str:
    if getattr(ctx.dialect, "name", None) == "openai-completions":
        return TEXT_COMPLETION
    return OPERATIONS.get(ctx.operation, ctx.operation)


def provider_name(ctx: RequestContext) -> str | None:
    """The backend a provider picked (an Inference Providers backend), else the target's family."""
    if ctx.upstream_backend:
        return ctx.upstream_backend
    target = ctx.target
    return getattr(target.provider, "name", None) if target is not None else None


def _ns(seconds: float) -> int:
    return int(seconds * 1e9)


class _PolicySpan:
    __slots__ = ("span",)

    def __init__(self, span: trace.Span) -> None:
        self.span = span

    def end(self, decisions: Sequence[DecisionRecord], error: str | None = None) -> None:
        span = self.span
        if decisions:
            actions = {d.action for d in decisions}
            action = next((a for a in _ACTIONS if a in actions), decisions[-1].action)
            span.set_attribute(ACTION, action)
            span.set_attribute(MODE, decisions[-1].mode)
        else:
            span.set_attribute(ACTION, "allow")
        if error is not None:
            span.set_attribute(error_attributes.ERROR_TYPE, error)
            span.set_status(Status(StatusCode.ERROR))
        span.end()


class _AttemptSpan:
    __slots__ = ("span",)

    def __init__(self, span: trace.Span) -> None:
        self.span = span

    def end(self, status: int | None = None, cause: str | None = None) -> None:
        span = self.span
        if status is not None:
            span.set_attribute(http_attributes.HTTP_RESPONSE_STATUS_CODE, status)
            if status >= 400:
                span.set_attribute(error_attributes.ERROR_TYPE, str(status))
                span.set_status(Status(StatusCode.ERROR))
        if cause is not None:
            span.set_attribute(CAUSE, cause)
            span.set_attribute(error_attributes.ERROR_TYPE, cause)
            span.set_status(Status(StatusCode.ERROR))
        span.end()


class RequestSpans:
    """One request's trace: the SERVER span and the context its children start under."""

    __slots__ = ("_fallback", "ctx", "parent", "root", "tracer")

    def __init__(self, tracer: trace.Tracer, ctx: RequestContext, root: trace.Span) -> None:
        self.tracer = tracer
        self.ctx = ctx
        self.root = root
        self.parent: Context = trace.set_span_in_context(root)
        self._fallback: tuple[str, str] | None = None

    def policy(self, policy: str, phase: str) -> _PolicySpan:
        span = self.tracer.start_span(
            f"policy {policy} {phase}", self.parent, SpanKind.INTERNAL, {POLICY: policy, PHASE: phase}
        )
        return _PolicySpan(span)

    def attempt(self, target: str, request: httpx.Request, number: int, reason: str | None) -> _AttemptSpan:
        ctx = self.ctx
        operation = operation_name(ctx)
        model = ctx.upstream_model or _target_model(ctx) or ctx.model
        url = request.url
        attributes: dict[str, Any] = {
            gen_ai.GEN_AI_OPERATION_NAME: operation,
            TARGET: target,
            ATTEMPT: number,
            http_attributes.HTTP_REQUEST_METHOD: request.method,
            # The host and port only: never the path, query string or user info.
            server_attributes.SERVER_ADDRESS: url.host,
            server_attributes.SERVER_PORT: url.port or (443 if url.scheme == "https" else 80),
            url_attributes.URL_SCHEME: url.scheme,
        }
        if model:
            attributes[gen_ai.GEN_AI_REQUEST_MODEL] = model
        provider = provider_name(ctx)
        if provider:
            attributes[gen_ai.GEN_AI_PROVIDER_NAME] = provider
        if reason is not None:
            attributes[RETRY_REASON] = reason
        if self._fallback is not None and number == 1:
            attributes[FALLBACK_FROM], attributes[FALLBACK_REASON] = self._fallback
            self._fallback = None
        name = f"{operation} {model}" if model else operation
        span = self.tracer.start_span(name, self.parent, SpanKind.CLIENT, attributes)
        # The upstream continues the trace under this attempt.
        PROPAGATOR.inject(request.headers, context=trace.set_span_in_context(span))
        return _AttemptSpan(span)

    def fallback(self, from_target: str, to_target: str, reason: str) -> None:
        self._fallback = (from_target, reason)
        self.root.add_event(
            "keeptrust.upstream.fallback", {"from_target": from_target, "to_target": to_target, "reason": reason}
        )

    def finish(self, ctx: RequestContext) -> None:
        root = self.root
        status = ctx.status or 0
        outcome, blocked_by = metrics.outcome_of(ctx)
        attributes: dict[str, Any] = {
            REQUEST_ID: ctx.request_id,
            OUTCOME: outcome,
            http_attributes.HTTP_RESPONSE_STATUS_CODE: status,
        }
        if blocked_by:
            attributes[BLOCKED_BY] = blocked_by
        if ctx.reached_chain:
            attributes[gen_ai.GEN_AI_OPERATION_NAME] = operation_name(ctx)
            if ctx.model:
                attributes[gen_ai.GEN_AI_REQUEST_MODEL] = ctx.model
        if ctx.target is not None:
            attributes[TARGET] = ctx.target.id
            provider = provider_name(ctx)
            if provider:
                attributes[gen_ai.GEN_AI_PROVIDER_NAME] = provider
        body = ctx.response_body
        if isinstance(body, dict) and isinstance(body.get("model"), str):
            attributes[gen_ai.GEN_AI_RESPONSE_MODEL] = body["model"]
        usage = ctx.usage
        if usage.prompt_tokens is not None:
            attributes[gen_ai.GEN_AI_USAGE_INPUT_TOKENS] = usage.prompt_tokens
        if usage.completion_tokens is not None:
            attributes[gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS] = usage.completion_tokens
        if ctx.stream and ctx.first_byte_at is not None:
            ttfc = ctx.first_byte_at - ctx.started
            attributes[TTFC] = round(ttfc * 1000, 3)
            root.add_event("keeptrust.stream.first_chunk", timestamp=_ns(ctx.started_wall + ttfc))
        if ctx.error_code and (status >= 400 or ctx.stream):
            attributes[error_attributes.ERROR_TYPE] = ctx.error_code
        root.set_attributes(attributes)
        if status >= 500 or (status < 400 and ctx.error_code and outcome != metrics.BLOCKED):
            # A server error, or a stream the upstream cut short after its 200.
            root.set_status(Status(StatusCode.ERROR, ctx.error_code or None))
        root.end()


def _target_model(ctx: RequestContext) -> str | None:
    target = ctx.target
    return getattr(target.config, "model", None) if target is not None else None


class OtelTracer:
    """keeptrust's ``otel`` tracer, one per serving process (see ``keeptrust_otel.exporting``)."""

    name = "otel"

    def __init__(self, env: TracerEnv, provider: TracerProvider | None = None) -> None:
        self.logger = env.logger
        try:
            self.provider = provider if provider is not None else build_provider(env.environ, env.version)
        except TracingConfigError as exc:
            raise ValueError(str(exc)) from None
        self.tracer = self.provider.get_tracer(SCOPE, env.version) if self.provider is not None else None
        if self.provider is None:
            self.logger.info("keeptrust-otel: requests are not traced (%s)", unconfigured(env.environ))

    def start(
        self, ctx: RequestContext, route: str, method: str, headers: Sequence[tuple[bytes, bytes]]
    ) -> RequestSpans | None:
        tracer = self.tracer
        if tracer is None:
            return None
        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in headers if k in _CARRIED}
        parent = PROPAGATOR.extract(carrier) if carrier else None
        attributes: Mapping[str, Any] = {
            http_attributes.HTTP_REQUEST_METHOD: method,
            http_attributes.HTTP_ROUTE: route,
            url_attributes.URL_PATH: ctx.endpoint,
        }
        root = tracer.start_span(
            f"{method} {route}", parent, SpanKind.SERVER, attributes, start_time=_ns(ctx.started_wall)
        )
        return RequestSpans(tracer, ctx, root)

    async def aclose(self) -> None:
        provider = self.provider
        if provider is None:
            return
        # Exports block on the network: flush and stop the batch thread off the event loop.
        started = time.monotonic()
        await trio.to_thread.run_sync(provider.shutdown)
        self.logger.debug("trace export flushed in %.3fs", time.monotonic() - started)

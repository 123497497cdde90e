"""Prometheus metrics: what the gateway counts and how ``GET /metrics`` renders it.

Public module: plugins record through the functions below (never through the metric objects, whose
names and labels are this module's business). Every function is cheap and never raises; with
``server.metrics.enabled: false`` each returns at once.

    from keeptrust import metrics
    metrics.upstream_retry("hf-llama", "status_503")
    metrics.upstream_fallback("hf-llama", "groq-llama", "status_503")

With ``kt gateway run --workers N`` each worker writes its values to files in a directory shared by
the run (prometheus_client's multiprocess mode, ``PROMETHEUS_MULTIPROC_DIR``); ``/metrics`` answered
by any worker aggregates them all.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess as _multiprocess

if TYPE_CHECKING:
    from keeptrust.context import RequestContext

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST

# Seconds; a chat completion's whole answer can take minutes, a cached policy decision microseconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
COMMIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)

# The outcome label of ``keeptrust_requests_total``.
ANSWERED = "answered"  # the upstream's answer went out (whatever its status)
BLOCKED = "blocked"  # a policy refused it (the ``policy`` label names which)
UPSTREAM_ERROR = "upstream_error"  # the upstream failed or answered an error
REFUSED = "refused"  # refused at the edge, before the policy chain (auth, limits, bad input, no route)
CANCELLED = "cancelled"  # the client went away first
ERROR = "error"  # the gateway or a plugin failed (500)

NONE = "none"  # a label value that is not known (no target chosen yet)

_requests = Counter(
    "keeptrust_requests",
    "Requests answered, by route, target, status and outcome (policy: the policy that blocked it).",
    ["route", "target", "status", "outcome", "policy"],
)
_duration = Histogram(
    "keeptrust_request_duration_seconds",
    "Time from a request's arrival to the last byte of its answer.",
    ["route", "outcome"],
    buckets=LATENCY_BUCKETS,
)
_ttfb = Histogram(
    "keeptrust_stream_first_byte_seconds",
    "Streams: time from the request's arrival to the first byte of the answer sent to the client.",
    ["route", "target"],
    buckets=LATENCY_BUCKETS,
)
_upstream = Histogram(
    "keeptrust_upstream_duration_seconds",
    "Time spent on one upstream call, retries included: to the whole answer, or to the response headers for a stream.",
    ["target"],
    buckets=LATENCY_BUCKETS,
)
_in_flight = Gauge("keeptrust_requests_in_flight", "Requests being handled.", multiprocess_mode="livesum")
_streams = Gauge("keeptrust_streams_in_flight", "Streaming answers being sent.", multiprocess_mode="livesum")
_decisions = Counter(
    "keeptrust_policy_decisions",
    "Policy decisions that did something (modify, flag, block) or gave a reason, by policy, phase, action "
    "and mode (enforce or shadow).",
    ["policy", "phase", "action", "mode"],
)
_retries = Counter(
    "keeptrust_upstream_retries", "Upstream attempts retried, by target and reason.", ["target", "reason"]
)
_failures = Counter(
    "keeptrust_upstream_failures",
    "Upstream attempts that failed without an answer, by target and cause (dns, refused, tls, "
    "connect_timeout, first_byte_timeout, read_timeout, connection_lost, ...).",
    ["target", "cause"],
)
_fallbacks = Counter(
    "keeptrust_upstream_fallbacks",
    "Requests moved from one target to another of its group, by the target left, the target taken and why "
    "(status_503, status_429, ... or circuit_open).",
    ["from_target", "to_target", "reason"],
)
_audit_depth = Gauge(
    "keeptrust_audit_queue_depth", "Audit records waiting for the writer.", multiprocess_mode="livesum"
)
_audit_commit = Histogram(
    "keeptrust_audit_batch_commit_seconds",
    "Time to make one batch of audit records durable (seal and sink write).",
    buckets=COMMIT_BUCKETS,
)
_audit_records = Counter("keeptrust_audit_records_written", "Audit records made durable.")
_audit_dropped = Counter(
    "keeptrust_audit_records_dropped", "Audit records dropped (queue full with on_full: drop_and_count, or late)."
)

_reloads = Counter("keeptrust_config_reloads", "Config reloads, by result (ok, invalid, failed).", ["result"])

_enabled = True
# Labelled children by metric and label values: ``labels()`` takes a lock and builds a key on every
# call, several times the cost of the increment itself. Label values are bounded (routes, targets,
# statuses, policies), so is this cache.
_children: dict[tuple[int, tuple[str, ...]], Any] = {}


def _child(metric: Any, *labels: str) -> Any:
    key = (id(metric), labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*labels)
    return child


def configure(enabled: bool) -> None:
    """Turn recording on or off for this process (``server.metrics.enabled``)."""
    global _enabled
    _enabled = enabled


def is_enabled() -> bool:
    return _enabled


# ---------------------------------------------------------------------------- requests
def request_started() -> bool:
    """Count a request in flight; returns whether it was counted (pass it to ``request_finished``,
    so a reload that turns metrics off or on mid-request leaves the gauge right)."""
    if _enabled:
        _in_flight.inc()
        return True
    return False


def request_finished(ctx: RequestContext, route: str, counted: bool = True) -> None:
    """Count a finished request (called once per request by the core, with the route's path)."""
    if counted:
        _in_flight.dec()
    if not _enabled:
        return
    outcome, policy = outcome_of(ctx)
    target = ctx.target.id if ctx.target is not None else NONE
    _child(_requests, route, target, str(ctx.status or 0), outcome, policy).inc()
    if ctx.finished_at is not None:
        _child(_duration, route, outcome).observe(ctx.finished_at - ctx.started)
    if ctx.stream and ctx.first_byte_at is not None:
        _child(_ttfb, route, target).observe(ctx.first_byte_at - ctx.started)
    for decision in ctx.decisions:
        _child(_decisions, decision.policy, decision.phase, decision.action, decision.mode).inc()


def outcome_of(ctx: RequestContext) -> tuple[str, str]:
    """The request's outcome and the policy that blocked it ("" when none did)."""
    for decision in ctx.decisions:
        if decision.action == "block" and decision.mode == "enforce":
            return BLOCKED, decision.policy
    status = ctx.status or 0
    if ctx.cancelled or status == 499:
        return CANCELLED, ""
    if status < 400:
        return ANSWERED, ""
    if not ctx.reached_chain:
        return REFUSED, ""
    if ctx.upstream_attempts:
        return UPSTREAM_ERROR, ""
    if status >= 500:
        return ERROR, ""
    return REFUSED, ""


def stream_started() -> bool:
    """Count a stream in flight; returns whether it was counted (pass it to ``stream_finished``)."""
    if _enabled:
        _streams.inc()
        return True
    return False


def stream_finished(counted: bool = True) -> None:
    if counted:
        _streams.dec()


# ---------------------------------------------------------------------------- upstreams
def upstream_latency(target: str, seconds: float) -> None:
    if _enabled:
        _child(_upstream, target).observe(seconds)


def upstream_retry(target: str, reason: str) -> None:
    """One more attempt at ``target`` (``reason``: ``status_503``, ``refused``, ...)."""
    if _enabled:
        _child(_retries, target, reason).inc()


def upstream_failure(target: str, cause: str) -> None:
    """An attempt at ``target`` failed without an answer (``cause`` as ``keeptrust.transport`` names it)."""
    if _enabled:
        _child(_failures, target, cause).inc()


def upstream_fallback(from_target: str, to_target: str, reason: str) -> None:
    """A request left ``from_target`` for ``to_target`` (a target group's fallback)."""
    if _enabled:
        _child(_fallbacks, from_target, to_target, reason).inc()


# ---------------------------------------------------------------------------- audit log
def audit_queue_depth(depth: int) -> None:
    """Records waiting in this process's audit queue (set by the writer after each batch)."""
    if _enabled:
        _audit_depth.set(depth)


def audit_batch(seconds: float, records: int) -> None:
    """One batch of ``records`` audit records made durable in ``seconds``."""
    if _enabled:
        _audit_commit.observe(seconds)
        _audit_records.inc(records)


def audit_dropped(count: int = 1) -> None:
    if _enabled:
        _audit_dropped.inc(count)


def config_reload(result: str) -> None:
    if _enabled:
        _child(_reloads, result).inc()


# ---------------------------------------------------------------------------- exposition
def render() -> bytes:
    """The metrics in the Prometheus text format, every worker's included."""
    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry, path=directory)
        return generate_latest(registry)
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY)


def make_multiprocess_dir() -> str:
    """A fresh directory for this run's worker files, set in the environment the workers inherit.
    The metric classes read it when ``prometheus_client`` is imported, so only processes started
    after this call (the workers) write there."""
    directory = tempfile.mkdtemp(prefix="keeptrust-metrics-")
    os.environ[MULTIPROC_ENV] = directory
    return directory


def remove_multiprocess_dir(directory: str) -> None:
    if os.environ.get(MULTIPROC_ENV) == directory:
        del os.environ[MULTIPROC_ENV]
    shutil.rmtree(directory, ignore_errors=True)


__all__ = [
    "ANSWERED",
    "BLOCKED",
    "CANCELLED",
    "CONTENT_TYPE",
    "ERROR",
    "REFUSED",
    "UPSTREAM_ERROR",
    "audit_batch",
    "audit_dropped",
    "audit_queue_depth",
    "config_reload",
    "configure",
    "is_enabled",
    "outcome_of",
    "render",
    "request_finished",
    "request_started",
    "stream_finished",
    "stream_started",
    "upstream_failure",
    "upstream_fallback",
    "upstream_latency",
    "upstream_retry",
]

"""Request tracing: what the core tells a tracer about each request, and when.

A tracing plugin (keeptrust-otel) registers a tracer class through ``register_tracers``. Each
serving process builds one instance when it starts serving (after a ``--workers`` fork) and closes
it at shutdown. For every audited request the core calls ``tracer.start(...)`` and keeps the
``RequestTrace`` it returns on ``ctx.trace``; the policy chain, the transport and target groups
then report to it:

- each policy call of each phase (``request``, ``response``, ``stream``, ``complete``):
  ``trace.policy(name, phase)`` before, ``span.end(decisions, error)`` after, with the
  ``DecisionRecord`` objects the call added (none: it allowed silently) and, when it raised, the
  error code (``policy_timeout``, ``internal_error``) — a block is a decision, not an error. A
  stream's filter spans cover the whole stream;
- each upstream attempt: ``trace.attempt(target, request, number, reason)`` once the
  ``httpx.Request`` is built (the tracer may add headers to it, such as ``traceparent``), with the
  reason of the retry (``status_503``, ``refused``) or ``None`` for a first attempt;
  ``span.end(status=..., cause=...)`` when the answer's headers arrive or the attempt fails
  (``cause`` as ``keeptrust.failures`` names it, or ``cancelled``);
- a target group moving on to its next member: ``trace.fallback(from_target, to_target, reason)``;
- the end of the request, after the last byte of the answer (a stream's end) and ``on_complete``:
  ``trace.finish(ctx)``. Everything known about the request (status, outcome, model, usage, the
  time of the first byte, the error that cut a stream short) is on ``ctx`` then.

With no tracer installed ``ctx.trace`` is ``None`` and each of these points costs one attribute
test. A tracer never receives request or answer text, and must not read it from ``ctx`` unless its
operator asks for it; no header value reaches it but the request's ``traceparent``/``tracestate``
pair (it is handed the raw headers and picks what it needs).

Public module: tracing plugins implement the Protocols below.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

import attrs

if TYPE_CHECKING:
    import httpx

    from keeptrust.context import RequestContext
    from keeptrust.policy import DecisionRecord


@attrs.frozen
class TracerEnv:
    """What a tracer receives when the serving process builds it."""

    logger: logging.Logger
    # The process environment (the standard ``OTEL_*`` variables live there).
    environ: Mapping[str, str]
    # keeptrust's version (a tracer's ``service.version``).
    version: str


class PolicySpan(Protocol):
    def end(self, decisions: Sequence[DecisionRecord], error: str | None = None) -> None: ...


class AttemptSpan(Protocol):
    def end(self, status: int | None = None, cause: str | None = None) -> None: ...


class RequestTrace(Protocol):
    """One request's trace (what ``Tracer.start`` returns)."""

    def policy(self, policy: str, phase: str) -> PolicySpan: ...

    def attempt(self, target: str, request: httpx.Request, number: int, reason: str | None) -> AttemptSpan: ...

    def fallback(self, from_target: str, to_target: str, reason: str) -> None: ...

    def finish(self, ctx: RequestContext) -> None: ...


class Tracer(Protocol):
    """A tracer class (``register_tracers``): ``name``, ``__init__(env)``, ``start`` and ``aclose``."""

    name: str

    def __init__(self, env: TracerEnv) -> None: ...

    def start(
        self, ctx: RequestContext, route: str, method: str, headers: Sequence[tuple[bytes, bytes]]
    ) -> RequestTrace | None: ...

    async def aclose(self) -> None: ...


__all__ = ["AttemptSpan", "PolicySpan", "RequestTrace", "Tracer", "TracerEnv"]

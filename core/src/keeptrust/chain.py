"""Running the policy chain: request phase, response phase, stream filters and on_complete."""

from __future__ import annotations

import copy
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import trio

from keeptrust.errors import GatewayError, InternalError, PolicyTimeout, PolicyViolation
from keeptrust.policy import ACTIONS, Allow, Block, DecisionRecord, Policy, StreamBlocked, StreamFilter

if TYPE_CHECKING:
    from keeptrust.context import RequestContext
    from keeptrust.tracing import PolicySpan

logger = logging.getLogger("keeptrust.chain")
T = TypeVar("T")


class _TimedOut(Exception):
    """A policy call ran past its entry's ``timeout_ms`` and was cancelled."""


@attrs.define
class ChainEntry:
    name: str
    policy: Policy
    shadow: bool
    plugin: str
    has_request: bool
    has_response: bool
    has_stream: bool
    has_complete: bool
    has_redact: bool = False
    timeout: float | None = None  # seconds; from the policy's timeout_ms (0: none)
    on_timeout: str = "block"


def _overrides(policy: Policy, method: str) -> bool:
    impl = getattr(type(policy), method, None)
    return impl is not None and impl is not getattr(Policy, method, None)


class PolicyChain:
    """The configured policies in ``policies.chain`` order. Methods a policy does not override are
    skipped, so an empty or light chain costs nothing per request."""

    def __init__(self, entries: Sequence[tuple[str, Policy, str]], enabled: bool = True) -> None:
        self.enabled = enabled
        self.entries: list[ChainEntry] = []
        for name, policy, plugin in entries:
            shadow = getattr(policy.config, "mode", "enforce") == "shadow"
            timeout_ms = getattr(policy.config, "timeout_ms", 0) or 0
            self.entries.append(
                ChainEntry(
                    name,
                    policy,
                    shadow,
                    plugin,
                    _overrides(policy, "on_request"),
                    _overrides(policy, "on_response"),
                    _overrides(policy, "stream_filter"),
                    _overrides(policy, "on_complete"),
                    _overrides(policy, "redact_for_record"),
                    timeout_ms / 1000 if timeout_ms > 0 else None,
                    getattr(policy.config, "on_timeout", "block"),
                )
            )
        active = self.entries if enabled else [e for e in self.entries if _always_on(e)]
        self._request = [e for e in active if e.has_request]
        self._response = [e for e in active if e.has_response]
        self._stream = [e for e in active if e.has_stream]
        self._complete = [e for e in active if e.has_complete]
        self._redacting = [e for e in active if e.has_redact]

    @property
    def policies(self) -> list[Policy]:
        return [e.policy for e in self.entries]

    def has(self, name: str) -> bool:
        return any(e.name == name for e in self.entries)

    def _record(self, ctx: RequestContext, entry: ChainEntry, phase: str, decision: Any) -> None:
        action = ACTIONS.get(type(decision), "allow")
        if isinstance(decision, Allow) and not decision.reason and not decision.details:
            return
        ctx.decisions.append(
            DecisionRecord(
                policy=entry.name,
                phase=phase,
                action=action,
                reason=getattr(decision, "reason", "") or "",
                mode="shadow" if entry.shadow else "enforce",
                details=dict(getattr(decision, "details", {}) or {}),
            )
        )

    def _fail(self, entry: ChainEntry, phase: str, exc: Exception) -> InternalError:
        logger.error(
            "policy '%s' (plugin %s) raised in %s: %s: %s",
            entry.name,
            entry.plugin,
            phase,
            type(exc).__name__,
            exc,
            exc_info=exc,
        )
        return InternalError(f"policy '{entry.name}' failed while checking the {phase}; see the gateway log")

    async def bounded(self, entry: ChainEntry, call: Callable[[], Awaitable[T]]) -> T:
        """``await call()`` within ``entry``'s time budget; ``_TimedOut`` once it is spent.

        The call runs in place under a cancel scope: a policy waiting on I/O, a sleep or a worker
        thread started with ``abandon_on_cancel=True`` is cut off at the deadline. (Running every call
        as a separate task would also cut off threads that cannot be abandoned, at the price of a
        task switch per policy per request on the hot path.)"""
        if entry.timeout is None:
            return await call()
        with trio.move_on_after(entry.timeout):
            return await call()
        raise _TimedOut

    def _timed_out(self, ctx: RequestContext, entry: ChainEntry, phase: str) -> None:
        """Record a call that ran out of time; raise when its policy blocks on a timeout."""
        ms = round((entry.timeout or 0) * 1000)
        block = entry.on_timeout == "block"
        logger.warning(
            "policy '%s' did not decide on the %s within %d ms (on_timeout: %s)",
            entry.name,
            phase,
            ms,
            entry.on_timeout,
        )
        ctx.decisions.append(
            DecisionRecord(
                policy=entry.name,
                phase=phase,
                action="block" if block else "allow",
                reason=f"no decision within {ms} ms",
                mode="shadow" if entry.shadow else "enforce",
                details={"timeout_ms": ms, "on_timeout": entry.on_timeout},
            )
        )
        if block and not entry.shadow:
            raise PolicyTimeout(f"policy '{entry.name}' did not check the {phase} within {ms} ms; try again later")

    async def on_request(self, ctx: RequestContext) -> None:
        for entry in self._request:
            if ctx.trace is None:
                await self._request_one(ctx, entry)
            else:
                await self._traced(ctx, entry, "request", self._request_one(ctx, entry))

    async def _traced(self, ctx: RequestContext, entry: ChainEntry, phase: str, call: Awaitable[T]) -> T:
        """``await call`` (one policy's call in ``phase``) inside its span of the request's trace."""
        span = ctx.trace.policy(entry.name, phase)
        mark = len(ctx.decisions)
        error: str | None = None
        try:
            return await call
        except PolicyViolation:  # a block: the decision says it
            raise
        except GatewayError as exc:
            error = exc.code
            raise
        except trio.Cancelled:
            error = "cancelled"
            raise
        except Exception as exc:
            error = type(exc).__name__
            raise
        finally:
            span.end(ctx.decisions[mark:], error)

    async def _request_one(self, ctx: RequestContext, entry: ChainEntry) -> None:
        saved = copy.deepcopy(ctx.body) if entry.shadow else None
        try:
            decision = await self.bounded(entry, lambda: entry.policy.on_request(ctx))
        except _TimedOut:
            if saved is not None:
                ctx.body = saved
            self._timed_out(ctx, entry, "request")
            return
        except GatewayError:
            raise
        except Exception as exc:  # a plugin bug becomes a 500 naming the policy
            raise self._fail(entry, "request", exc) from exc
        if saved is not None:
            ctx.body = saved
        if entry.has_redact and not entry.shadow and not isinstance(decision, Block):
            ctx.redacted.add((entry.name, "request"))
        if decision is None:
            return
        self._record(ctx, entry, "request", decision)
        if isinstance(decision, Block) and not entry.shadow:
            raise _violation(entry.name, decision)

    async def on_response(self, ctx: RequestContext, body: Any) -> Any:
        for entry in self._response:
            if ctx.trace is None:
                await self._response_one(ctx, entry, body)
            else:
                await self._traced(ctx, entry, "response", self._response_one(ctx, entry, body))
        return body

    async def _response_one(self, ctx: RequestContext, entry: ChainEntry, body: Any) -> None:
        target = copy.deepcopy(body) if entry.shadow else body
        try:
            decision = await self.bounded(entry, lambda: entry.policy.on_response(ctx, target))
        except _TimedOut:
            self._timed_out(ctx, entry, "response")
            return
        except GatewayError:
            raise
        except Exception as exc:
            raise self._fail(entry, "response", exc) from exc
        if entry.has_redact and not entry.shadow and not isinstance(decision, Block):
            ctx.redacted.add((entry.name, "response"))
        if decision is None:
            return
        self._record(ctx, entry, "response", decision)
        if isinstance(decision, Block) and not entry.shadow:
            raise _violation(entry.name, decision)

    def stream_filters(self, ctx: RequestContext) -> StreamFilters | None:
        filters = []
        for entry in self._stream:
            try:
                f = entry.policy.stream_filter(ctx)
            except Exception as exc:
                raise self._fail(entry, "stream", exc) from exc
            if f is not None:
                filters.append((entry, f))
                # The text a stream keeps for the record is what came out of every enforcing filter.
                if entry.has_redact and not entry.shadow:
                    ctx.redacted.add((entry.name, "response"))
        if not filters:
            return None
        spans = {e.name: ctx.trace.policy(e.name, "stream") for e, _ in filters} if ctx.trace is not None else None
        return StreamFilters(ctx, filters, self, spans)

    def completing_send(self, ctx: RequestContext, send: Any) -> Any:
        """``send`` for the answer to ``ctx``; when a policy ``holds_answer``, a wrapper that runs
        ``on_complete`` before the last body message goes out (so a client that has the whole answer
        knows the policy finished, e.g. its audit record is durable)."""
        if not any(e.policy.holds_answer for e in self._complete):
            return send

        async def send_when_complete(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                if ctx.finished_at is None:
                    ctx.finished_at = time.monotonic()
                with trio.CancelScope(shield=True):
                    await self.on_complete(ctx)
            await send(message)

        return send_when_complete

    async def on_complete(self, ctx: RequestContext) -> None:
        if ctx.completed:
            return  # already run before the answer's last message (completing_send)
        ctx.completed = True
        if self._redacting:
            bodies = any(e.policy.keeps_bodies for e in self._complete)
            if bodies or ctx.error_message:
                await self.redact_for_record(ctx, bodies)
        for entry in self._complete:
            if ctx.trace is None:
                await self._complete_one(ctx, entry)
                continue
            span = ctx.trace.policy(entry.name, "complete")
            error: str | None = "cancelled"
            try:
                error = await self._complete_one(ctx, entry)
            finally:
                span.end((), error)

    async def _complete_one(self, ctx: RequestContext, entry: ChainEntry) -> str | None:
        """Run one policy's ``on_complete``; what went wrong (``policy_timeout``, the exception's type)."""
        try:
            await self.bounded(entry, lambda: entry.policy.on_complete(ctx))
        except _TimedOut:
            logger.error("policy '%s' (plugin %s) did not finish on_complete in time", entry.name, entry.plugin)
            return "policy_timeout"
        except Exception as exc:  # one policy's failure never skips the others
            logger.error(
                "policy '%s' (plugin %s) raised in on_complete: %s", entry.name, entry.plugin, exc, exc_info=exc
            )
            return type(exc).__name__
        return None

    async def redact_for_record(self, ctx: RequestContext, bodies: bool = True) -> None:
        """Pass what completion consumers keep through every redacting policy whose own phase did not
        redact it on this request (refused earlier, blocked, shadow, upstream error): the error message
        (an upstream's may quote the request) and, with ``bodies``, the request and answer bodies."""
        done = ctx.redacted
        for entry in self._redacting:
            if ctx.error_message and (entry.name, "error") not in done:
                message = await self._redact(ctx, entry, ctx.error_message, "response")
                ctx.error_message = message if isinstance(message, str) else "(withheld: redaction failed)"
                done.add((entry.name, "error"))
            if not bodies:
                continue
            if (entry.name, "request") not in done and ctx.body:
                ctx.body = await self._redact(ctx, entry, ctx.body, "request")
            if (entry.name, "response") not in done:
                if ctx.response_body is not None:
                    ctx.response_body = await self._redact(ctx, entry, ctx.response_body, "response")
                if ctx.response_text:
                    ctx.response_text = await self._redact(ctx, entry, ctx.response_text, "response")
            done.add((entry.name, "request"))
            done.add((entry.name, "response"))

    async def _redact(self, ctx: RequestContext, entry: ChainEntry, value: Any, phase: str) -> Any:
        try:
            return await entry.policy.redact_for_record(ctx, value, phase)  # type: ignore[arg-type]
        except Exception as exc:
            # The exception's message may quote the text: log its type only, and keep nothing unredacted.
            logger.error(
                "policy '%s' (plugin %s) failed to redact the %s of %s for the record (%s); it is withheld",
                entry.name,
                entry.plugin,
                phase,
                ctx.request_id,
                type(exc).__name__,
            )
            return {"withheld": f"redaction by {entry.name} failed"}


async def _settle(value: Any) -> str:
    # A filter's feed/flush may be plain (cheap scans) or async (analysis in a worker thread).
    return await value if inspect.isawaitable(value) else value


def _always_on(entry: ChainEntry) -> bool:
    # With ``pack.enabled: false`` the pack's policies are off, but the audit trail keeps running.
    return entry.name == "audit-logger"


class StreamFilters:
    """The stream filters of one streamed answer, one set per choice index, applied in chain order.
    A shadow filter sees the text and records a block, but the client gets the text unchanged."""

    def __init__(
        self,
        ctx: RequestContext,
        filters: list[tuple[ChainEntry, StreamFilter]],
        chain: PolicyChain,
        spans: dict[str, PolicySpan] | None = None,
    ) -> None:
        self.ctx = ctx
        self.chain = chain
        # Each filter's span in the request's trace, open for the whole stream (None: not traced).
        self.spans = spans
        self.errors: dict[str, str] = {}
        self._first = filters
        self._per_choice: dict[int, list[tuple[ChainEntry, StreamFilter]]] = {0: filters}
        self._blocked_shadow: set[str] = set()

    def _for(self, index: int) -> list[tuple[ChainEntry, StreamFilter]]:
        got = self._per_choice.get(index)
        if got is None:
            got = [(e, e.policy.stream_filter(self.ctx)) for e, _ in self._first]
            got = [(e, f) for e, f in got if f is not None]
            self._per_choice[index] = got
        return got

    async def _run(self, index: int, text: str, final: bool) -> str:
        for entry, f in self._for(index):
            if entry.name in self._blocked_shadow:
                continue
            try:
                out = await self.chain.bounded(entry, lambda f=f, t=text: _settle(f.feed(t))) if text else ""
                if final:
                    out += await self.chain.bounded(entry, lambda f=f: _settle(f.flush()))
            except _TimedOut:
                # Once out of time the filter is left out for the rest of this stream (waiting on it
                # for every chunk would stall the stream); ``block`` ends the stream instead.
                self._blocked_shadow.add(entry.name)
                try:
                    self.chain._timed_out(self.ctx, entry, "stream")
                except PolicyTimeout as timeout:
                    raise PolicyViolation(timeout.message, param=entry.name, code="policy_timeout") from None
                continue
            except StreamBlocked as blocked:
                self.ctx.decisions.append(
                    DecisionRecord(
                        entry.name,
                        "stream",
                        "block",
                        blocked.reason or "blocked mid-stream",
                        "shadow" if entry.shadow else "enforce",
                        dict(blocked.details),
                    )
                )
                if entry.shadow:
                    self._blocked_shadow.add(entry.name)
                    continue
                raise PolicyViolation(blocked.message, param=entry.name) from None
            except Exception as exc:
                self.errors[entry.name] = type(exc).__name__
                raise self.chain._fail(entry, "stream", exc) from exc
            if not entry.shadow:
                text = out
        return text

    def close(self, cancelled: bool = False) -> None:
        """The stream is over: end the filters' spans with the decisions they took on it."""
        if self.spans is None:
            return
        spans, self.spans = self.spans, None
        for name, span in spans.items():
            taken = [d for d in self.ctx.decisions if d.policy == name and d.phase == "stream"]
            span.end(taken, self.errors.get(name) or ("cancelled" if cancelled else None))

    async def feed(self, index: int, text: str) -> str:
        return await self._run(index, text, final=False)

    async def flush(self, index: int) -> str:
        return await self._run(index, "", final=True)

    @property
    def indexes(self) -> list[int]:
        return list(self._per_choice)


def _violation(policy: str, block: Block) -> PolicyViolation:
    error = PolicyViolation(block.message, param=policy, code=block.code, status=block.status, headers=block.headers)
    if block.status == 429:
        error.error_type = "rate_limit_error"
    return error

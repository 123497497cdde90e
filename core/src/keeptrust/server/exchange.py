"""One request exchange: the request context from arrival to its audit record.

Every route runs inside an ``Exchange`` (an async context manager). On the way in it gives the
request an id and a ``RequestContext``; on the way out it maps what went wrong to the client's
answer (a ``GatewayError`` to its OpenAI-shaped error, any other exception to a 500 that names the
request id, a vanished client to 499), stamps the end time, and runs the policies' ``on_complete``
shielded from cancellation, so every request gets its audit record whatever happened. With a
tracer installed (``keeptrust.tracing``) it starts the request's trace and finishes it last.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

import trio

from keeptrust import metrics
from keeptrust.context import RequestContext
from keeptrust.errors import GatewayError, InternalError
from keeptrust.logs import log_access
from keeptrust.server import http
from keeptrust.server.multipart import parse_multipart
from keeptrust.server.validate import coerce_form

if TYPE_CHECKING:
    from keeptrust.chain import PolicyChain
    from keeptrust.plugins import Registry
    from keeptrust.server.auth import Authenticator
    from keeptrust.server.limits import Limits
    from keeptrust.tracing import Tracer

logger = logging.getLogger("keeptrust.server")


class Exchange:
    """One request and its answer. Routes read the request through it and answer through ``send``.

    ``audited=False`` (health probes) skips ``on_complete``: probes are not client traffic.
    """

    def __init__(
        self,
        scope: http.Scope,
        receive: http.Receive,
        send: http.Send,
        *,
        operation: str,
        chain: PolicyChain,
        limits: Limits,
        auth: Authenticator,
        audited: bool = True,
        route: str | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        self.scope = scope
        self.receive = receive
        self._send = send
        self.chain = chain
        self.limits = limits
        self.auth = auth
        self.audited = audited
        self._counted = False
        # The metrics' route label: the route's own path, never the client's (which is unbounded).
        self.route = route or "unmatched"
        self.tracer = tracer if audited else None
        self.headers: dict[bytes, bytes] = {}
        # Status and body of an error in another API's shape (a dialect's routes); None: OpenAI's.
        self.render_error: Callable[[GatewayError, str | None], tuple[int, bytes]] | None = None
        self._held = contextlib.ExitStack()
        client = scope.get("client")
        # A request id before anything can fail, so even a refused request gets its audit record.
        self.ctx = RequestContext(
            request_id="req_" + os.urandom(12).hex(),
            operation=operation,
            endpoint=scope["path"],
            body={},
            client=client[0] if client else None,
        )
        # With a policy that holds the answer (durable_before_response), on_complete runs just before
        # the answer's last message, which waits for it.
        self._send = chain.completing_send(self.ctx, send) if audited else send

    @property
    def method(self) -> str:
        return str(self.scope["method"])

    @property
    def path(self) -> str:
        return str(self.scope["path"])

    @property
    def query(self) -> bytes:
        return bytes(self.scope.get("query_string", b""))

    # ------------------------------------------------------------------ reading the request
    def admit(self, *, count: bool = True) -> None:
        """Read the headers within their limits, take the client's request id, hold an in-flight
        slot until the exchange ends (``count``), and authenticate."""
        self.headers = self.limits.headers(self.scope)
        self.ctx.request_id = http.request_id(self.headers, self.ctx.request_id)
        if count:
            self._held.enter_context(self.limits.in_flight())
        self.auth.authenticate(self.ctx, self.headers)

    async def read_raw_body(self) -> bytes:
        """The body as bytes, within the same limits (a plugin route taking binary uploads)."""
        raw = await self.limits.read_body(self.receive, self.headers)
        self.ctx.request_size = len(raw)
        return raw

    async def read_body(self, *, multipart: bool = False, empty: Any = None) -> Any:
        """The parsed body (JSON, or a multipart form where ``multipart``), also set on ``ctx.body``.
        ``empty`` is the body of a request without one (``None``: an empty body is an error)."""
        raw = await self.limits.read_body(self.receive, self.headers)
        self.ctx.request_size = len(raw)
        ctype = self.headers.get(b"content-type", b"")
        if multipart and ctype.startswith(b"multipart/form-data"):
            body = coerce_form(parse_multipart(raw, ctype))
        elif empty is not None and not raw:
            body = empty
        else:
            body = self.limits.parse_json(raw, self.headers)
        self.ctx.body = body
        return body

    # ------------------------------------------------------------------ answering
    async def send(self, message: dict[str, Any]) -> None:
        """The ASGI ``send``, adding the headers policies asked for to whatever answer goes out."""
        extra = self.ctx.response_headers
        if extra and message["type"] == "http.response.start":
            added = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()]
            message = {**message, "headers": [*message.get("headers", ()), *added]}
        await self._send(message)

    async def send_json(self, status: int, body: Any) -> None:
        self.ctx.status = status
        await http.send_json(self.send, status, body, rid=self.ctx.request_id)

    async def fail(self, error: GatewayError) -> None:
        """Record ``error`` on the context and send it (a client already gone is not an error)."""
        ctx = self.ctx
        ctx.status, ctx.error_code, ctx.error_message = error.status, error.code, error.message
        try:
            if self.render_error is None:
                await http.send_error(self.send, error, ctx.request_id)
            else:
                ctx.status, body = self.render_error(error, ctx.request_id)
                await http.send_bytes(self.send, ctx.status, body, headers=error.headers, rid=ctx.request_id)
        except Exception:  # the client is gone; nothing more to tell it
            pass

    # ------------------------------------------------------------------ the exchange's end
    async def __aenter__(self) -> Exchange:
        self._counted = self.audited and metrics.request_started()
        if self.tracer is not None:
            try:
                self.ctx.trace = self.tracer.start(self.ctx, self.route, self.method, self.scope.get("headers", ()))
            except Exception as exc:  # tracing never costs a request its answer
                logger.error("tracer failed to start a trace: %s: %s", type(exc).__name__, exc, exc_info=exc)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        ctx = self.ctx
        try:
            self._held.close()
            if isinstance(exc, http.ClientGone):
                ctx.cancelled = True
                ctx.status = 499
            elif isinstance(exc, GatewayError):
                await self.fail(exc)
            elif isinstance(exc, Exception):  # never a traceback to the client
                rid = ctx.request_id
                logger.error("request %s failed: %s: %s", rid, type(exc).__name__, exc, exc_info=exc)
                error = InternalError(f"internal error (request id {rid})")
                await self.fail(error)
                ctx.error_message = None  # the exception's text stays in the log
        finally:
            if ctx.finished_at is None:
                ctx.finished_at = time.monotonic()
            if self.audited:
                metrics.request_finished(ctx, self.route, self._counted)
                log_access(ctx, self.method, self.route)
                with trio.CancelScope(shield=True):
                    await self.chain.on_complete(ctx)
            if ctx.trace is not None:
                _finish_trace(ctx)
        # Exceptions are answered here; cancellation and the like go on up.
        return exc is None or isinstance(exc, Exception)


def _finish_trace(ctx: RequestContext) -> None:
    try:
        ctx.trace.finish(ctx)
    except Exception as exc:
        logger.error("tracer failed to finish a trace: %s: %s", type(exc).__name__, exc, exc_info=exc)


def log_plugin_failure(registry: Registry, what: str, owner: tuple[str, str], exc: Exception) -> None:
    """A plugin's bug costs one request a 500; the log line says whose bug it is."""
    plugin = registry.owners.get(owner, "?")
    family = f"provider {owner[1]}, " if owner[0] == "provider" else ""
    logger.error("%s (%splugin %s) raised: %s: %s", what, family, plugin, type(exc).__name__, exc, exc_info=exc)

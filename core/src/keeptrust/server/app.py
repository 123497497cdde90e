"""The ASGI application: routing, authentication, limits, the policy chain and the provider call."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import trio

from keeptrust import context as ops
from keeptrust.context import RequestContext
from keeptrust.errors import (
    AuthenticationError,
    GatewayError,
    InternalError,
    MethodNotAllowed,
    NotFound,
    RateLimited,
    RequestError,
    UnsupportedOperation,
    UpstreamUnavailable,
    leaf_errors,
)
from keeptrust.results import Result
from keeptrust.server import http
from keeptrust.server.gateway import Gateway
from keeptrust.server.models import list_models
from keeptrust.server.multipart import parse_multipart
from keeptrust.server.respond import respond
from keeptrust.server.validate import coerce_form, validate

logger = logging.getLogger("keeptrust.server")

# path -> (operation, accepts multipart)
OPERATION_ROUTES: dict[str, tuple[str, bool]] = {
    "/v1/chat/completions": (ops.CHAT, False),
    "/v1/embeddings": (ops.EMBEDDINGS, False),
    "/v1/responses": (ops.RESPONSES, False),
    "/v1/images/generations": (ops.IMAGES, False),
    "/v1/images/edits": (ops.IMAGE_EDIT, True),
    "/v1/audio/speech": (ops.SPEECH, False),
    "/v1/audio/transcriptions": (ops.TRANSCRIPTION, True),
}


@attrs.define(eq=False)
class GatewayRequest:
    """What a plugin route handler receives."""

    method: str
    path: str
    headers: dict[bytes, bytes]
    query: bytes
    body: Any
    ctx: RequestContext
    gateway: Gateway


class GatewayApp:
    """ASGI entry point. One instance per worker process."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        server = gateway.server
        self.max_body = server.max_body_bytes
        self.body_timeout = server.body_timeout_seconds
        self.max_header_bytes = server.max_header_bytes
        self.max_header_count = server.max_header_count
        self.max_depth = server.max_json_depth
        self.max_streams = server.max_streams_per_client
        self.max_inflight = server.max_concurrent_requests
        self.role_header = server.auth.role_header.lower().encode()
        self.inflight = 0
        self.streams: dict[str, int] = {}
        self.ready = False
        self.draining = False
        self.created = int(time.time())
        self.pack = gateway.loaded.gateway.pack
        self.routes = {(r.method, r.path): r for r in gateway.registry.routes.values()}
        self.route_paths = {path for _, path in self.routes}

    # ------------------------------------------------------------------ ASGI
    async def __call__(self, scope: dict[str, Any], receive: http.Receive, send: http.Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self.http(scope, receive, send)
        elif kind == "lifespan":
            await self.lifespan(receive, send)

    async def lifespan(self, receive: http.Receive, send: http.Send) -> None:
        message = await receive()
        if message["type"] != "lifespan.startup":
            return
        try:
            async with trio.open_nursery() as nursery:
                for policy in self.gateway.chain.policies:
                    runner = getattr(policy, "run", None)
                    if runner is not None:
                        await nursery.start(runner)
                demo = self.gateway.server.demo_upstream
                if demo is not None:
                    from keeptrust.server.run import serve_demo_upstream

                    await nursery.start(serve_demo_upstream, demo)
                self.ready = True
                await send({"type": "lifespan.startup.complete"})
                message = await receive()
                self.draining = True
                self.ready = False
                # Requests have drained (hypercorn waits before shutting the lifespan down):
                # close policies first so the audit writer flushes, then stop their tasks.
                await self.gateway.aclose()
                nursery.cancel_scope.cancel()
        except Exception as exc:
            if not self.ready and not self.draining:
                # A nursery wraps the failure in an exception group: report the causes themselves.
                message = "; ".join(
                    f"{type(e).__name__}: {e}" if not isinstance(e, GatewayError) else str(e) for e in leaf_errors(exc)
                )
                logger.error("start-up failed: %s", message)
                logger.debug("start-up failure details", exc_info=exc)
                await send({"type": "lifespan.startup.failed", "message": message})
                return
            raise
        await send({"type": "lifespan.shutdown.complete"})

    async def http(self, scope: dict[str, Any], receive: http.Receive, send: http.Send) -> None:
        path = scope["path"]
        method = scope["method"]
        route = OPERATION_ROUTES.get(path)
        if route is not None and method == "POST":
            await self.operation(scope, receive, send, route[0], route[1])
            return
        if method == "GET":
            if path == "/healthz":
                await http.send_json(send, 200, {"status": "ok"})
                return
            if path == "/readyz":
                ok = self.ready and not self.draining
                await http.send_json(send, 200 if ok else 503, {"status": "ready" if ok else "not ready"})
                return
            if path == "/v1/models" or path.startswith("/v1/models/"):
                await self.models(scope, receive, send)
                return
        plugin_route = self.routes.get((method, path))
        if plugin_route is not None:
            await self.operation(scope, receive, send, "route", True, handler=self._guard_route(plugin_route))
            return
        if route is not None or path in self.route_paths or path == "/v1/models":
            error: GatewayError = MethodNotAllowed(f"{method} is not allowed on {path}")
        else:
            error = NotFound(f"no route {method} {path}; see the gateway's README for its endpoints")
        # A probe of a wrong route is still an access: the audit log records it (log_all_access).
        ctx = self._begin(scope, "route")
        ctx.status, ctx.error_code, ctx.error_message = error.status, error.code, error.message
        await self._send_error(send, error, ctx)
        ctx.finished_at = time.monotonic()
        with trio.CancelScope(shield=True):
            await self.gateway.chain.on_complete(ctx)

    # ------------------------------------------------------------------ requests
    def _begin(self, scope: dict[str, Any], operation: str) -> RequestContext:
        client = scope.get("client")
        # A request id before anything can fail, so even a refused request gets its audit record.
        return RequestContext(
            request_id="req_" + os.urandom(12).hex(),
            operation=operation,
            endpoint=scope["path"],
            body={},
            client=client[0] if client else None,
        )

    def _headers(self, scope: dict[str, Any], ctx: RequestContext) -> dict[bytes, bytes]:
        headers = http.header_map(scope, self.max_header_bytes, self.max_header_count)
        ctx.request_id = http.request_id(headers, ctx.request_id)
        return headers

    def _authenticate(self, ctx: RequestContext, headers: dict[bytes, bytes]) -> None:
        gateway = self.gateway
        if gateway.keys:
            presented = headers.get(b"authorization", b"")
            token = presented[7:].strip() if presented[:7].lower() == b"bearer " else headers.get(b"x-api-key", b"")
            key = gateway.authenticate(token.decode("latin-1")) if token else None
            if key is None:
                raise AuthenticationError("a valid gateway API key is required (Authorization: Bearer <key>)")
            ctx.key_id = key.key_id
            ctx.role = key.role
        else:
            role = headers.get(self.role_header)
            if role:
                ctx.role = role.decode("latin-1")[:64]

    async def operation(
        self,
        scope: dict[str, Any],
        receive: http.Receive,
        send: http.Send,
        operation: str,
        multipart: bool,
        handler: Callable[[GatewayRequest], Awaitable[Result]] | None = None,
    ) -> None:
        ctx: RequestContext | None = None
        counted = False
        try:
            ctx = self._begin(scope, operation)
            headers = self._headers(scope, ctx)
            if self.inflight >= self.max_inflight:
                raise UpstreamUnavailable(
                    "the gateway is at its limit of concurrent requests; retry shortly",
                    code="overloaded",
                    headers={"retry-after": "1"},
                )
            self.inflight += 1
            counted = True
            self._authenticate(ctx, headers)
            raw = await http.read_body(receive, headers, self.max_body, self.body_timeout)
            ctx.request_size = len(raw)
            ctype = headers.get(b"content-type", b"")
            if multipart and ctype.startswith(b"multipart/form-data"):
                body = coerce_form(parse_multipart(raw, ctype))
            elif handler is not None and not raw:
                body = {}
            else:
                body = http.parse_json(raw, headers, self.max_depth)
            ctx.body = body
            if handler is not None:
                result = await handler(
                    GatewayRequest(
                        scope["method"], scope["path"], headers, scope.get("query_string", b""), body, ctx, self.gateway
                    )
                )
                await self.respond(ctx, result, send, receive)
                return
            validate(operation, body)
            model = body.get("model")
            ctx.model = model if isinstance(model, str) else None
            ctx.stream = body.get("stream") is True
            await self.run_chain(ctx, send, receive)
        except http.ClientGone:
            if ctx is not None:
                ctx.cancelled = True
                ctx.status = 499
        except GatewayError as exc:
            if ctx is not None:
                ctx.status = exc.status
                ctx.error_code = exc.code
                ctx.error_message = exc.message
            await self._send_error(send, exc, ctx)
        except Exception as exc:  # never a traceback to the client
            rid = ctx.request_id if ctx else "-"
            logger.error("request %s failed: %s: %s", rid, type(exc).__name__, exc, exc_info=exc)
            error = InternalError(f"internal error (request id {rid})")
            if ctx is not None:
                ctx.status = 500
                ctx.error_code = error.code
            await self._send_error(send, error, ctx)
        finally:
            if counted:
                self.inflight -= 1
            if ctx is not None:
                if ctx.finished_at is None:
                    ctx.finished_at = time.monotonic()
                with trio.CancelScope(shield=True):
                    await self.gateway.chain.on_complete(ctx)

    async def _send_error(self, send: http.Send, exc: GatewayError, ctx: RequestContext | None) -> None:
        try:
            await http.send_error(send, exc, ctx.request_id if ctx else None)
        except Exception:  # the client is gone; nothing more to tell it
            pass

    async def run_chain(self, ctx: RequestContext, send: http.Send, receive: http.Receive) -> None:
        gateway = self.gateway
        chain = gateway.chain
        routed = chain.has("router")
        if not routed:
            ctx.target, ctx.upstream_model = gateway.resolver.resolve(ctx.model)
        ctx.extra["core.reached_chain"] = True
        await chain.on_request(ctx)
        if ctx.target is None:
            ctx.target, ctx.upstream_model = gateway.resolver.resolve(ctx.model)
        target = ctx.target
        if not target.provider.supports(ctx.operation):
            raise UnsupportedOperation(
                f"target '{target.id}' ({target.provider.name}) does not support {ctx.operation}", param="model"
            )
        if ctx.stream:
            client = ctx.client or "-"
            count = self.streams.get(client, 0)
            if count >= self.max_streams:
                raise RateLimited(
                    f"too many concurrent streams from this client (limit {self.max_streams})",
                    headers={"retry-after": "1"},
                )
            self.streams[client] = count + 1
            try:
                await self._execute(ctx, send, receive)
            finally:
                left = self.streams[client] - 1
                if left:
                    self.streams[client] = left
                else:
                    del self.streams[client]
        else:
            await self._execute(ctx, send, receive)

    async def _execute(self, ctx: RequestContext, send: http.Send, receive: http.Receive) -> None:
        # The provider call and the answer run in a nursery next to a watcher, so a client that goes
        # away cancels the upstream request at once.
        failure: Exception | None = None
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_watch_disconnect, receive, nursery.cancel_scope, ctx)
            try:
                result = await self._call_provider(ctx)
                await self.respond(ctx, result, _completion_tracking(send, ctx), receive)
            except Exception as exc:
                failure = exc
            nursery.cancel_scope.cancel()
        if failure is not None:
            raise failure
        if ctx.cancelled:
            ctx.status = 499
            ctx.error_code = "client_closed_request"

    def _plugin_failed(self, what: str, owner: tuple[str, str], exc: Exception) -> None:
        # A plugin's bug costs one request a 500; the log line says whose bug it is.
        plugin = self.gateway.registry.owners.get(owner, "?")
        family = f"provider {owner[1]}, " if owner[0] == "provider" else ""
        logger.error("%s (%splugin %s) raised: %s: %s", what, family, plugin, type(exc).__name__, exc, exc_info=exc)

    async def _call_provider(self, ctx: RequestContext) -> Result:
        target = ctx.target
        assert target is not None
        try:
            return await target.provider.execute(ctx)
        except GatewayError:
            raise
        except Exception as exc:  # a plugin bug becomes a 500 naming the plugin
            self._plugin_failed(f"target '{target.id}'", ("provider", target.provider.name), exc)
            message = f"target '{target.id}' failed; see the gateway log (request id {ctx.request_id})"
            raise InternalError(message) from exc

    def _guard_route(self, route: Any) -> Callable[[GatewayRequest], Awaitable[Result]]:
        async def handler(request: GatewayRequest) -> Result:
            try:
                return await route.handler(request)
            except GatewayError:
                raise
            except Exception as exc:
                key = f"{route.method} {route.path}"
                self._plugin_failed(f"route {key}", ("route", key), exc)
                raise InternalError(
                    f"{route.method} {route.path} failed; see the gateway log (request id {request.ctx.request_id})"
                ) from exc

        return handler

    async def respond(self, ctx: RequestContext, result: Result, send: http.Send, receive: http.Receive) -> None:
        await respond(ctx, result, send, self.gateway.chain)

    # ------------------------------------------------------------------ models
    async def models(self, scope: dict[str, Any], receive: http.Receive, send: http.Send) -> None:
        ctx: RequestContext | None = None
        try:
            ctx = self._begin(scope, ops.MODELS)
            headers = self._headers(scope, ctx)
            self._authenticate(ctx, headers)
            data = await self.list_models()
            path = scope["path"]
            if path != "/v1/models":
                wanted = path[len("/v1/models/") :]
                for item in data:
                    if item["id"] == wanted:
                        ctx.status = 200
                        await http.send_json(send, 200, item, rid=ctx.request_id)
                        return
                raise NotFound(
                    f"the model '{wanted}' does not exist on this gateway", code="model_not_found", param="model"
                )
            ctx.status = 200
            await http.send_json(send, 200, {"object": "list", "data": data}, rid=ctx.request_id)
        except GatewayError as exc:
            if ctx is not None:
                ctx.status = exc.status
                ctx.error_code = exc.code
            await self._send_error(send, exc, ctx)
        finally:
            if ctx is not None:
                ctx.finished_at = time.monotonic()
                with trio.CancelScope(shield=True):
                    await self.gateway.chain.on_complete(ctx)

    async def list_models(self) -> list[dict[str, Any]]:
        return await list_models(self.gateway, self.created, self._plugin_failed)


async def _watch_disconnect(receive: http.Receive, scope: trio.CancelScope, ctx: RequestContext) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            # ASGI servers also send http.disconnect once the response is complete: not a cancellation.
            if not ctx.extra.get("core.response_complete"):
                ctx.cancelled = True
                scope.cancel()
            return


def _completion_tracking(send: http.Send, ctx: RequestContext) -> http.Send:
    async def tracked(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            ctx.extra["core.response_complete"] = True
        await send(message)

    return tracked


# Re-exported for plugin route handlers that want to raise request errors.
__all__ = ["GatewayApp", "GatewayRequest", "OPERATION_ROUTES", "RequestError"]

"""The ASGI application: it only routes. Each request runs in an ``Exchange`` (status, error
answer, audit record); the handlers live with what they do (``operations``, ``models``), the
limits in ``limits``, authentication in ``auth`` and start-up/shutdown in ``lifespan``."""

from __future__ import annotations

import time
from typing import Any

from keeptrust import context as ops
from keeptrust import metrics
from keeptrust.dialects import dialect_routes
from keeptrust.errors import GatewayError, PluginError, RequestError
from keeptrust.groups import group_status
from keeptrust.server import http
from keeptrust.server.exchange import Exchange
from keeptrust.server.gateway import Gateway
from keeptrust.server.lifespan import Health, lifespan
from keeptrust.server.limits import Limits
from keeptrust.server.metrics_route import METRICS_PATH, metrics_route
from keeptrust.server.models import models_route
from keeptrust.server.operations import dialect_operation, openai_operation, plugin_route
from keeptrust.server.reload import Generation
from keeptrust.server.routes import GatewayRequest, RouteTable
from keeptrust.tracing import Tracer

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


def build_routes(gateway: Gateway, limits: Limits, health: Health, created: int) -> RouteTable:
    """Every route the gateway answers: the OpenAI operations, model listing, probes, then the
    routes plugins registered (a plugin may not take a built-in route)."""
    table = RouteTable()
    for path, (operation, multipart) in OPERATION_ROUTES.items():
        table.add("POST", path, openai_operation(gateway, limits, operation, multipart=multipart), operation=operation)
    for path, dialect in dialect_routes().items():
        table.add("POST", path, dialect_operation(gateway, limits, dialect), operation=dialect.operation)
    models = models_route(gateway, created)
    table.add("GET", "/v1/models", models, operation=ops.MODELS, prefix=True)

    async def healthz(exchange: Exchange) -> None:
        await http.send_json(exchange.send, 200, {"status": "ok"})

    async def readyz(exchange: Exchange) -> None:
        ok = health.ok
        detail: dict[str, Any] = {"status": "ready" if ok else "not ready"}
        groups = group_status(gateway.targets)
        if groups:
            detail["groups"] = groups
        await http.send_json(exchange.send, 200 if ok else 503, detail)

    table.add("GET", "/healthz", healthz, audited=False)
    table.add("GET", "/readyz", readyz, audited=False)
    settings = gateway.server.metrics
    if settings.enabled and settings.listen is None:
        table.add("GET", METRICS_PATH, metrics_route(gateway), audited=False)
    for route in gateway.registry.routes.values():
        try:
            table.add(route.method, route.path, plugin_route(gateway, route), pattern=route.pattern)
        except ValueError:
            raise PluginError(
                f"plugin '{route.plugin}' registers route {route.method} {route.path}, which is a built-in route"
            ) from None
    return table


class GatewayApp:
    """ASGI entry point. One instance per worker process. It serves the current ``Generation``
    (gateway and routes); a reload (``keeptrust.server.reload``) puts a new one in its place while
    requests in flight finish on theirs."""

    def __init__(self, gateway: Gateway) -> None:
        self.health = Health()
        # A dialect's routes answer every error in its shape, a wrong method (405) included.
        self.error_shapes = {path: dialect.error for path, dialect in dialect_routes().items()}
        self.created = int(time.time())
        # The request tracer, built when this process starts serving (``lifespan``); None: no tracing.
        self.tracer: Tracer | None = None
        self.generation = self._generation(gateway, 1)

    def _generation(self, gateway: Gateway, number: int) -> Generation:
        metrics.configure(gateway.server.metrics.enabled)
        limits = Limits(gateway.server)
        return Generation(gateway, limits, build_routes(gateway, limits, self.health, self.created), number)

    def use(self, gateway: Gateway) -> Generation:
        """Serve new requests from ``gateway`` (its policies' tasks already started)."""
        self.generation = self._generation(gateway, self.generation.number + 1)
        return self.generation

    @property
    def gateway(self) -> Gateway:
        return self.generation.gateway

    @property
    def limits(self) -> Limits:
        return self.generation.limits

    @property
    def routes(self) -> RouteTable:
        return self.generation.routes

    async def __call__(self, scope: dict[str, Any], receive: http.Receive, send: http.Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self.http(scope, receive, send)
        elif kind == "lifespan":
            await lifespan(self, self.health, receive, send)

    async def http(self, scope: dict[str, Any], receive: http.Receive, send: http.Send) -> None:
        generation = self.generation
        gateway = generation.gateway
        route = generation.routes.match(scope["method"], scope["path"])
        entry = None if isinstance(route, GatewayError) else route
        exchange = Exchange(
            scope,
            receive,
            send,
            operation=entry.operation if entry else "route",
            chain=gateway.chain,
            limits=generation.limits,
            auth=gateway.auth,
            audited=entry.audited if entry else True,
            route=entry.path if entry else None,
            tracer=self.tracer,
        )
        exchange.render_error = self.error_shapes.get(scope["path"])
        generation.enter()
        try:
            async with exchange:
                if entry is None:
                    # A probe of a wrong route is still an access: the audit log records it (log_all_access).
                    assert isinstance(route, GatewayError)
                    raise route
                await entry.handler(exchange)
        finally:
            generation.leave()


# Re-exported for plugin route handlers that want to raise request errors.
__all__ = ["GatewayApp", "GatewayRequest", "OPERATION_ROUTES", "RequestError", "build_routes"]

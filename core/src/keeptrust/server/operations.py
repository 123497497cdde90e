"""The OpenAI operations (chat, embeddings, responses, images, audio) and plugin routes: validate,
run the policy chain, call the target's provider and relay its answer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import trio

from keeptrust.answers import check_result
from keeptrust.errors import GatewayError, InternalError, UnsupportedOperation
from keeptrust.results import Result
from keeptrust.server import http
from keeptrust.server.exchange import Exchange, log_plugin_failure
from keeptrust.server.respond import respond
from keeptrust.server.routes import GatewayRequest, Handler
from keeptrust.server.validate import validate

if TYPE_CHECKING:
    from keeptrust.context import RequestContext
    from keeptrust.dialects import Dialect
    from keeptrust.plugins import Route
    from keeptrust.server.gateway import Gateway
    from keeptrust.server.limits import Limits


def dialect_operation(gateway: Gateway, limits: Limits, dialect: Dialect) -> Handler:
    """The handler of a dialect's route: the client's body becomes the operation's body, then it
    runs as that operation (or the dialect answers itself, as ``count_tokens`` does)."""

    async def handler(exchange: Exchange) -> None:
        exchange.admit()
        raw = await exchange.read_body()
        ctx = exchange.ctx
        ctx.dialect = dialect
        ctx.body = body = dialect.request(raw, ctx)
        model = body.get("model")
        ctx.model = model if isinstance(model, str) else None
        ctx.stream = body.get("stream") is True
        local = await dialect.local(ctx, gateway)
        if local is not None:
            await respond(ctx, dialect.result(ctx, local), exchange.send, gateway.chain)
            return
        validate(dialect.operation, body)
        await run_chain(gateway, limits, exchange)

    return handler


def openai_operation(gateway: Gateway, limits: Limits, operation: str, *, multipart: bool = False) -> Handler:
    """The handler of one OpenAI operation (``multipart``: it also takes a multipart form)."""

    async def handler(exchange: Exchange) -> None:
        exchange.admit()
        body = await exchange.read_body(multipart=multipart)
        validate(operation, body)
        ctx = exchange.ctx
        model = body.get("model")
        ctx.model = model if isinstance(model, str) else None
        ctx.stream = body.get("stream") is True
        await run_chain(gateway, limits, exchange)

    return handler


async def run_chain(gateway: Gateway, limits: Limits, exchange: Exchange) -> None:
    """Request-phase policies, target resolution, the provider call and the answer."""
    ctx = exchange.ctx
    chain = gateway.chain
    if not chain.has("router"):
        ctx.target, ctx.upstream_model = gateway.resolver.resolve(ctx.model)
    ctx.reached_chain = True
    # Request policies may analyse megabytes in worker threads: a client that goes away cancels
    # them as it cancels the provider call below.
    failure: Exception | None = None
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_watch_disconnect, exchange.receive, nursery.cancel_scope, ctx)
        try:
            await chain.on_request(ctx)
        except Exception as exc:
            failure = exc
        nursery.cancel_scope.cancel()
    if failure is not None:
        raise failure
    if ctx.cancelled:
        ctx.status = 499
        ctx.error_code = "client_closed_request"
        return
    if ctx.target is None:
        ctx.target, ctx.upstream_model = gateway.resolver.resolve(ctx.model)
    gateway.access.check(ctx, ctx.target)
    target = ctx.target
    if not target.provider.supports(ctx.operation):
        raise UnsupportedOperation(
            f"target '{target.id}' ({target.provider.name}) does not support {ctx.operation}", param="model"
        )
    if ctx.stream:
        with limits.stream(ctx.client):
            await _execute(gateway, exchange)
    else:
        await _execute(gateway, exchange)


async def _execute(gateway: Gateway, exchange: Exchange) -> None:
    # The provider call and the answer run in a nursery next to a watcher, so a client that goes
    # away cancels the upstream request at once.
    ctx = exchange.ctx
    failure: Exception | None = None
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_watch_disconnect, exchange.receive, nursery.cancel_scope, ctx)
        try:
            dialect = ctx.dialect
            if dialect is None:
                result = await _call_provider(gateway, ctx)
            else:
                result = dialect.result(ctx, await dialect.execute(ctx, lambda c: _call_provider(gateway, c)))
            await respond(ctx, result, _completion_tracking(exchange.send, ctx), gateway.chain)
        except Exception as exc:
            failure = exc
        nursery.cancel_scope.cancel()
    if failure is not None:
        raise failure
    if ctx.cancelled:
        ctx.status = 499
        ctx.error_code = "client_closed_request"


async def _call_provider(gateway: Gateway, ctx: RequestContext) -> Result:
    target = ctx.target
    assert target is not None
    try:
        result = await target.provider.execute(ctx)
    except GatewayError:
        raise
    except Exception as exc:  # a plugin bug becomes a 500 naming the plugin
        log_plugin_failure(gateway.registry, f"target '{target.id}'", ("provider", target.provider.name), exc)
        message = f"target '{target.id}' failed; see the gateway log (request id {ctx.request_id})"
        raise InternalError(message) from exc
    # Before the response policies and the client: a 200 of the wrong shape is the upstream's fault.
    return check_result(ctx.operation, result, target.id)


def plugin_route(gateway: Gateway, route: Route) -> Handler:
    """A route a plugin registered: the same admission, body limits and error handling as the
    built-in ones; an exception other than a ``GatewayError`` is a 500 naming the plugin."""

    async def handler(exchange: Exchange) -> None:
        exchange.admit()
        if route.raw_body:
            body: Any = await exchange.read_raw_body()
        else:
            body = await exchange.read_body(multipart=True, empty={})
        ctx = exchange.ctx
        params = route.match(exchange.path) or {}
        request = GatewayRequest(
            exchange.method, exchange.path, exchange.headers, exchange.query, body, ctx, gateway, params
        )
        try:
            result = await route.handler(request)
        except GatewayError:
            raise
        except Exception as exc:
            key = f"{route.method} {route.path}"
            log_plugin_failure(gateway.registry, f"route {key}", ("route", key), exc)
            raise InternalError(f"{key} failed; see the gateway log (request id {ctx.request_id})") from exc
        await respond(ctx, result, exchange.send, gateway.chain)

    return handler


async def _watch_disconnect(receive: http.Receive, scope: trio.CancelScope, ctx: RequestContext) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            # ASGI servers also send http.disconnect once the response is complete: not a cancellation.
            if not ctx.response_complete:
                ctx.cancelled = True
                scope.cancel()
            return


def _completion_tracking(send: http.Send, ctx: RequestContext) -> http.Send:
    async def tracked(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            ctx.response_complete = True
        await send(message)

    return tracked

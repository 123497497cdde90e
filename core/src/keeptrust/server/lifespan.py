"""The ASGI lifespan: start the request tracer and the policies' background tasks (the audit
writer) and the demo upstream, report readiness, and on shutdown close the policies before their
tasks stop, then flush the tracer."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

import attrs
import trio

from keeptrust import __version__
from keeptrust.errors import GatewayError, PluginError, leaf_errors
from keeptrust.server import http
from keeptrust.server.reload import reload_on_sighup, start_policies
from keeptrust.tracing import TracerEnv

if TYPE_CHECKING:
    from keeptrust.plugins import Registry
    from keeptrust.server.app import GatewayApp
    from keeptrust.tracing import Tracer

logger = logging.getLogger("keeptrust.server")


@attrs.define
class Health:
    """What ``/readyz`` reports: ready once started, not ready again while draining."""

    ready: bool = False
    draining: bool = False

    @property
    def ok(self) -> bool:
        return self.ready and not self.draining


async def lifespan(app: GatewayApp, health: Health, receive: http.Receive, send: http.Send) -> None:
    message = await receive()
    if message["type"] != "lifespan.startup":
        return
    gateway = app.gateway
    try:
        # Built here, in the process that serves (each --workers worker), never in a parent.
        app.tracer = build_tracer(gateway.registry)
        async with trio.open_nursery() as nursery:
            await start_policies(gateway, nursery)
            demo = gateway.server.demo_upstream
            if demo is not None:
                from keeptrust.server.run import serve_demo_upstream

                await nursery.start(serve_demo_upstream, demo)
            settings = gateway.server.metrics
            if settings.enabled and settings.listen is not None:
                from keeptrust.server.metrics_route import serve_metrics

                await nursery.start(serve_metrics, settings.listen, gateway.metrics_key)
            async with trio.open_nursery() as closers:
                reloads = await closers.start(reload_on_sighup, app, nursery, closers)
                health.ready = True
                await send({"type": "lifespan.startup.complete"})
                message = await receive()
                health.draining = True
                health.ready = False
                reloads.cancel()
                # Requests have drained (hypercorn waits before shutting the lifespan down):
                # close policies first so the audit writer flushes, then stop their tasks. An
                # earlier generation closes in ``closers`` (idle by now), before its tasks stop.
                await app.gateway.aclose()
                await close_tracer(app)
            nursery.cancel_scope.cancel()
    except Exception as exc:
        if not health.ready and not health.draining:
            # A nursery wraps the failure in an exception group: report the causes themselves.
            message = "; ".join(
                f"{type(e).__name__}: {e}" if not isinstance(e, GatewayError) else str(e) for e in leaf_errors(exc)
            )
            logger.error("start-up failed: %s", message)
            logger.debug("start-up failure details", exc_info=exc)
            await close_tracer(app)
            await send({"type": "lifespan.startup.failed", "message": message})
            return
        raise
    await send({"type": "lifespan.shutdown.complete"})


def build_tracer(registry: Registry) -> Tracer | None:
    """The registered tracer, built for this process; None when no plugin registers one."""
    if not registry.tracers:
        return None
    if len(registry.tracers) > 1:
        owners = ", ".join(
            f"'{name}' (plugin {registry.owners.get(('tracer', name), '?')})" for name in registry.tracers
        )
        raise PluginError(
            f"more than one tracer is installed ({owners}); disable all but one with KEEPTRUST_DISABLE_PLUGINS"
        )
    name, cls = next(iter(registry.tracers.items()))
    env = TracerEnv(logger=logging.getLogger(f"keeptrust.tracer.{name}"), environ=os.environ, version=__version__)
    try:
        tracer: Tracer = cls(env)
    except Exception as exc:
        plugin = registry.owners.get(("tracer", name), "?")
        raise PluginError(f"tracer '{name}' (plugin {plugin}) failed to start: {type(exc).__name__}: {exc}") from exc
    logger.info("tracing requests with tracer '%s'", name)
    return tracer


async def close_tracer(app: GatewayApp) -> None:
    """Flush and close the tracer after the last request (the tracer's own thread does the I/O)."""
    tracer, app.tracer = app.tracer, None
    if tracer is not None:
        try:
            await tracer.aclose()
        except Exception as exc:  # shutdown goes on
            logger.error("tracer failed to close: %s: %s", type(exc).__name__, exc)

"""Config reload without a restart (``SIGHUP``, ``kt gateway reload``).

The gateway serves from one ``Generation`` at a time: a gateway (targets, policy chain, keys) and
the route table built from it. A reload loads and validates the file in full, builds a new
gateway and starts its policies' background tasks (the audit writer) exactly as start-up does;
only then do new requests go to the new generation. Requests and streams in flight finish on the
old one, whose gateway is closed (``aclose``: policies flushed, upstream pools closed) once its last
request ends. A file that does not validate, or a policy that cannot start, leaves the running
generation alone; every error is logged with its field path.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import TYPE_CHECKING

import attrs
import trio

from keeptrust import metrics
from keeptrust.config.loader import load_config
from keeptrust.errors import ConfigError, GatewayError, PluginError, leaf_errors
from keeptrust.server import heap

if TYPE_CHECKING:
    from keeptrust.server.app import GatewayApp
    from keeptrust.server.gateway import Gateway
    from keeptrust.server.limits import Limits
    from keeptrust.server.routes import RouteTable

logger = logging.getLogger("keeptrust.reload")


@attrs.define(eq=False)
class Generation:
    """One loaded config and the requests it is serving."""

    gateway: Gateway
    limits: Limits
    routes: RouteTable
    number: int = 1
    active: int = 0
    retired: bool = False
    idle: trio.Event = attrs.Factory(trio.Event)

    def enter(self) -> None:
        self.active += 1

    def leave(self) -> None:
        self.active -= 1
        if self.retired and self.active == 0:
            self.idle.set()

    def retire(self) -> None:
        self.retired = True
        if self.active == 0:
            self.idle.set()


def rebuild(gateway: Gateway) -> Gateway:
    """A new gateway from the file the running one was loaded from, with the same plugins.
    Raises ``ConfigError`` (one line per problem, each naming its field path) or ``PluginError``."""
    from keeptrust.server.gateway import build_gateway

    loaded = load_config(gateway.loaded.source, gateway.registry, environ=os.environ)
    return build_gateway(loaded, gateway.registry, environ=os.environ, logger=gateway.logger, redactor=gateway.redactor)


async def start_policies(gateway: Gateway, nursery: trio.Nursery) -> None:
    """Start the policies' background tasks (``run``) in ``nursery``, as start-up does."""
    for policy in gateway.chain.policies:
        runner = getattr(policy, "run", None)
        if runner is not None:
            await nursery.start(runner)


async def reload(app: GatewayApp, tasks: trio.Nursery, closers: trio.Nursery) -> bool:
    """Load the config file again and switch new requests to it. ``tasks`` runs the new policies'
    background tasks; ``closers`` the closing of the old generation. Returns whether it switched."""
    old = app.generation
    source = old.gateway.loaded.source
    logger.info("reloading %s", source)
    try:
        gateway = await trio.to_thread.run_sync(rebuild, old.gateway)
    except (ConfigError, PluginError) as exc:
        for line in getattr(exc, "errors", None) or [exc.message]:
            logger.error("reload: %s", line)
        logger.error("reload refused: still serving the config loaded before (generation %d)", old.number)
        metrics.config_reload("invalid")
        return False
    try:
        await start_policies(gateway, tasks)
    except Exception as exc:
        for leaf in leaf_errors(exc):
            text = str(leaf) if isinstance(leaf, GatewayError) else f"{type(leaf).__name__}: {leaf}"
            logger.error("reload: a policy failed to start: %s", text)
        logger.error("reload refused: still serving the config loaded before (generation %d)", old.number)
        await gateway.aclose()
        metrics.config_reload("failed")
        return False
    new = app.use(gateway)
    old.retire()
    closers.start_soon(close_when_idle, old)
    loaded = gateway.loaded
    logger.info(
        "reloaded %s: generation %d, pack %s %s, %d target(s), chain [%s]; %d request(s) in flight finish on "
        "generation %d",
        source,
        new.number,
        loaded.gateway.pack.name,
        loaded.gateway.pack.version,
        len(loaded.targets),
        ", ".join(loaded.chain),
        old.active,
        old.number,
    )
    metrics.config_reload("ok")
    return True


async def close_when_idle(generation: Generation) -> None:
    await generation.idle.wait()
    with trio.CancelScope(shield=True):
        await generation.gateway.aclose()
    logger.info("generation %d closed", generation.number)
    heap.refreeze()


async def reload_on_sighup(
    app: GatewayApp,
    tasks: trio.Nursery,
    closers: trio.Nursery,
    task_status: trio.TaskStatus[trio.CancelScope] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Reload on every ``SIGHUP``, one at a time. Started with ``nursery.start``, it hands back the
    cancel scope that stops it (at shutdown)."""
    with trio.CancelScope() as scope:
        if threading.current_thread() is not threading.main_thread():
            task_status.started(scope)  # an app served from a thread (tests) cannot receive signals
            await trio.sleep_forever()
        with trio.open_signal_receiver(signal.SIGHUP) as signals:
            task_status.started(scope)
            async for _ in signals:
                await reload(app, tasks, closers)


__all__ = ["Generation", "close_when_idle", "rebuild", "reload", "reload_on_sighup", "start_policies"]

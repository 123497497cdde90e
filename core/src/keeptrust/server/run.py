"""Running the gateway under hypercorn's trio worker: one process, or ``--workers N`` sharing the
listening socket; SIGTERM drains in-flight requests within ``graceful_timeout_seconds``."""

from __future__ import annotations

import logging
import os
import signal
import sys
import warnings
from collections.abc import Mapping
from typing import Any

import trio
from hypercorn.config import Config

from keeptrust import logs, metrics
from keeptrust.config.loader import LoadedConfig, load_config
from keeptrust.errors import ConfigError, PluginError, leaf_errors
from keeptrust.plugins import Registry, load_registry
from keeptrust.secrets import RedactingFilter, Redactor
from keeptrust.server import connections, heap
from keeptrust.server.app import GatewayApp
from keeptrust.server.gateway import build_gateway

logger = logging.getLogger("keeptrust")

CONFIG_ENV = "KEEPTRUST_POLICY_CONFIG"
DISABLE_ENV = "KEEPTRUST_DISABLE_PLUGINS"
WORKERS_ENV = "KEEPTRUST_WORKERS"
# The level and format the master resolved (flags over the config), for the workers.
LEVEL_ENV = "KEEPTRUST_LOG_LEVEL"
FORMAT_ENV = "KEEPTRUST_LOG_FORMAT"


def setup_logging(level: str, redactor: Redactor, fmt: str = "human") -> None:
    """Log to stderr in ``fmt`` (``human`` or ``json``), secrets scrubbed from every line."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logs.formatter(fmt, redactor))
    handler.addFilter(RedactingFilter(redactor))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs URLs and headers at DEBUG; keep them out whatever the level.
    for noisy in ("httpx", "httpcore", "hpack"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def hypercorn_config(listen: str, loaded: LoadedConfig) -> Config:
    server = loaded.gateway.server
    config = Config()
    config.bind = [listen]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.include_server_header = False
    config.keep_alive_timeout = server.keep_alive_timeout_seconds
    config.graceful_timeout = server.graceful_timeout_seconds
    config.h11_max_incomplete_size = 16 * 1024
    config.backlog = 1024
    connections.apply(config, server.header_timeout_seconds, server.max_connections_per_client)
    return config


def make_app(
    config_path: str,
    *,
    registry: Registry | None = None,
    environ: Mapping[str, str] | None = None,
    redactor: Redactor | None = None,
) -> GatewayApp:
    """Load config and plugins and build the ASGI app (each worker process calls this)."""
    redactor = redactor or Redactor()
    registry = registry or load_registry(disable=_split(os.environ.get(DISABLE_ENV)))
    loaded = load_config(config_path, registry, environ=environ)
    for warning in loaded.warnings:
        logger.warning("config: %s", warning)
    gateway = build_gateway(loaded, registry, environ=environ, logger=logger, redactor=redactor)
    return GatewayApp(gateway)


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def worker_app() -> GatewayApp:
    """Entry point for hypercorn's multi-process mode (``--workers N``)."""
    # The master turns SIGTERM into a graceful shutdown of every worker; a worker killed by a SIGTERM
    # sent to the whole process group (systemd, `kill -- -PGID`) or by the master's terminate() once
    # another worker exits would drop its in-flight requests and queued audit records.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # Until the app's lifespan listens for it, a reload signal must not kill the worker.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    connections.use_limited_server()
    redactor = Redactor()
    setup_logging(os.environ.get(LEVEL_ENV, "info"), redactor, os.environ.get(FORMAT_ENV, "human"))
    app = make_app(os.environ[CONFIG_ENV], redactor=redactor)
    heap.freeze()
    return app


async def _until_signal() -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for signum in signals:
            logger.info("received %s: draining in-flight requests", signal.Signals(signum).name)
            return


def run(listen: str, app: GatewayApp, workers: int = 1, config_path: str | None = None) -> None:
    loaded = app.gateway.loaded
    hconfig = hypercorn_config(listen, loaded)
    # A reload signal before the app listens for it (start-up) is ignored rather than fatal.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    if workers <= 1:
        from hypercorn.trio import serve

        heap.freeze()

        async def main() -> None:
            await serve(app, hconfig, shutdown_trigger=_until_signal)

        try:
            trio.run(main)
        except Exception as exc:  # start-up failed (already logged by the app) or the bind failed
            for leaf in leaf_errors(exc):
                if "LifespanFailure" not in type(leaf).__name__:
                    logger.error("the gateway stopped: %s: %s", type(leaf).__name__, leaf)
            sys.exit(1)
        logger.info("gateway stopped")
        return
    # Several processes share the socket; each builds its own app from the config path.
    from keeptrust.server.workers import run_workers

    assert config_path is not None
    os.environ[CONFIG_ENV] = os.path.abspath(config_path)
    os.environ[WORKERS_ENV] = str(workers)
    hconfig.workers = workers
    hconfig.worker_class = "trio"
    hconfig.application_path = "keeptrust.server.run:worker_app()"
    # The workers' metric files go to a directory of this run's own, so /metrics never counts a
    # previous run's values (the workers are spawned, so they see it when they import the client).
    metrics_dir = metrics.make_multiprocess_dir()
    try:
        code = run_workers(hconfig, workers, lambda: validate_for_reload(app, config_path))
    finally:
        metrics.remove_multiprocess_dir(metrics_dir)
    if code:
        sys.exit(code)


def validate_for_reload(app: GatewayApp, config_path: str) -> bool:
    """Check the config file as a worker's reload will (the master's own check, so that an invalid
    file is reported once, not once per worker). Every error is logged with its field path."""
    from keeptrust.server.gateway import check_start_up

    logger.info("SIGHUP: checking %s before the workers reload it", config_path)
    try:
        loaded = load_config(config_path, app.gateway.registry)
        check_start_up(loaded, app.gateway.registry, require_environment=True)
    except (ConfigError, PluginError) as exc:
        for line in getattr(exc, "errors", None) or [exc.message]:
            logger.error("reload: %s", line)
        logger.error("reload refused: the workers keep serving the config loaded before")
        return False
    return True


async def serve_demo_upstream(demo: Any, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED) -> None:
    """The quick start's local upstream, in the gateway's own nursery."""
    from hypercorn.trio import serve

    from keeptrust.demo import FakeOpenAI

    config = Config()
    config.bind = [demo.listen]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.include_server_header = False
    # With --workers N every worker serves it on the same port (hypercorn sets SO_REUSEPORT when it
    # is told of several workers), like the gateway's own socket.
    config.workers = int(os.environ.get(WORKERS_ENV, "1"))
    app = FakeOpenAI(reply=demo.reply, chunk_delay=demo.chunk_delay_seconds)
    logger.info("demo upstream (echo model) listening on http://%s", demo.listen)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The config `workers` has no affect")
        await serve(app, config, task_status=task_status)

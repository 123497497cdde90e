"""``GET /metrics``: the Prometheus text exposition, on the gateway's address or on its own
(``server.metrics.listen``), behind a bearer key when ``server.metrics.key_ref`` is set."""

from __future__ import annotations

import hmac
import logging
import os
from typing import TYPE_CHECKING, Any

import trio

from keeptrust import metrics
from keeptrust.errors import AuthenticationError, GatewayError, MethodNotAllowed, NotFound
from keeptrust.server import http

if TYPE_CHECKING:
    from keeptrust.server.exchange import Exchange
    from keeptrust.server.gateway import Gateway
    from keeptrust.server.routes import Handler

METRICS_PATH = "/metrics"
logger = logging.getLogger("keeptrust.server")


def check_key(key: str | None, headers: list[tuple[bytes, bytes]]) -> None:
    """Raise 401 unless ``Authorization: Bearer <key>`` matches (no key configured: open)."""
    if key is None:
        return
    given = b""
    for name, value in headers:
        if name.lower() == b"authorization":
            given = value
    scheme, _, token = given.partition(b" ")
    if scheme.lower() != b"bearer" or not hmac.compare_digest(token.strip(), key.encode()):
        raise AuthenticationError(
            "GET /metrics requires the metrics key (server.metrics.key_ref) as 'Authorization: Bearer <key>'"
        )


async def _answer(send: http.Send, key: str | None, headers: list[tuple[bytes, bytes]]) -> None:
    check_key(key, headers)
    # In multiprocess mode rendering reads every worker's files: off the event loop.
    body = await trio.to_thread.run_sync(metrics.render)
    await http.send_bytes(send, 200, body, metrics.CONTENT_TYPE.encode())


def metrics_route(gateway: Gateway) -> Handler:
    async def handler(exchange: Exchange) -> None:
        await _answer(exchange.send, gateway.metrics_key, exchange.scope["headers"])

    return handler


class MetricsApp:
    """The ASGI app on ``server.metrics.listen``: only ``GET /metrics``."""

    def __init__(self, key: str | None) -> None:
        self.key = key

    async def __call__(self, scope: dict[str, Any], receive: http.Receive, send: http.Send) -> None:
        if scope["type"] == "lifespan":
            from keeptrust.demo.asgi import lifespan  # nothing to prepare: acknowledge

            await lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            if scope["path"] != METRICS_PATH:
                raise NotFound(f"no route {scope['method']} {scope['path']}; this address serves GET /metrics")
            if scope["method"] != "GET":
                raise MethodNotAllowed(f"{scope['method']} is not allowed on {METRICS_PATH}")
            await _answer(send, self.key, scope["headers"])
        except GatewayError as error:
            await http.send_error(send, error)


async def serve_metrics(
    listen: str, key: str | None, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED
) -> None:
    """Serve ``GET /metrics`` on ``listen`` in the gateway's nursery. With ``--workers N`` every
    worker binds it (SO_REUSEPORT) and any of them answers with every worker's values."""
    import warnings

    from hypercorn.config import Config
    from hypercorn.trio import serve

    config = Config()
    config.bind = [listen]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.include_server_header = False
    config.workers = int(os.environ.get("KEEPTRUST_WORKERS", "1"))
    logger.info("metrics on http://%s%s", listen, METRICS_PATH)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The config `workers` has no affect")
        await serve(MetricsApp(key), config, task_status=task_status)

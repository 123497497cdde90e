"""Starting a whole gateway on loopback from a config dict."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import attrs

from keeptrust.config.loader import load_config_data
from keeptrust.plugins import load_registry
from keeptrust.secrets import RedactingFilter, Redactor
from keeptrust.server.app import GatewayApp
from keeptrust.server.gateway import build_gateway
from keeptrust.testing.servers import BackgroundServer


@attrs.define
class RunningGateway:
    server: BackgroundServer
    app: GatewayApp

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def base_url(self) -> str:
        """The OpenAI base URL (``.../v1``)."""
        return self.server.url + "/v1"

    def client(self, api_key: str = "unused", **kwargs: Any) -> Any:
        """An ``openai.OpenAI`` client for this gateway (no retries, so tests see every answer)."""
        import openai

        kwargs.setdefault("max_retries", 0)
        kwargs.setdefault("timeout", 30.0)
        return openai.OpenAI(base_url=self.base_url, api_key=api_key, **kwargs)

    def stop(self) -> None:
        self.server.stop()


def openai_target(url: str, target_id: str = "fake", model: str | None = "fake/model", **extra: Any) -> dict[str, Any]:
    """A target entry for an OpenAI-compatible fake served at ``url`` (its root, without /v1)."""
    target = {"id": target_id, "provider": "openai", "base_url": url.rstrip("/") + "/v1", **extra}
    if model is not None:
        target["model"] = model
    return target


def start_gateway(
    config: Mapping[str, Any],
    *,
    environ: Mapping[str, str] | None = None,
    extra_plugins: Iterable[Any] = (),
    disable: Iterable[str] = (),
    redactor: Redactor | None = None,
) -> RunningGateway:
    """Validate ``config`` exactly as ``kt gateway run`` would, and serve it on 127.0.0.1."""
    redactor = redactor or Redactor()
    # Plugin selection follows the process environment (as `kt` does) unless ``environ`` sets it.
    selection = {k: v for k, v in os.environ.items() if k in ("KEEPTRUST_LOAD_PLUGINS", "KEEPTRUST_DISABLE_PLUGINS")}
    registry = load_registry(disable=disable, extra_plugins=extra_plugins, environ={**selection, **(environ or {})})
    loaded = load_config_data(dict(config), registry, environ=environ or {})
    logger = logging.getLogger("keeptrust")
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter(redactor))
    gateway = build_gateway(loaded, registry, environ=environ or {}, logger=logger, redactor=redactor)
    app = GatewayApp(gateway)
    server = BackgroundServer(app).start()
    return RunningGateway(server, app)


@contextmanager
def gateways(**defaults: Any) -> Iterator[Callable[..., RunningGateway]]:
    """``start(config, **kwargs)`` starts gateways (``start_gateway`` with ``defaults`` under
    ``kwargs``) and every one is stopped when the block ends: the body of gateway-starting fixtures."""
    started: list[RunningGateway] = []

    def start(config: Mapping[str, Any], **kwargs: Any) -> RunningGateway:
        gw = start_gateway(config, **{**defaults, **kwargs})
        started.append(gw)
        return gw

    try:
        yield start
    finally:
        for gw in started:
            gw.stop()

"""Checks on values whose type alone does not say they are usable: an address to listen on, an
upstream URL. Run when the config loads, so ``kt config validate`` refuses what ``kt gateway run``
would fail on later."""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from keeptrust.config.model import GatewayConfig, TargetConfig


def listen_error(value: str) -> str | None:
    """What is wrong with a ``HOST:PORT`` to listen on (``[::1]:PORT`` for IPv6), or None."""
    host, sep, port = value.rpartition(":")
    if not sep or not host:
        return f"expected HOST:PORT (e.g. 127.0.0.1:{port or value or '41003'}); got {value!r}"
    if not port.isdigit() or not 0 < int(port) < 65536:
        return f"expected a port number from 1 to 65535 after the last ':'; got {value!r}"
    return None


def base_url_error(value: str) -> str | None:
    """What is wrong with an upstream base URL, or None."""
    try:
        url = httpx.URL(value)
    except (httpx.InvalidURL, TypeError):
        return f"not a valid URL: {value!r}"
    if url.scheme not in ("http", "https") or not url.host:
        return f"expected an http:// or https:// URL with a host (e.g. https://{value.split('://')[-1]}); got {value!r}"
    return None


def core_errors(
    gateway: GatewayConfig, targets: Sequence[TargetConfig], paths: Sequence[str] | None = None
) -> list[str]:
    """``paths[i]`` is where ``targets[i]`` sits in the file (groups and bad entries are not targets)."""
    errors: list[str] = []
    demo = gateway.server.demo_upstream
    if demo is not None and (problem := listen_error(demo.listen)):
        errors.append(f"server.demo_upstream.listen: {problem}")
    for i, target in enumerate(targets):
        if target.base_url is not None and (problem := base_url_error(target.base_url)):
            where = paths[i] if paths is not None else f"providers.targets[{i}]"
            errors.append(f"{where}.base_url: {problem}")
    return errors

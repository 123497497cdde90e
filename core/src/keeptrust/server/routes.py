"""The route table: which handler answers which method and path.

A handler is ``async handler(exchange)``: it reads the request through the
``keeptrust.server.exchange.Exchange`` and answers through it; the exchange owns the status, the
error answer and the audit record. A new route family adds its entries to the table built by
``keeptrust.server.app.build_routes`` (or, from a plugin, through the ``register_routes`` hook)
without touching the dispatch.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import attrs

from keeptrust.context import RequestContext
from keeptrust.errors import GatewayError, MethodNotAllowed, NotFound

if TYPE_CHECKING:
    from keeptrust.server.exchange import Exchange
    from keeptrust.server.gateway import Gateway

Handler = Callable[["Exchange"], Awaitable[None]]


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
    # The values of a templated route's placeholders (``{org}`` -> ``"openai"``).
    params: dict[str, str] = attrs.Factory(dict)

    def parse_json(self, raw: bytes) -> Any:
        """``raw`` (a ``raw_body`` route's body) parsed as JSON within the gateway's depth limit;
        a 400 ``invalid_json`` otherwise."""
        from keeptrust.server.http import parse_json

        return parse_json(raw, {b"content-type": b"application/json"}, self.gateway.server.max_json_depth)


@attrs.frozen
class RouteEntry:
    """``operation`` names the request in its context and audit record; ``prefix`` matches every
    path under ``path`` + ``/``; ``pattern`` (a templated plugin route) matches the paths it fully
    matches; ``audited=False`` is for probes that are not client traffic."""

    method: str
    path: str
    handler: Handler
    operation: str = "route"
    prefix: bool = False
    audited: bool = True
    pattern: re.Pattern[str] | None = None


class RouteTable:
    def __init__(self) -> None:
        self._exact: dict[tuple[str, str], RouteEntry] = {}
        self._prefixes: list[RouteEntry] = []
        self._templates: list[RouteEntry] = []
        self._paths: set[str] = set()

    def add(
        self,
        method: str,
        path: str,
        handler: Handler,
        *,
        operation: str = "route",
        prefix: bool = False,
        audited: bool = True,
        pattern: re.Pattern[str] | None = None,
    ) -> None:
        entry = RouteEntry(method.upper(), path, handler, operation, prefix, audited, pattern)
        if (entry.method, path) in self._exact:
            raise ValueError(f"route {entry.method} {path} is defined twice")
        self._exact[(entry.method, path)] = entry
        self._paths.add(path)
        if prefix:
            self._prefixes.append(entry)
        if pattern is not None:
            self._templates.append(entry)

    def match(self, method: str, path: str) -> RouteEntry | GatewayError:
        """The route for ``method path``, else the error to answer (405 on a known path, else 404)."""
        entry = self._exact.get((method, path))
        if entry is not None:
            return entry
        for entry in self._prefixes:
            if entry.method == method and path.startswith(entry.path + "/"):
                return entry
        templated = False
        for entry in self._templates:
            assert entry.pattern is not None
            if entry.pattern.fullmatch(path):
                if entry.method == method:
                    return entry
                templated = True
        if path in self._paths or templated:
            return MethodNotAllowed(f"{method} is not allowed on {path}")
        return NotFound(f"no route {method} {path}; see the gateway's README for its endpoints")

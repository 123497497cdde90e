"""The ASGI plumbing every fake upstream shares: the lifespan handshake and reading one request.

Public module: plugins' test kits build their fake upstreams on it."""

from __future__ import annotations

from typing import Any

import attrs
import orjson


@attrs.frozen
class IncomingRequest:
    """One request as a fake server sees it. ``json`` is the parsed body when it is JSON, else None."""

    method: str
    path: str
    query: bytes
    headers: dict[str, str]
    raw: bytes
    json: Any
    server: tuple[str, int]


async def lifespan(receive: Any, send: Any) -> None:
    """Acknowledge start-up and shut-down (a fake has nothing to prepare)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def read_request(scope: dict[str, Any], receive: Any) -> IncomingRequest | None:
    """The whole request, or None when the client went away before sending it."""
    raw = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        raw += message.get("body", b"")
        if not message.get("more_body"):
            break
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    body: Any = None
    if raw and "json" in headers.get("content-type", "application/json"):
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = None
    server = scope.get("server") or ("127.0.0.1", 80)
    return IncomingRequest(
        scope["method"], scope["path"], scope.get("query_string", b""), headers, raw, body, (server[0], server[1])
    )


__all__ = ["IncomingRequest", "lifespan", "read_request"]

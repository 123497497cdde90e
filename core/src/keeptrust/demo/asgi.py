"""The ASGI plumbing every fake upstream shares: the lifespan handshake, reading one request, and
answering it the way a real server does when the client goes away.

Public module: plugins' test kits build their fake upstreams on it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import orjson
import trio


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


async def accept(scope: dict[str, Any], receive: Any, send: Any) -> IncomingRequest | None:
    """The start of every fake's ``__call__``: answers the lifespan protocol, ignores other
    non-HTTP scopes, and reads the request; None when there is nothing to answer."""
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return None
    if scope["type"] != "http":
        return None
    return await read_request(scope, receive)


async def answer_unless_disconnected(receive: Any, answer: Callable[[], Awaitable[None]]) -> bool:
    """Run ``answer()`` (after ``read_request``) while watching ``receive`` for the client going
    away; a disconnect cancels the answer, as a real upstream stops work for a caller that gave up
    (and a test server then has nothing left to wait for when it stops). True when it was cancelled.
    """
    gone = False
    async with trio.open_nursery() as nursery:

        async def watch() -> None:
            nonlocal gone
            # Hypercorn reports a client that went away only through receive().
            message = await receive()
            if message["type"] == "http.disconnect":
                gone = True
                nursery.cancel_scope.cancel()

        nursery.start_soon(watch)
        await answer()
        nursery.cancel_scope.cancel()
    return gone


__all__ = ["IncomingRequest", "accept", "answer_unless_disconnected", "lifespan", "read_request"]

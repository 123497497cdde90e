"""Connection limits that hypercorn lacks: a deadline for a request's headers and a per-client cap.

Hypercorn has one timer for a connection that is between requests: ``keep_alive_timeout``. A
client that drips a request's headers one line a second (slowloris) is cut only when that idle
timer runs out, 75 s by default here. The gateway wants what nginx's ``client_header_timeout``
gives: once a request has started (or a new connection has been opened), its headers must be
complete within ``server.header_timeout_seconds``, however slowly or quickly the bytes arrive;
otherwise the client gets a 408 and the connection is closed. An idle keep-alive connection still
waits ``keep_alive_timeout_seconds`` for its next request.

``server.max_connections_per_client`` bounds the connections one client address may hold open in
one worker process, so one client cannot take every file descriptor; over it the new connection
gets a 429 and is closed at once.

Both act in :class:`LimitedTCPServer`, which hypercorn's trio worker uses in place of its own
``TCPServer`` (``install``). Servers whose hypercorn ``Config`` carries no ``keeptrust_limits``
(the test fakes and the demo upstream share the process) behave exactly as hypercorn's own.
"""

from __future__ import annotations

import collections
import logging
import time
from typing import Any

import attrs
import trio
from hypercorn.events import Closed, RawData, Updated
from hypercorn.trio import run as hypercorn_run
from hypercorn.trio.tcp_server import MAX_RECV, TCPServer

from keeptrust.errors import BodyTimeout, GatewayError, RateLimited

logger = logging.getLogger("keeptrust.server")


@attrs.define(eq=False)
class ConnectionLimits:
    """Per-worker settings and state, hung on hypercorn's ``Config`` as ``keeptrust_limits``."""

    header_timeout: float
    max_per_client: int  # 0: no cap
    open_by_client: collections.Counter[str] = attrs.field(factory=collections.Counter)
    _refused: collections.Counter[str] = attrs.field(factory=collections.Counter)
    _last_report: float = 0.0

    def refused(self, reason: str, client: str) -> None:
        """Count a refused or cut connection; log at most one line every 10 s per reason, with counts.

        A flood of slow clients must not turn into a flood of log lines."""
        self._refused[reason] += 1
        now = time.monotonic()
        if now - self._last_report >= 10.0:
            counts = ", ".join(f"{n} {why}" for why, n in sorted(self._refused.items()))
            logger.warning("connections closed at the edge since the last report: %s (latest from %s)", counts, client)
            self._refused.clear()
            self._last_report = now


def _http1_response(error: GatewayError) -> bytes:
    body = error.body()
    reason = {408: "Request Timeout", 429: "Too Many Requests"}.get(error.status, "Error")
    head = [
        f"HTTP/1.1 {error.status} {reason}",
        "content-type: application/json",
        f"content-length: {len(body)}",
        "connection: close",
        *(f"{name}: {value}" for name, value in error.headers.items()),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


class LimitedTCPServer(TCPServer):
    """hypercorn's trio ``TCPServer`` with a header deadline and a per-client connection cap."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits: ConnectionLimits | None = getattr(self.config, "keeptrust_limits", None)
        # True from the moment the connection is between requests until a request's first byte.
        self._between_requests = False
        self._client = "?"

    async def run(self) -> None:
        if self.limits is None:
            await super().run()
            return
        self._client = _peer_host(self.stream)
        limits = self.limits
        if limits.max_per_client and limits.open_by_client[self._client] >= limits.max_per_client:
            limits.refused("over the per-client connection cap", self._client)
            error = RateLimited(
                f"too many open connections from this client (server.max_connections_per_client = "
                f"{limits.max_per_client})",
                code="too_many_connections",
                headers={"retry-after": "1"},
            )
            with trio.move_on_after(1):
                try:
                    await self.stream.send_all(_http1_response(error))
                except (trio.BrokenResourceError, trio.ClosedResourceError, AttributeError):
                    pass
            with trio.CancelScope(shield=True):
                await self.stream.aclose()
            return
        limits.open_by_client[self._client] += 1
        try:
            await super().run()
        finally:
            limits.open_by_client[self._client] -= 1
            if limits.open_by_client[self._client] <= 0:
                del limits.open_by_client[self._client]

    async def protocol_send(self, event: Any) -> None:
        if isinstance(event, Updated) and self.limits is not None:
            # hypercorn restarts its keep-alive timer on idle and stops it when a request's headers
            # are complete; our header deadline rides on the same task, so it ends the same way.
            self._between_requests = event.idle
        await super().protocol_send(event)

    async def _read_data(self) -> None:
        if self.limits is None or not self._is_http1():
            await super()._read_data()
            return
        # A new connection must send its first request's headers in time, like nginx.
        await self.idle_task.restart(self._task_group, self._header_deadline)
        while True:
            try:
                data = await self.stream.receive_some(MAX_RECV)
            except (trio.ClosedResourceError, trio.BrokenResourceError):
                break
            if data and self._between_requests:
                # The first byte of the next request: from now on the headers have a deadline.
                self._between_requests = False
                await self.idle_task.restart(self._task_group, self._header_deadline)
            await self.protocol.handle(RawData(bytes(data)))
            if data == b"":
                break
        await self.protocol.handle(Closed())
        # hypercorn leaves its keep-alive timer running after the client has gone, which would keep
        # the connection (and its place under the per-client cap) alive for keep_alive_timeout.
        await self.idle_task.stop()

    def _is_http1(self) -> bool:
        return type(getattr(self.protocol, "protocol", None)).__name__ == "H11Protocol"

    async def _header_deadline(self) -> None:
        assert self.limits is not None
        with trio.move_on_after(self.limits.header_timeout) as scope:
            await self.context.terminated.wait()
        if scope.cancelled_caught:
            self.limits.refused("with request headers not complete in time", self._client)
            error = BodyTimeout(
                f"the request headers were not complete within {self.limits.header_timeout:g} s "
                "(server.header_timeout_seconds)"
            )
            with trio.CancelScope(shield=True):
                with trio.move_on_after(1):
                    try:
                        async with self.send_lock:
                            await self.stream.send_all(_http1_response(error))
                    except (trio.BrokenResourceError, trio.ClosedResourceError):
                        pass
        with trio.CancelScope(shield=True):
            await self._initiate_server_close()


def _peer_host(stream: Any) -> str:
    sock = getattr(stream, "socket", None) or getattr(getattr(stream, "transport_stream", None), "socket", None)
    try:
        peer = sock.getpeername()
    except (AttributeError, OSError):
        return "?"
    return str(peer[0]) if isinstance(peer, tuple) else str(peer)


def apply(config: Any, header_timeout: float, max_per_client: int) -> None:
    """Attach the limits to a hypercorn ``Config`` (it is pickled to ``--workers`` processes as is)."""
    config.keeptrust_limits = ConnectionLimits(header_timeout=header_timeout, max_per_client=max_per_client)
    use_limited_server()


def use_limited_server() -> None:
    """Make hypercorn's trio worker in this process build ``LimitedTCPServer`` connections.

    The worker looks its connection handler up by the name ``TCPServer`` in ``hypercorn.trio.run``;
    replacing that name is the one seam hypercorn offers. Each ``--workers`` process calls this
    itself, since they start as fresh interpreters. Servers without limits on their ``Config`` are
    unaffected."""
    hypercorn_run.TCPServer = LimitedTCPServer

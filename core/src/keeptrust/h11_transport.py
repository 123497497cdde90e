"""An httpx transport for upstream calls: HTTP/1.1 over trio sockets with h11 and a plain LIFO pool.

httpx's default transport (httpcore on anyio) checks every pooled connection for readability on
every request and stacks several layers of async context managers; profiling showed that pool
bookkeeping alone costing about a third of the gateway's CPU per request. An upstream target is one
origin, talked to over HTTP/1.1 with keep-alive, so a smaller transport does the job: one h11
connection per in-flight request, idle connections reused most-recent-first, and a stale idle
connection (closed by the server while idle) detected on first use and replaced once, before any
byte of the answer has been read.

It honours httpx's per-request timeouts (connect, read, write, pool) and raises httpx's own
exception classes, so everything above it (``keeptrust.transport.Upstream``) is transport-agnostic.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import h11
import httpx
import trio

_READ_SIZE = 65536
_DEFAULT_PORTS = {"http": 80, "https": 443}
Origin = tuple[str, str, int]


class _StaleConnection(Exception):
    """A reused connection turned out to be closed before the answer began."""


def _timeout(request: httpx.Request, kind: str) -> float:
    value = (request.extensions.get("timeout") or {}).get(kind)
    return float("inf") if value is None else value


class _Connection:
    __slots__ = ("h11", "idle_since", "origin", "stream")

    def __init__(self, stream: trio.abc.Stream, origin: Origin) -> None:
        self.stream = stream
        self.origin = origin
        self.h11 = h11.Connection(h11.CLIENT)
        self.idle_since = 0.0

    async def send(self, request: httpx.Request, body: bytes) -> None:
        target = request.url.raw_path
        headers = (
            [(b"host", request.url.netloc), *request.headers.raw]
            if "host" not in request.headers
            else request.headers.raw
        )
        if body and "content-length" not in request.headers:
            headers = [*headers, (b"content-length", str(len(body)).encode())]
        data = self.h11.send(h11.Request(method=request.method.encode(), target=target, headers=headers))
        if body:
            data += self.h11.send(h11.Data(data=body))
        data += self.h11.send(h11.EndOfMessage())
        with trio.fail_after(_timeout(request, "write")):
            await self.stream.send_all(data)

    async def next_event(self, request: httpx.Request) -> Any:
        while True:
            event = self.h11.next_event()
            if event is not h11.NEED_DATA:
                return event
            with trio.fail_after(_timeout(request, "read")):
                data = await self.stream.receive_some(_READ_SIZE)
            self.h11.receive_data(data)

    def reusable(self) -> bool:
        if self.h11.our_state is not h11.DONE or self.h11.their_state is not h11.DONE:
            return False
        try:
            self.h11.start_next_cycle()
        except h11.LocalProtocolError:
            return False
        return True

    async def aclose(self) -> None:
        with trio.CancelScope(shield=True):
            try:
                await self.stream.aclose()
            except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                pass


def _close_now(stream: trio.abc.Stream) -> None:
    """Close a stream's socket synchronously (an expired idle connection needs no goodbye)."""
    raw = getattr(stream, "transport_stream", stream)
    sock = getattr(raw, "socket", None)
    if sock is not None:
        sock.close()


class _Body(httpx.AsyncByteStream):
    """The response body; returns the connection to the pool once the answer was read to the end."""

    def __init__(self, transport: TrioH11Transport, conn: _Connection, request: httpx.Request) -> None:
        self.transport = transport
        self.conn: _Connection | None = conn
        self.request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self.conn
        if conn is None:
            return
        try:
            while True:
                event = await conn.next_event(self.request)
                if isinstance(event, h11.Data):
                    yield bytes(event.data)
                elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                    break
        except trio.TooSlowError:
            await self._discard()
            raise httpx.ReadTimeout("timed out reading the upstream answer", request=self.request) from None
        except (h11.RemoteProtocolError, trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            await self._discard()
            raise httpx.RemoteProtocolError(f"the upstream connection failed: {exc}", request=self.request) from None

    async def _discard(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            await self.transport.release(conn, reusable=False)

    async def aclose(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            await self.transport.release(conn, reusable=conn.reusable())


class TrioH11Transport(httpx.AsyncBaseTransport):
    """HTTP/1.1 to one or a few origins, pooled. ``max_connections`` bounds open connections
    (waiting for one counts against the request's ``pool`` timeout)."""

    def __init__(
        self,
        *,
        max_connections: int = 512,
        keepalive_expiry: float = 4.0,
        ssl_context: ssl.SSLContext | None = None,
        resolve: Callable[[str, int], Awaitable[str]] | None = None,
    ) -> None:
        # ``resolve(host, port)`` picks the address to connect to (TLS still verifies ``host``): the
        # safe downloader checks the address there and connects to exactly what it checked.
        self._resolve = resolve
        self._idle: dict[Origin, list[_Connection]] = {}
        self._slots = trio.Semaphore(max_connections)
        self._keepalive_expiry = keepalive_expiry
        self._ssl_context = ssl_context
        self._closed = False

    def _ssl(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context()
        return self._ssl_context

    async def _connect(self, origin: Origin, request: httpx.Request) -> _Connection:
        scheme, host, port = origin
        try:
            with trio.fail_after(_timeout(request, "pool")):
                await self._slots.acquire()
        except trio.TooSlowError:
            raise httpx.PoolTimeout("no free upstream connection in time", request=request) from None
        try:
            with trio.fail_after(_timeout(request, "connect")):
                address = host if self._resolve is None else await self._resolve(host, port)
                stream: trio.abc.Stream = await trio.open_tcp_stream(address, port)
                if scheme == "https":
                    tls = trio.SSLStream(stream, self._ssl(), server_hostname=host, https_compatible=True)
                    try:
                        await tls.do_handshake()
                    except BaseException:
                        await trio.aclose_forcefully(stream)
                        raise
                    stream = tls
        except trio.TooSlowError:
            self._slots.release()
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out", request=request) from None
        except (OSError, trio.BrokenResourceError, ssl.SSLError) as exc:
            self._slots.release()
            raise httpx.ConnectError(f"cannot connect to {host}:{port}: {exc}", request=request) from None
        except BaseException:
            self._slots.release()
            raise
        return _Connection(stream, origin)

    def _pop_idle(self, origin: Origin) -> _Connection | None:
        stack = self._idle.get(origin)
        now = time.monotonic()
        while stack:
            conn = stack.pop()
            if now - conn.idle_since < self._keepalive_expiry:
                return conn
            # Too old: the server has likely closed it; drop it without a round trip.
            self._slots.release()
            _close_now(conn.stream)
        return None

    async def release(self, conn: _Connection, *, reusable: bool) -> None:
        if reusable and not self._closed:
            conn.idle_since = time.monotonic()
            self._idle.setdefault(conn.origin, []).append(conn)
            return
        await conn.aclose()
        self._slots.release()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        origin = (url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme, 80))
        body = request.content if isinstance(request.stream, httpx.ByteStream) else await request.aread()
        for attempt in (0, 1):
            conn = self._pop_idle(origin)
            reused = conn is not None
            if conn is None:
                conn = await self._connect(origin, request)
            try:
                try:
                    await conn.send(request, body)
                    event = await conn.next_event(request)
                except (trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
                    raise _StaleConnection() if reused else httpx.ReadError(str(exc), request=request) from None
                if isinstance(event, h11.ConnectionClosed):
                    raise (
                        _StaleConnection()
                        if reused
                        else httpx.RemoteProtocolError(
                            "the upstream closed the connection without answering", request=request
                        )
                    )
            except _StaleConnection:
                await self.release(conn, reusable=False)
                if attempt == 0:
                    continue
                raise httpx.RemoteProtocolError("the upstream closed the connection", request=request) from None
            except trio.TooSlowError:
                await self.release(conn, reusable=False)
                raise httpx.ReadTimeout("timed out waiting for the upstream answer", request=request) from None
            except h11.RemoteProtocolError as exc:
                await self.release(conn, reusable=False)
                raise httpx.RemoteProtocolError(f"invalid answer from the upstream: {exc}", request=request) from None
            except BaseException:
                await self.release(conn, reusable=False)
                raise
            assert isinstance(event, h11.Response)
            return httpx.Response(
                event.status_code,
                headers=event.headers,
                stream=_Body(self, conn, request),
                extensions={"http_version": b"HTTP/1.1", "reason_phrase": event.reason},
            )
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, {}
        for stack in idle.values():
            for conn in stack:
                await conn.aclose()
                self._slots.release()

"""A small trio-native Redis client: what the rate limiter's store needs, on the event loop.

Connections are trio streams (TCP, TLS for ``rediss://``, Unix sockets), spoken in RESP2; replies are
parsed by ``hiredis.Reader``, the C parser redis-py itself uses. A bounded pool lends each command a
connection of its own. A connection is reused only after a whole reply was read: one whose command
timed out, was cancelled or failed midway is closed, never lent again. Nothing runs in the
background: every read and write happens inside the caller's task and its cancel scopes.

Errors are ``RedisError`` subclasses whose messages name the server by host and port (or socket
path) only, never by its URL, which may carry a password.
"""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import Sequence
from typing import Any

import attrs
import trio

from keeptrust.ratelimit.redis_url import Address, parse_url

try:
    import hiredis
except ImportError:  # pragma: no cover - depends on the installation
    raise ImportError(
        "the rate-limiter's Redis store needs the hiredis package: pip install 'keeptrust[redis]'"
    ) from None

Arg = str | bytes | int | float
_MORE = object()  # hiredis' answer while a reply is still incomplete
_CERT_REQS = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}


class RedisError(Exception):
    """Redis could not answer (unreachable, timed out, refused the command)."""


class RedisTimeout(RedisError):
    pass


class ConnectionLost(RedisError):
    """The connection failed; ``replied`` is False when no byte of the reply had arrived."""

    def __init__(self, message: str, *, replied: bool = True) -> None:
        super().__init__(message)
        self.replied = replied


class ReplyError(RedisError):
    """Redis answered with an error (``NOSCRIPT ...``, ``WRONGPASS ...``)."""


class Connection:
    """One connection. ``broken`` stays True from a command's first byte out to its reply's last in,
    so a connection left midway (timeout, cancellation, error) is known not to be reusable."""

    def __init__(self, stream: trio.abc.Stream, address: Address) -> None:
        self.stream = stream
        self.address = address
        self.broken = False
        self._reader = hiredis.Reader(notEnoughData=_MORE)

    async def execute(self, commands: Sequence[Sequence[Arg]]) -> list[Any]:
        """Send ``commands`` in one write and read their replies (pipelined). An error reply is
        returned in its place as a ``hiredis.ReplyError``; a broken connection raises."""
        self.broken = True
        replied = False
        try:
            await self.stream.send_all(b"".join(hiredis.pack_command(tuple(command)) for command in commands))
            replies: list[Any] = []
            while len(replies) < len(commands):
                reply = self._reader.gets()
                if reply is _MORE:
                    data = await self.stream.receive_some(65536)
                    if not data:
                        raise ConnectionLost(f"Redis at {self.address} closed the connection", replied=replied)
                    replied = True
                    self._reader.feed(data)
                else:
                    replies.append(reply)
        except (OSError, trio.BrokenResourceError) as exc:
            raise ConnectionLost(
                f"the connection to Redis at {self.address} failed ({_reason(exc)})", replied=replied
            ) from None
        except hiredis.ProtocolError as exc:
            raise ConnectionLost(f"Redis at {self.address} sent a malformed reply ({exc})") from None
        self.broken = False
        return replies

    async def aclose(self) -> None:
        await trio.aclose_forcefully(self.stream)


@attrs.frozen
class Script:
    """A Lua script, run by its SHA1 (``EVALSHA``), its source sent only when Redis lacks it."""

    source: str
    sha: str = attrs.field(init=False)

    @sha.default
    def _sha(self) -> str:
        return hashlib.sha1(self.source.encode()).hexdigest()


class RedisClient:
    """A bounded pool of connections to one Redis. Each call (``execute``, ``evalsha``) borrows a
    connection for one round trip and must finish within ``timeout`` seconds, waiting for a free
    connection included; past that it raises ``RedisTimeout`` and the connection is closed."""

    def __init__(self, url: str, *, timeout: float = 0.25, max_connections: int = 16) -> None:
        self.address = parse_url(url)
        self.timeout = timeout
        self._slots = trio.Semaphore(max_connections)
        self._idle: list[Connection] = []
        self._closed = False
        self._ssl: ssl.SSLContext | None = None

    @property
    def idle(self) -> int:
        """Connections open and waiting for a command."""
        return len(self._idle)

    async def execute(self, *args: Arg) -> Any:
        """Run one command; its reply, or ``ReplyError`` for an error reply."""
        (reply,) = await self._run([args])
        return self._raise_error(reply)

    async def evalsha(self, script: Script, keys: Sequence[str], args: Sequence[Arg]) -> Any:
        """Run ``script`` with ``keys`` and ``args``; after a ``NOSCRIPT`` (Redis restarted, or its
        script cache flushed), once more with its source (``EVAL``, which caches it again)."""
        tail = (len(keys), *keys, *args)
        reply = await self._run([("EVALSHA", script.sha, *tail)], fallback=("EVAL", script.source, *tail))
        return self._raise_error(reply)

    def _raise_error(self, reply: Any) -> Any:
        if isinstance(reply, hiredis.ReplyError):
            raise ReplyError(f"Redis at {self.address} refused the command: {reply}")
        return reply

    async def _run(self, commands: list[tuple[Arg, ...]], fallback: tuple[Arg, ...] | None = None) -> Any:
        with trio.move_on_after(self.timeout) as scope:
            async with self._slots:
                # A connection idle since Redis restarted (or dropped it) fails before any reply;
                # the command never ran, so it is safe to send once more on a new connection.
                for attempt in range(2):
                    conn, reused = (self._idle.pop(), True) if self._idle else (await self._connect(), False)
                    try:
                        replies = await conn.execute(commands)
                        if fallback is not None and _is_noscript(replies[0]):
                            replies = await conn.execute([fallback])
                    except ConnectionLost as exc:
                        if reused and not exc.replied and attempt == 0:
                            await self._drop_idle()
                            continue
                        raise
                    finally:
                        if conn.broken or self._closed:
                            await conn.aclose()
                        else:
                            self._idle.append(conn)
                    return replies[0] if fallback is not None else replies
        assert scope.cancelled_caught
        raise RedisTimeout(f"Redis at {self.address} did not answer within {self.timeout * 1000:g} ms")

    async def _connect(self) -> Connection:
        if self._closed:
            raise RedisError("the Redis client is closed")
        address = self.address
        try:
            if address.path is not None:
                stream: trio.abc.Stream = await trio.open_unix_socket(address.path)
            elif address.tls:
                # https_compatible: Redis may close a connection without TLS's close_notify.
                stream = await trio.open_ssl_over_tcp_stream(
                    address.host, address.port, ssl_context=self._ssl_context(), https_compatible=True
                )
            else:
                stream = await trio.open_tcp_stream(address.host, address.port)
        except (OSError, trio.BrokenResourceError) as exc:
            raise ConnectionLost(f"cannot connect to Redis at {address} ({_reason(exc)})") from None
        conn = Connection(stream, address)
        hello: list[tuple[Arg, ...]] = []
        if address.password is not None:
            user = (address.username,) if address.username else ()
            hello.append(("AUTH", *user, address.password))
        if address.db:
            hello.append(("SELECT", address.db))
        if hello:
            try:
                replies = await conn.execute(hello)
            except BaseException:
                await conn.aclose()
                raise
            for command, reply in zip(hello, replies, strict=True):
                if isinstance(reply, hiredis.ReplyError):
                    await conn.aclose()
                    what = "refused the login" if command[0] == "AUTH" else f"refused database {address.db}"
                    # Redis' own error text (WRONGPASS, NOPERM, ...) never quotes the password.
                    raise ReplyError(f"Redis at {address} {what}: {reply}")
        return conn

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            context = ssl.create_default_context(cafile=self.address.ssl_ca_certs)
            if self.address.ssl_cert_reqs != "required":
                context.check_hostname = False
                context.verify_mode = _CERT_REQS[self.address.ssl_cert_reqs]
            self._ssl = context
        return self._ssl

    async def _drop_idle(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.aclose()

    async def aclose(self) -> None:
        """Close every connection (those lent out close when their command ends)."""
        self._closed = True
        await self._drop_idle()


def _is_noscript(reply: Any) -> bool:
    return isinstance(reply, hiredis.ReplyError) and str(reply).startswith("NOSCRIPT")


def _reason(exc: BaseException) -> str:
    cause = exc.__cause__ if isinstance(exc, trio.BrokenResourceError) and exc.__cause__ else exc
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    return str(cause) or type(cause).__name__

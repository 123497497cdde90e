"""Why an upstream attempt failed, in words an operator can act on.

``describe`` turns an httpx exception into a ``Failure``: a short cause label (also the
``cause`` label of ``keeptrust_upstream_failures_total``), a sentence naming it, and the upstream's
scheme, host and port (never its path, query string or credentials). The transport puts it in the
client's error and in one log line per failed attempt.

Public module: provider plugins that talk to upstreams outside ``keeptrust.transport.Upstream`` use it
for the same messages.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator

import attrs
import httpx

# Cause labels.
DNS = "dns"
REFUSED = "refused"
TLS = "tls"
NETWORK = "network"
CONNECT_TIMEOUT = "connect_timeout"
POOL_TIMEOUT = "pool_timeout"
WRITE_TIMEOUT = "write_timeout"
FIRST_BYTE_TIMEOUT = "first_byte_timeout"
READ_TIMEOUT = "read_timeout"
CONNECTION_CLOSED = "connection_closed"
CONNECTION_LOST = "connection_lost"
PROTOCOL = "protocol_error"
OTHER = "error"

TIMEOUTS = frozenset({CONNECT_TIMEOUT, POOL_TIMEOUT, WRITE_TIMEOUT, FIRST_BYTE_TIMEOUT, READ_TIMEOUT})


@attrs.frozen
class Failure:
    cause: str
    text: str
    origin: str

    @property
    def is_timeout(self) -> bool:
        return self.cause in TIMEOUTS


def origin_of(request: httpx.Request | None) -> str:
    """``scheme://host:port`` of a request: no user info, path or query string."""
    if request is None:
        return "the upstream"
    url = request.url
    port = url.port or {"http": 80, "https": 443}.get(url.scheme, 0)
    return f"{url.scheme}://{url.host}:{port}"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, its causes and contexts, and the members of exception groups among them."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        e = todo.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo.extend(getattr(e, "exceptions", ()))
        for nxt in (e.__cause__, e.__context__):
            if nxt is not None:
                todo.append(nxt)


def _connect_cause(exc: BaseException) -> tuple[str, str]:
    for e in _chain(exc):
        if isinstance(e, socket.gaierror):
            return DNS, f"the host name does not resolve ({e.strerror or e})"
        if isinstance(e, ssl.SSLCertVerificationError):
            return TLS, f"TLS certificate verification failed ({e.verify_message or e.reason})"
        if isinstance(e, ssl.SSLError):
            return TLS, f"the TLS handshake failed ({e.reason or e})"
        if isinstance(e, ConnectionRefusedError):
            return REFUSED, "connection refused"
    for e in _chain(exc):
        if isinstance(e, OSError) and e.strerror:
            return NETWORK, f"cannot connect ({e.strerror})"
    return NETWORK, "cannot connect"


def describe(exc: httpx.HTTPError, *, mid_answer: bool = False) -> Failure:
    """The failure behind ``exc``. ``mid_answer``: the response had started (a read failed between
    chunks rather than before the first byte)."""
    try:
        request: httpx.Request | None = exc.request
    except RuntimeError:  # an exception raised without a request
        request = None
    origin = origin_of(request)
    # httpx keeps the request's timeouts as a dict in its extensions.
    limits = request.extensions.get("timeout", {}) if request is not None else {}

    def limit(kind: str) -> str:
        value = limits.get(kind) if isinstance(limits, dict) else None
        return f" within {value:.3g}s" if isinstance(value, (int, float)) else ""

    if isinstance(exc, httpx.ConnectTimeout):
        return Failure(CONNECT_TIMEOUT, f"no connection{limit('connect')} (connect timeout)", origin)
    if isinstance(exc, httpx.PoolTimeout):
        return Failure(POOL_TIMEOUT, f"no free connection to it{limit('pool')} (all in use)", origin)
    if isinstance(exc, httpx.WriteTimeout):
        return Failure(WRITE_TIMEOUT, f"could not send the request{limit('write')} (write timeout)", origin)
    if isinstance(exc, httpx.ReadTimeout):
        if mid_answer:
            return Failure(READ_TIMEOUT, f"the answer stalled: no data{limit('read')} between chunks", origin)
        return Failure(FIRST_BYTE_TIMEOUT, f"no answer{limit('read')} (timeout before the first byte)", origin)
    if isinstance(exc, httpx.ConnectError):
        cause, text = _connect_cause(exc)
        return Failure(cause, text, origin)
    if isinstance(exc, httpx.RemoteProtocolError):
        if mid_answer:
            return Failure(CONNECTION_LOST, "the connection broke mid-answer", origin)
        return Failure(CONNECTION_CLOSED, "the upstream closed the connection without answering", origin)
    if isinstance(exc, (httpx.ReadError, httpx.WriteError, httpx.NetworkError)):
        return Failure(CONNECTION_LOST, "the connection broke" + (" mid-answer" if mid_answer else ""), origin)
    if isinstance(exc, httpx.ProtocolError):
        return Failure(PROTOCOL, "the upstream's answer is not valid HTTP", origin)
    return Failure(OTHER, type(exc).__name__, origin)


__all__ = ["Failure", "TIMEOUTS", "describe", "origin_of"]

"""Redis URLs, in the forms redis-py reads, parsed without ever quoting their password."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

import attrs

_QUERY = {"db", "password", "ssl_cert_reqs", "ssl_ca_certs"}
_CERT_REQS = ("none", "optional", "required")


@attrs.frozen
class Address:
    """Where a Redis listens and how to log in, parsed from its URL (``parse_url``)."""

    host: str | None = None
    port: int = 6379
    path: str | None = None  # a Unix socket
    tls: bool = False
    db: int = 0
    username: str | None = None
    password: str | None = attrs.field(default=None, repr=False)
    ssl_cert_reqs: str = "required"
    ssl_ca_certs: str | None = None

    def __str__(self) -> str:
        """The server for messages: host and port, or the socket path; never the credentials."""
        if self.path is not None:
            return f"unix:{self.path}"
        host = f"[{self.host}]" if self.host and ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_url(url: str) -> Address:
    """``redis://[[user]:password@]host[:port][/db]``, ``rediss://...`` (TLS, ``?ssl_cert_reqs=
    none|optional|required&ssl_ca_certs=PATH``) or ``unix://[[user]:password@]/path/to.sock[?db=N]``,
    the URL forms redis-py reads. A ``ValueError`` never quotes the URL (it may hold a password)."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ValueError(f"a Redis URL starts with redis://, rediss:// or unix://, not {parts.scheme!r}")
    query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    unknown = sorted(set(query) - _QUERY)
    if unknown:
        raise ValueError(f"unknown Redis URL parameter(s): {', '.join(unknown)} (known: {', '.join(sorted(_QUERY))})")
    # redis:// names the database in the path, unix:// (whose path is the socket's) in the query.
    db_text = query.get("db") if parts.scheme == "unix" else query.get("db") or parts.path.lstrip("/")
    try:
        db = int(db_text or 0)
        port = parts.port or 6379
    except ValueError:
        raise ValueError("a Redis URL's port and database are numbers") from None
    if db < 0:
        raise ValueError("a Redis URL's database is a number from 0")
    cert_reqs = query.get("ssl_cert_reqs", "required").lower()
    if cert_reqs not in _CERT_REQS:
        raise ValueError(f"ssl_cert_reqs is one of {', '.join(_CERT_REQS)}, not {cert_reqs!r}")
    password = query.get("password") or (unquote(parts.password) if parts.password is not None else None)
    common = {
        "db": db,
        "username": unquote(parts.username) if parts.username else None,
        "password": password,
        "ssl_cert_reqs": cert_reqs,
        "ssl_ca_certs": query.get("ssl_ca_certs"),
    }
    if parts.scheme == "unix":
        if not parts.path:
            raise ValueError("a unix:// Redis URL names the socket's path, as in unix:///run/redis.sock")
        return Address(path=unquote(parts.path), **common)
    if not parts.hostname:
        raise ValueError("a Redis URL names the server's host, as in redis://127.0.0.1:6379/0")
    return Address(host=parts.hostname, port=port, tls=parts.scheme == "rediss", **common)

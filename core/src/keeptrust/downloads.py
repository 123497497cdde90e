"""Fetching the result files an upstream names by URL (generated images, speech), safely.

An upstream's answer does not get to choose where the gateway connects. A result URL that names, or
resolves to, a loopback, private, link-local or otherwise non-public address would let a backend, or
whoever controls its answer, make the gateway read its own network and hand the bytes to the client
(server-side request forgery). So a download:

- takes ``http``/``https`` URLs only;
- resolves the host once, refuses it if any of its addresses is not public (unless the operator
  allowed that network), and connects to the address it checked, so a second DNS answer cannot
  point the connection elsewhere (DNS rebinding);
- follows a redirect only to the same host, checked again, at most ``max_redirects`` times;
- reads at most ``max_bytes``, while reading;
- sends no gateway credential: it has its own client, never a target's.

Plugins use it through :class:`Downloader`; the operator's knobs are :class:`DownloadSettings`.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from typing import Any

import attrs
import httpx
import trio

from keeptrust.errors import UpstreamError, UpstreamTimeout
from keeptrust.h11_transport import TrioH11Transport

__all__ = ["Download", "DownloadSettings", "Downloader", "UnsafeDownload", "parse_networks"]

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeDownload(UpstreamError):
    """A result URL the gateway refuses to fetch (scheme, address or redirect)."""

    code = "unsafe_result_url"


def _check_networks(_instance: Any, attribute: attrs.Attribute, value: list[str]) -> None:
    parse_networks(value, attribute.name)


@attrs.frozen(kw_only=True)
class DownloadSettings:
    """How result files are fetched (a target's ``downloads`` block)."""

    # Networks result URLs may point into although they are not public (an internal CDN, a test
    # server on loopback). Empty: public addresses only.
    allow_networks: list[str] = attrs.field(factory=list, validator=_check_networks)
    max_bytes: int = attrs.field(default=64 << 20, validator=attrs.validators.gt(0))
    max_redirects: int = attrs.field(default=3, validator=attrs.validators.ge(0))


def parse_networks(values: Iterable[str], name: str = "allow_networks") -> tuple[IPNetwork, ...]:
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise ValueError(f"{name}: {value!r} is not an IP network (e.g. 10.0.0.0/8, ::1/128)") from None
    return tuple(networks)


def is_public(address: IPAddress) -> bool:
    """True for globally routable unicast addresses (IPv4-mapped IPv6 judged as the IPv4 inside)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


@attrs.define(eq=False)
class Download:
    """An open download: its media type, declared size and bytes as they come. Close it with ``aclose``."""

    content_type: str | None
    size: int | None
    what: str
    _response: httpx.Response
    _max_bytes: int

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        received = 0
        try:
            async for part in self._response.aiter_bytes():
                received += len(part)
                if received > self._max_bytes:
                    raise UpstreamError(f"{self.what} is larger than {self._max_bytes} bytes")
                yield part
        except httpx.TimeoutException:
            raise UpstreamTimeout(f"{self.what} stopped arriving mid-download") from None
        except httpx.HTTPError as exc:
            raise UpstreamError(f"{self.what} could not be downloaded ({type(exc).__name__})") from None

    async def read(self) -> bytes:
        try:
            return b"".join([part async for part in self.chunks()])
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        with trio.CancelScope(shield=True):
            await self._response.aclose()

    def relay(self) -> tuple[AsyncGenerator[bytes, None], Callable[[], Awaitable[None]]]:
        """The bytes for a streamed answer, and the ``aclose`` that finalises them and the download."""
        parts = self.chunks()

        async def aclose() -> None:
            await parts.aclose()
            await self.aclose()

        return parts, aclose


class Downloader:
    """Fetches result URLs under :class:`DownloadSettings`. One per target; ``aclose`` at shutdown."""

    def __init__(self, settings: DownloadSettings | None = None, *, timeout: float | httpx.Timeout = 60.0) -> None:
        self.settings = settings or DownloadSettings()
        self._allowed = parse_networks(self.settings.allow_networks)
        self._client = httpx.AsyncClient(
            transport=TrioH11Transport(max_connections=64, resolve=self._resolve),
            follow_redirects=False,
            trust_env=False,
            timeout=timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout, connect=min(timeout, 10)),
        )

    def allowed(self, address: IPAddress) -> bool:
        return is_public(address) or any(address in network for network in self._allowed)

    async def _resolve(self, host: str, port: int) -> str:
        try:
            literal: IPAddress | None = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [literal]
        else:
            try:
                infos = await trio.socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except OSError as exc:
                raise UpstreamError(f"the result URL's host {host!r} does not resolve ({exc.strerror})") from None
            addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
        if not addresses:
            raise UpstreamError(f"the result URL's host {host!r} does not resolve")
        refused = [a for a in addresses if not self.allowed(a)]
        if refused:
            raise UnsafeDownload(
                f"refused to fetch a result URL on {host!r}: it resolves to a non-public address ({refused[0]}); "
                "an operator can allow a network with the target's downloads.allow_networks"
            )
        return str(addresses[0])

    async def open(self, url: str, *, what: str = "the backend's result file") -> Download:
        """Start downloading ``url``; the caller must ``aclose`` the result (or read it whole)."""
        current = httpx.URL(url)
        for _hop in range(self.settings.max_redirects + 1):
            if current.scheme not in ("http", "https") or not current.host:
                raise UnsafeDownload(f"{what} has a URL that is not http(s)")
            response = await self._send(current, what)
            if response.status_code in (301, 302, 303, 307, 308) and "location" in response.headers:
                await response.aclose()
                target = current.join(response.headers["location"])
                if target.host != current.host:
                    raise UnsafeDownload(f"{what} redirects to another host ({target.host!r}); not followed")
                current = target
                continue
            if response.status_code >= 300:
                await response.aclose()
                raise UpstreamError(f"{what} could not be downloaded (status {response.status_code})")
            length = response.headers.get("content-length")
            size = int(length) if length and length.isdigit() else None
            if size is not None and size > self.settings.max_bytes:
                await response.aclose()
                raise UpstreamError(f"{what} is {size} bytes, over the limit of {self.settings.max_bytes}")
            return Download(response.headers.get("content-type"), size, what, response, self.settings.max_bytes)
        raise UpstreamError(f"{what} redirects more than {self.settings.max_redirects} times")

    async def _send(self, url: httpx.URL, what: str) -> httpx.Response:
        try:
            return await self._client.send(self._client.build_request("GET", url), stream=True)
        except httpx.TimeoutException:
            raise UpstreamTimeout(f"{what} did not start arriving in time") from None
        except httpx.HTTPError as exc:
            raise UpstreamError(f"{what} could not be downloaded ({type(exc).__name__})") from None

    async def fetch(self, url: str, *, what: str = "the backend's result file") -> tuple[bytes, str]:
        """``url``'s bytes and media type (``application/octet-stream`` when it names none)."""
        download = await self.open(url, what=what)
        data = await download.read()
        return data, download.content_type or "application/octet-stream"

    async def aclose(self) -> None:
        await self._client.aclose()

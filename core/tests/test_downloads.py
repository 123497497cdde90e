"""Result downloads: public addresses only (unless allowed), pinned to the checked address, same-host
redirects, bounded size, no credentials — against a real server on loopback."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from keeptrust.demo.asgi import accept
from keeptrust.downloads import Downloader, DownloadSettings, UnsafeDownload, is_public
from keeptrust.errors import UpstreamError
from keeptrust.h11_transport import TrioH11Transport
from keeptrust.testing import serve_app

LOOPBACK = DownloadSettings(allow_networks=["127.0.0.0/8"], max_bytes=1000)


class CDN:
    """Files, redirects and an endless body, recording each request's headers."""

    def __init__(self) -> None:
        self.seen: list[dict[str, str]] = []

    async def __call__(self, scope, receive, send):
        request = await accept(scope, receive, send)
        if request is None:
            return
        self.seen.append(request.headers)
        path = request.path
        status, headers, body = 200, [(b"content-type", b"image/png")], b"PNGDATA"
        if path.startswith("/hop/"):
            status, headers, body = 302, [(b"location", path.removeprefix("/hop").encode())], b""
        elif path == "/away":
            status, headers, body = 302, [(b"location", b"http://localhost:9/file")], b""
        elif path == "/loop":
            status, headers, body = 307, [(b"location", b"/loop")], b""
        elif path == "/big":
            body = b"x" * 5000
            headers.append((b"content-length", b"5000"))
        elif path == "/missing":
            status, body = 404, b"no"
        if path == "/chunked-big":
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            for _ in range(10):
                await send({"type": "http.response.body", "body": b"y" * 400, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@pytest.fixture
def cdn():
    app = CDN()
    server = serve_app(app)
    server.cdn = app
    yield server
    server.stop()


@pytest.mark.parametrize(
    "address, public",
    [
        ("8.8.8.8", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
        ("224.0.0.1", False),
    ],
)
def test_only_public_unicast_addresses_count_as_public(address, public):
    assert is_public(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/file",
        "http://localhost:{port}/file",
        "http://[::1]:{port}/file",
        "http://[::ffff:127.0.0.1]:{port}/file",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/file",
    ],
)
async def test_non_public_addresses_are_refused_before_connecting(cdn, url):
    downloader = Downloader()
    try:
        with pytest.raises(UnsafeDownload, match="non-public address"):
            await downloader.fetch(url.format(port=cdn.url.rsplit(":", 1)[1]))
    finally:
        await downloader.aclose()
    assert cdn.cdn.seen == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "gopher://x/", "http:///nohost"])
async def test_only_http_urls_are_fetched(url):
    downloader = Downloader()
    try:
        with pytest.raises(UnsafeDownload, match="not http"):
            await downloader.fetch(url)
    finally:
        await downloader.aclose()


async def test_an_allowed_network_is_fetched_without_credentials(cdn):
    downloader = Downloader(LOOPBACK)
    try:
        assert await downloader.fetch(cdn.url + "/file") == (b"PNGDATA", "image/png")
        # Same-host redirects are followed (and checked again).
        assert (await downloader.fetch(cdn.url + "/hop/hop/file"))[0] == b"PNGDATA"
        with pytest.raises(UnsafeDownload, match="another host"):
            await downloader.fetch(cdn.url + "/away")
        with pytest.raises(UpstreamError, match="redirects more than 3 times"):
            await downloader.fetch(cdn.url + "/loop")
        with pytest.raises(UpstreamError, match="over the limit of 1000"):
            await downloader.fetch(cdn.url + "/big")
        with pytest.raises(UpstreamError, match="larger than 1000 bytes"):
            await downloader.fetch(cdn.url + "/chunked-big")
        with pytest.raises(UpstreamError, match="status 404"):
            await downloader.fetch(cdn.url + "/missing")
    finally:
        await downloader.aclose()
    assert all("authorization" not in headers and "cookie" not in headers for headers in cdn.cdn.seen)


async def test_the_connection_goes_to_the_address_that_was_checked(cdn):
    # A name is resolved once and the connection made to that address, with the name kept as the
    # Host: a second DNS answer (rebinding) has no say.
    port = int(cdn.url.rsplit(":", 1)[1])
    asked = []

    async def resolve(host: str, port: int) -> str:
        asked.append((host, port))
        return "127.0.0.1"

    async with httpx.AsyncClient(transport=TrioH11Transport(resolve=resolve)) as client:
        response = await client.get(f"http://files.example.invalid:{port}/file")
    assert response.content == b"PNGDATA"
    assert asked == [("files.example.invalid", port)]
    assert cdn.cdn.seen[-1]["host"] == f"files.example.invalid:{port}"


def test_settings_name_a_bad_network():
    with pytest.raises(ValueError, match="'not-a-net' is not an IP network"):
        DownloadSettings(allow_networks=["not-a-net"])

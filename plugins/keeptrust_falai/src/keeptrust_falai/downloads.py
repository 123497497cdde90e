"""Streaming a result file (fal's CDN audio) to the client as it arrives.

The download goes through its own short-lived client, never the target's transport: the target's
client carries the router token or fal key, and a CDN must not see either."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import attrs
import httpx
import trio

from keeptrust.errors import UpstreamError, UpstreamTimeout

MAX_DOWNLOAD_BYTES = 64 << 20


@attrs.define(eq=False)
class Download:
    """An open download: its media type and its bytes as they come. ``aclose`` is idempotent."""

    content_type: str | None
    size: int | None
    _client: httpx.AsyncClient
    _response: httpx.Response
    _max_bytes: int

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        received = 0
        try:
            async for part in self._response.aiter_bytes():
                received += len(part)
                if received > self._max_bytes:
                    raise UpstreamError(f"fal-ai's result file is larger than {self._max_bytes} bytes")
                yield part
        except httpx.TimeoutException:
            raise UpstreamTimeout("fal-ai's result file stopped arriving mid-download") from None
        except httpx.HTTPError as exc:
            raise UpstreamError(f"fal-ai's result file could not be downloaded ({type(exc).__name__})") from None

    async def aclose(self) -> None:
        await self._response.aclose()
        await self._client.aclose()

    def relay(self) -> tuple[AsyncGenerator[bytes, None], Callable[[], Awaitable[None]]]:
        """The bytes for a ``BinaryResult`` and the ``aclose`` that finalises them and the download."""
        parts = self.chunks()

        async def aclose() -> None:
            await parts.aclose()
            await self.aclose()

        return parts, aclose


async def open_download(
    url: str, *, timeout: float, max_bytes: int = MAX_DOWNLOAD_BYTES, headers: dict[str, Any] | None = None
) -> Download:
    """Start downloading ``url`` (http or https only); the caller must ``aclose`` the result."""
    if not url.startswith(("https://", "http://")):
        raise UpstreamError("fal-ai returned a result URL that is not http(s)")
    client = httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        follow_redirects=True,
        max_redirects=3,
        trust_env=False,
        headers=headers or {},
    )
    try:
        response = await client.send(client.build_request("GET", url), stream=True)
    except httpx.TimeoutException:
        await client.aclose()
        raise UpstreamTimeout("fal-ai's result file did not start arriving in time") from None
    except httpx.HTTPError as exc:
        await client.aclose()
        raise UpstreamError(f"fal-ai's result file could not be downloaded ({type(exc).__name__})") from None
    except BaseException:
        with trio.CancelScope(shield=True):
            await client.aclose()
        raise
    if response.status_code >= 400:
        await response.aclose()
        await client.aclose()
        raise UpstreamError(f"fal-ai's result file could not be downloaded (status {response.status_code})")
    length = response.headers.get("content-length")
    size = int(length) if length and length.isdigit() else None
    if size is not None and size > max_bytes:
        await response.aclose()
        await client.aclose()
        raise UpstreamError(f"fal-ai's result file is {size} bytes, over the limit of {max_bytes}")
    ctype = response.headers.get("content-type")
    return Download(ctype, size, client, response, max_bytes)

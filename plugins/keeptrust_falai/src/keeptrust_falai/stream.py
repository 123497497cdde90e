"""Streamed image generation and edits: fal's ``/{model}/stream`` SSE as OpenAI's image events.

fal sends a JSON result per event, each with the images rendered so far; the last one is the final
render. OpenAI's stream has ``image_generation.partial_image`` events (``image_edit.*`` for edits)
and one ``*.completed`` event per final image. So every fal event but the last becomes partial
images, and the last becomes the completed ones; that is why one event is held back."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import orjson

from keeptrust import sse
from keeptrust.errors import UpstreamError, UpstreamTimeout
from keeptrust.results import StreamResult
from keeptrust_falai import images as image_map
from keeptrust_falai import media

Downloader = Callable[[str], Awaitable[tuple[bytes, str]]]


def _event_error(data: dict[str, Any]) -> str | None:
    if "images" in data or isinstance(data.get("data"), dict) or isinstance(data.get("image"), dict):
        return None
    for key in ("error", "detail", "message"):
        value = data.get(key)
        if isinstance(value, dict):
            value = value.get("message")
        if isinstance(value, list):
            value = "; ".join(str(v.get("msg", v)) if isinstance(v, dict) else str(v) for v in value)
        if isinstance(value, str) and value:
            return " ".join(value.split())[:500]
    return None


def _images(data: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        return image_map.result_images(data)
    except UpstreamError:
        return []  # a progress event without images (queue position, logs)


async def _b64(image: dict[str, Any], download: Downloader) -> str:
    url = image["url"]
    if media.is_data_uri(url):
        return media.data_uri_base64(url)
    raw, _ = await download(url)
    return base64.b64encode(raw).decode("ascii")


class ImageStream:
    """Turns one fal SSE response into OpenAI image events."""

    def __init__(
        self,
        response: httpx.Response,
        request: image_map.ImageRequest,
        kind: str,
        download: Downloader,
        redact: Callable[[str], str],
    ) -> None:
        self.response = response
        self.request = request
        self.kind = kind  # "image_generation" | "image_edit"
        self.download = download
        self.redact = redact
        self.created = int(time.time())

    def _event(self, suffix: str, image: dict[str, Any], b64: str) -> dict[str, Any]:
        width, height = image.get("width"), image.get("height")
        known = isinstance(width, int) and isinstance(height, int)
        size = f"{width}x{height}" if known else (self.request.size or "auto")
        return {
            "type": f"{self.kind}.{suffix}",
            "b64_json": b64,
            "created_at": self.created,
            "size": size,
            "quality": "auto",
            "background": "auto",
            "output_format": self.request.output_format or image_map.image_format(image) or "png",
        }

    async def _fal_events(self) -> AsyncIterator[dict[str, Any]]:
        try:
            if self.response.headers.get("content-type", "").startswith("application/json"):
                # An app without progressive output answers the stream route with its whole result.
                data = orjson.loads(await self.response.aread())
                if isinstance(data, dict):
                    yield data
                return
            async for event in sse.iter_events(self.response.aiter_bytes()):
                if event.data.strip() in ("", "[DONE]"):
                    continue
                try:
                    data = orjson.loads(event.data)
                except orjson.JSONDecodeError:
                    raise UpstreamError("fal-ai's image stream sent an event that is not JSON") from None
                if isinstance(data, dict):
                    yield data
        except orjson.JSONDecodeError:
            raise UpstreamError("fal-ai's image stream answered with JSON that does not parse") from None
        except httpx.TimeoutException:
            raise UpstreamTimeout("fal-ai's image stream stopped sending") from None
        except httpx.HTTPError as exc:
            raise UpstreamError(f"fal-ai's image stream broke off ({type(exc).__name__})") from None

    async def events(self) -> AsyncGenerator[dict[str, Any], None]:
        held: list[dict[str, Any]] = []
        partial_index = 0
        async for data in self._fal_events():
            message = _event_error(data)
            if message is not None:
                raise UpstreamError(f"fal-ai's image stream failed: {self.redact(message)}")
            found = _images(data)
            if not found:
                continue
            for image in held:
                event = self._event("partial_image", image, await _b64(image, self.download))
                event["partial_image_index"] = partial_index
                partial_index += 1
                yield event
            held = found
        if not held:
            raise UpstreamError("fal-ai's image stream ended without an image")
        for image in held:
            yield self._event("completed", image, await _b64(image, self.download))

    async def aclose(self) -> None:
        await self.response.aclose()


def stream_result(stream: ImageStream) -> StreamResult:
    events = stream.events()

    async def aclose() -> None:
        # Finalise the generator here rather than leave it to the garbage collector (which trio
        # warns about), then release the upstream connection.
        await events.aclose()
        await stream.aclose()

    # OpenAI's image streams name each event and end without ``[DONE]``.
    return StreamResult(events, aclose=aclose, event_names=True, done_marker=False)

"""Bytes on the wire: data URIs, media types, and the uploads a client sends for fal to read."""

from __future__ import annotations

import base64
import binascii
import re
from types import MappingProxyType
from typing import Any

from keeptrust.context import UploadedFile
from keeptrust.errors import RequestError, UpstreamError

_DATA_URI = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[\w.+-]+=[^;,]*)*)(?P<b64>;base64)?,", re.ASCII)

# Magic numbers of the image formats fal's image apps read.
_IMAGE_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),
)

IMAGE_FORMATS = MappingProxyType({"image/png": "png", "image/jpeg": "jpeg", "image/webp": "webp", "image/gif": "gif"})


def data_uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def is_data_uri(value: str) -> bool:
    return value.startswith("data:")


def decode_data_uri(value: str) -> tuple[str, bytes]:
    """The media type and bytes of a ``data:`` URI; a malformed one from fal is a 502."""
    match = _DATA_URI.match(value)
    if match is None:
        raise UpstreamError("fal-ai returned a malformed data URI")
    payload = value[match.end() :]
    mime = match.group("mime") or "application/octet-stream"
    if match.group("b64"):
        try:
            return mime, base64.b64decode(payload, validate=False)
        except (binascii.Error, ValueError):
            raise UpstreamError("fal-ai returned a data URI that is not valid base64") from None
    from urllib.parse import unquote_to_bytes

    return mime, unquote_to_bytes(payload)


def data_uri_base64(value: str) -> str:
    """The base64 part of a base64 data URI, without decoding it (it is what ``b64_json`` wants)."""
    match = _DATA_URI.match(value)
    if match is None or not match.group("b64"):
        _, data = decode_data_uri(value)
        return base64.b64encode(data).decode("ascii")
    return value[match.end() :]


def sniff_image(data: bytes) -> str | None:
    for magic, offset, mime in _IMAGE_MAGIC:
        if data[offset : offset + len(magic)] == magic:
            if mime == "image/webp" and data[:4] != b"RIFF":
                continue
            return mime
    return None


def image_reference(value: Any, param: str) -> str:
    """One image for fal: an upload becomes a data URI, a URL or data URI string is passed on.

    The gateway never fetches a client's URL itself: fal does, so no client-chosen address
    reaches the gateway's own network."""
    if isinstance(value, UploadedFile):
        if not value.data:
            raise RequestError(f"'{param}' is an empty file", param=param, code="invalid_image")
        mime = sniff_image(value.data)
        if mime is None:
            declared = value.content_type.split(";")[0].strip().lower()
            if declared not in IMAGE_FORMATS:
                raise RequestError(
                    f"'{param}' ({value.filename or 'upload'}) is not a PNG, JPEG, WEBP or GIF image",
                    param=param,
                    code="invalid_image_format",
                )
            mime = declared
        return data_uri(mime, value.data)
    if isinstance(value, dict) and isinstance(value.get("image_url"), str):
        # The JSON form of OpenAI's edits API: {"image_url": "..."}.
        value = value["image_url"]
    if isinstance(value, str):
        if value.startswith(("https://", "http://")):
            return value
        if value.startswith("data:image/") and _DATA_URI.match(value):
            return value
        raise RequestError(
            f"'{param}' must be an image file, an http(s) URL or a data:image/... URI",
            param=param,
            code="invalid_image",
        )
    raise RequestError(f"'{param}' must be an image file or an image URL", param=param, code="invalid_image")


def image_list(value: Any, param: str) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise RequestError(f"'{param}' needs at least one image", param=param, code="missing_required_parameter")
    return [image_reference(item, f"{param}[{i}]" if len(items) > 1 else param) for i, item in enumerate(items)]

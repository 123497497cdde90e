"""OpenAI image requests (generations and edits) as fal inputs, and fal image results as OpenAI's
``images`` answer. Pure functions: no I/O here, so every mapping is unit-tested on its own."""

from __future__ import annotations

import re
import time
from types import MappingProxyType
from typing import Any

import attrs

from keeptrust.errors import RequestError, UpstreamError
from keeptrust_falai import forms, media

# OpenAI image parameters this module translates (or deliberately drops); every other key in the
# body is a fal-native parameter (seed, num_inference_steps, guidance_scale, loras, ...) sent as is.
_OPENAI_IMAGE_KEYS = frozenset(
    {
        "model",
        "prompt",
        "n",
        "size",
        "response_format",
        "quality",
        "style",
        "output_format",
        "moderation",
        "user",
        "stream",
        "partial_images",
        "image",
        "images",
        "mask",
        "input_fidelity",
        "output_compression",
        "use_image_urls",
        "background",
    }
)

# fal's named sizes, accepted as ``size`` too so a client can ask for them directly.
FAL_NAMED_SIZES = frozenset({"square_hd", "square", "portrait_4_3", "portrait_16_9", "landscape_4_3", "landscape_16_9"})
MAX_SIDE = 16384
_SIZE = re.compile(r"^(\d{1,5})\s*[xX]\s*(\d{1,5})$")

OUTPUT_FORMATS = MappingProxyType({"png": "png", "jpeg": "jpeg", "jpg": "jpeg", "webp": "webp"})
# dall-e-3's quality words, in the vocabulary fal's quality-aware apps (gpt-image, imagen) use.
_QUALITY = MappingProxyType({"standard": "medium", "hd": "high", "low": "low", "medium": "medium", "high": "high"})
# dall-e-3's styles have no counterpart in any fal app; other style values are model-specific
# (ideogram, recraft) and are passed on.
_OPENAI_ONLY_STYLES = frozenset({"vivid", "natural"})


@attrs.frozen
class ImageRequest:
    """What the backend sends to fal and how it must shape the answer."""

    payload: dict[str, Any]
    response_format: str  # "url" | "b64_json"
    output_format: str | None
    size: str | None

    @property
    def input_images(self) -> int:
        """How many images an edit sends (one image travels in both fields)."""
        if "image_urls" in self.payload:
            return len(self.payload["image_urls"])
        return 1 if "image_url" in self.payload else 0


def parse_size(value: Any) -> dict[str, int] | str | None:
    """``"1024x768"`` → ``{"width": 1024, "height": 768}``; a fal preset name is kept; ``auto`` → None."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise RequestError("'size' must be a string such as '1024x1024'", param="size", code="invalid_size")
    text = value.strip().lower()
    if text in ("", "auto"):
        return None
    if text in FAL_NAMED_SIZES:
        return text
    match = _SIZE.match(text)
    if match is None:
        raise RequestError(
            f"'size' must be WIDTHxHEIGHT (for example 1024x1024), 'auto' or one of "
            f"{', '.join(sorted(FAL_NAMED_SIZES))}; got {value[:40]!r}",
            param="size",
            code="invalid_size",
        )
    width, height = int(match.group(1)), int(match.group(2))
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise RequestError(
            f"'size' sides must be between 1 and {MAX_SIDE} pixels; got {width}x{height}",
            param="size",
            code="invalid_size",
        )
    return {"width": width, "height": height}


def _output_format(value: Any) -> str | None:
    if value is None:
        return None
    fmt = OUTPUT_FORMATS.get(str(value).lower())
    if fmt is None:
        raise RequestError(
            f"'output_format' must be png, jpeg or webp; got {str(value)[:20]!r}",
            param="output_format",
            code="invalid_value",
        )
    return fmt


def _response_format(body: dict[str, Any]) -> str:
    value = body.get("response_format") or "url"
    if value not in ("url", "b64_json"):
        raise RequestError(
            f"'response_format' must be 'url' or 'b64_json'; got {str(value)[:20]!r}",
            param="response_format",
            code="invalid_value",
        )
    return value


def _common(body: dict[str, Any], *, streaming: bool) -> tuple[dict[str, Any], str, str | None]:
    payload: dict[str, Any] = {"prompt": body["prompt"]}
    n = body.get("n")
    if n is not None:
        payload["num_images"] = n
    size = parse_size(body.get("size"))
    if size is not None:
        payload["image_size"] = size
    response_format = _response_format(body)
    # Streamed events always carry base64 images, and b64_json answers want the bytes: in sync
    # mode fal returns data URIs instead of CDN links, which spares a download per image.
    if response_format == "b64_json" or streaming:
        payload["sync_mode"] = True
    output_format = _output_format(body.get("output_format"))
    if output_format is not None:
        payload["output_format"] = output_format
    if body.get("moderation") == "low":
        payload["enable_safety_checker"] = False
    quality = body.get("quality")
    if isinstance(quality, str) and quality in _QUALITY:
        payload["quality"] = _QUALITY[quality]
    style = body.get("style")
    if isinstance(style, str) and style and style not in _OPENAI_ONLY_STYLES:
        payload["style"] = style
    if isinstance(body.get("background"), str) and body["background"] != "auto":
        payload["background"] = body["background"]
    payload.update(forms.extras(body, _OPENAI_IMAGE_KEYS, payload))
    return payload, response_format, output_format


def generation_request(body: dict[str, Any], *, streaming: bool = False) -> ImageRequest:
    payload, response_format, output_format = _common(body, streaming=streaming)
    return ImageRequest(payload, response_format, output_format, _size_text(body.get("size")))


def image_fields(images: list[str], use_image_urls: bool | None) -> dict[str, Any]:
    """Which input field(s) carry the images.

    fal's edit apps differ: FLUX.2 edit reads ``image_urls``, Kontext and image-to-image read
    ``image_url``, and nothing in the Hub mapping says which. Like Hugging Face's own clients,
    a single image goes in both fields (fal's input models ignore the field they do not know);
    several images can only mean ``image_urls``. ``use_image_urls`` forces one field."""
    if use_image_urls is True:
        return {"image_urls": images}
    if use_image_urls is False:
        if len(images) > 1:
            raise RequestError(
                f"'use_image_urls' is false but {len(images)} images were sent; this sends one image",
                param="image",
                code="invalid_value",
            )
        return {"image_url": images[0]}
    if len(images) == 1:
        return {"image_url": images[0], "image_urls": images}
    return {"image_urls": images}


def edit_request(body: dict[str, Any], *, streaming: bool = False) -> ImageRequest:
    """An edit: the generation mapping plus the image(s) and the optional mask."""
    payload, response_format, output_format = _common(body, streaming=streaming)
    source = body.get("image") if body.get("image") is not None else body.get("images")
    if source is None:
        raise RequestError("'image' is required", param="image", code="missing_required_parameter")
    override = body.get("use_image_urls")
    if override is not None and not isinstance(override, bool):
        override = str(override).lower() in ("true", "1", "yes")
    payload.update(image_fields(media.image_list(source, "image"), override))
    if body.get("mask") is not None:
        # fal's inpainting apps name the mask ``mask_url``; apps without a mask ignore it.
        payload["mask_url"] = media.image_reference(body["mask"], "mask")
    return ImageRequest(payload, response_format, output_format, _size_text(body.get("size")))


def _size_text(value: Any) -> str | None:
    parsed = parse_size(value)
    if isinstance(parsed, dict):
        return f"{parsed['width']}x{parsed['height']}"
    return None


def result_images(result: Any) -> list[dict[str, Any]]:
    """The images of a fal result: ``images[]``, a single ``image``, or either inside ``data``."""
    if isinstance(result, dict) and isinstance(result.get("data"), dict) and "images" not in result:
        result = result["data"]
    if not isinstance(result, dict):
        raise UpstreamError("fal-ai answered an image request with something other than a JSON object")
    images = result.get("images")
    if images is None and isinstance(result.get("image"), dict):
        images = [result["image"]]
    if not isinstance(images, list):
        raise UpstreamError("fal-ai's answer has no 'images'")
    out = []
    for image in images:
        if isinstance(image, str):
            image = {"url": image}
        if not isinstance(image, dict) or not isinstance(image.get("url"), str):
            raise UpstreamError("fal-ai's answer has an image without a 'url'")
        out.append(image)
    return out


def image_format(image: dict[str, Any]) -> str | None:
    ctype = image.get("content_type")
    if isinstance(ctype, str):
        return media.IMAGE_FORMATS.get(ctype.split(";")[0].strip().lower())
    url = image.get("url", "")
    if url.startswith("data:"):
        return media.IMAGE_FORMATS.get(url[5:].split(";", 1)[0].lower())
    return None


def openai_answer(
    result: dict[str, Any], data: list[dict[str, Any]], request: ImageRequest, created: int | None = None
) -> dict[str, Any]:
    """OpenAI's ``images`` answer around ``data`` (already url / b64_json items)."""
    images = result_images(result)
    answer: dict[str, Any] = {"created": created if created is not None else int(time.time()), "data": data}
    fmt = request.output_format or (image_format(images[0]) if images else None)
    if fmt:
        answer["output_format"] = fmt
    first = images[0] if images else {}
    if isinstance(first.get("width"), int) and isinstance(first.get("height"), int):
        answer["size"] = f"{first['width']}x{first['height']}"
    elif request.size:
        answer["size"] = request.size
    usage = result.get("usage") if isinstance(result, dict) else None
    if isinstance(usage, dict) and isinstance(usage.get("total_tokens"), int):
        answer["usage"] = usage
    return answer


def revised_prompt(result: Any) -> str | None:
    if isinstance(result, dict):
        for key in ("revised_prompt", "expanded_prompt"):
            if isinstance(result.get(key), str):
                return result[key]
    return None

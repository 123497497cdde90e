"""Images and audio between OpenAI's shapes and the backends' (huggingface_hub's task helpers): sizes,
data URIs, format sniffing, upload limits, and the OpenAI answers built from what backends return.
Shared by every backend, keeptrust-falai's included (BACKEND_API.md §4)."""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from keeptrust.errors import BodyTooLarge, RequestError, UpstreamError
from keeptrust.results import BinaryResult, JSONResult, Result

if TYPE_CHECKING:
    from keeptrust.context import UploadedFile
    from keeptrust_hf.backend import Backend

Downloader = Callable[[str], Awaitable[tuple[bytes, str]]]
ImageSource = str | bytes | tuple[bytes, str]

# OpenAI speech ``response_format`` → Content-Type (our choice: OpenAI names the formats, not the types).
SPEECH_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}


def image_size(body: dict[str, Any]) -> tuple[int, int] | None:
    """``size: "1024x768"`` → (width, height); ``None`` for absent or ``auto``; 400 otherwise."""
    size = body.get("size")
    if size is None or size == "auto":
        return None
    width, sep, height = str(size).partition("x")
    ok = sep and width.isdigit() and height.isdigit() and 0 < int(width) <= 8192 and 0 < int(height) <= 8192
    if not ok:
        raise RequestError(
            f"'size' must look like '1024x1024' or be 'auto'; got {str(size)[:20]!r}",
            param="size",
            code="invalid_value",
        )
    return int(width), int(height)


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def decode_data_uri(uri: str) -> tuple[bytes, str]:
    head, sep, payload = uri.partition(",")
    if not sep or not head.startswith("data:") or not head.endswith(";base64"):
        raise UpstreamError("the backend returned a malformed data URI")
    try:
        return base64.b64decode(payload, validate=False), head[5:-7] or "application/octet-stream"
    except (binascii.Error, ValueError):
        raise UpstreamError("the backend returned a malformed data URI") from None


def sniff_image_type(data: bytes, fallback: str = "image/png") -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"GIF8"):
        return "image/gif"
    return fallback


def sniff_audio_type(data: bytes, fallback: str = "audio/mpeg") -> str:
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data.startswith(b"fLaC"):
        return "audio/flac"
    if data.startswith(b"OggS"):
        return "audio/ogg"
    if data.startswith(b"ID3") or data[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    if data[4:8] == b"ftyp":
        return "audio/mp4"
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return "audio/webm"
    return fallback


def upload_type(file: UploadedFile, kind: str) -> str:
    """The MIME type of an uploaded file: the declared one unless it is generic, else sniffed."""
    declared = (file.content_type or "").split(";")[0].strip().lower()
    if declared and declared != "application/octet-stream":
        return "audio/mpeg" if declared == "audio/mp3" else declared
    return sniff_audio_type(file.data) if kind == "audio" else sniff_image_type(file.data, "image/jpeg")


def check_upload(backend: Backend, file: UploadedFile, field: str = "file") -> None:
    """413 naming the backend and its limit when a file is too large for it."""
    limit = backend.max_upload_bytes
    if limit is not None and len(file.data) > limit:
        raise BodyTooLarge(
            f"'{field}' is {len(file.data)} bytes; the Hugging Face backend '{backend.name}' accepts at most "
            f"{limit} bytes",
            param=field,
        )


def uploaded_files(body: dict[str, Any], field: str) -> list[UploadedFile]:
    from keeptrust.context import UploadedFile

    value = body.get(field)
    values = value if isinstance(value, list) else [value]
    files = [v for v in values if isinstance(v, UploadedFile)]
    if not files:
        raise RequestError(f"'{field}' must be one or more uploaded files", param=field, code="invalid_type")
    return files


async def images_result(images: Sequence[ImageSource], response_format: str | None, download: Downloader) -> JSONResult:
    """The OpenAI images answer. Each image is a URL, a data URI, raw bytes or (bytes, mime).

    ``b64_json`` downloads URLs; ``url`` (the OpenAI default) passes URLs through and turns bytes
    into data URIs, since the gateway hosts no files."""
    want_b64 = response_format == "b64_json"
    data = []
    for image in images:
        if isinstance(image, tuple):
            image = image[0]
        if isinstance(image, bytes):
            raw = image
            data.append(
                {"b64_json": base64.b64encode(raw).decode()}
                if want_b64
                else {"url": data_uri(raw, sniff_image_type(raw))}
            )
        elif image.startswith("data:"):
            raw, _ = decode_data_uri(image)
            data.append({"b64_json": base64.b64encode(raw).decode()} if want_b64 else {"url": image})
        elif want_b64:
            raw, _ = await download(image)
            data.append({"b64_json": base64.b64encode(raw).decode()})
        else:
            data.append({"url": image})
    if not data:
        raise UpstreamError("the backend returned no image")
    return JSONResult({"created": int(time.time()), "data": data})


def speech_result(data: bytes, content_type: str | None = None) -> BinaryResult:
    ctype = content_type if content_type and content_type.startswith("audio/") else sniff_audio_type(data)
    return BinaryResult(data, ctype)


def _timestamp(seconds: float) -> str:
    ms = round(seconds * 1000)
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def transcription_result(text: str, chunks: Sequence[dict[str, Any]] | None, response_format: str | None) -> Result:
    """OpenAI transcription answers from ``text`` plus HF ``chunks`` (``{"text", "timestamp": [s, e]}``)."""
    segments = []
    for i, chunk in enumerate(chunks or ()):
        stamp = chunk.get("timestamp") or [None, None]
        start = float(stamp[0] or 0.0)
        end = float(stamp[1] if len(stamp) > 1 and stamp[1] is not None else start)
        segments.append(
            {
                "id": i,
                "seek": 0,
                "start": start,
                "end": end,
                "text": str(chunk.get("text", "")),
                "tokens": [],
                "temperature": 0.0,
                "avg_logprob": 0.0,
                "compression_ratio": 0.0,
                "no_speech_prob": 0.0,
            }
        )
    fmt = response_format or "json"
    # text/srt/vtt are rendered after the response-phase policies ran on {"text", "segments"}, so a
    # redacting policy reaches plain-text transcripts too (a BinaryResult would bypass it).
    if fmt == "text":
        return JSONResult(
            {"text": text, "segments": segments},
            render=lambda body: (body["text"].encode(), "text/plain; charset=utf-8"),
        )
    if fmt in ("srt", "vtt"):
        return JSONResult(
            {"text": text, "segments": segments},
            render=lambda body: (_subtitles(body["text"], body["segments"], fmt).encode(), "text/plain; charset=utf-8"),
        )
    if fmt == "verbose_json":
        duration = segments[-1]["end"] if segments else 0.0
        return JSONResult(
            {"task": "transcribe", "language": "unknown", "duration": duration, "text": text, "segments": segments}
        )
    return JSONResult({"text": text})


def _subtitles(text: str, segments: list[dict[str, Any]], fmt: str) -> str:
    if not segments:
        segments = [{"start": 0.0, "end": 0.0, "text": text}]
    lines = ["WEBVTT", ""] if fmt == "vtt" else []
    for i, seg in enumerate(segments, 1):
        start, end = _timestamp(seg["start"]), _timestamp(seg["end"])
        if fmt == "srt":
            start, end = start.replace(".", ","), end.replace(".", ",")
            lines.append(str(i))
        lines += [f"{start} --> {end}", seg["text"].strip(), ""]
    return "\n".join(lines)

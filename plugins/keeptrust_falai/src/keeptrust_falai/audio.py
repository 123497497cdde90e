"""OpenAI speech and transcription requests as fal inputs, and fal's audio answers back. Pure
functions; the backend does the I/O."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import attrs

from keeptrust.context import UploadedFile
from keeptrust.errors import BodyTooLarge, RequestError, UpstreamError
from keeptrust_falai import captions, forms, media
from keeptrust_hf.media import SPEECH_TYPES

# ---------------------------------------------------------------------------------------- speech

# OpenAI's own voices name nothing in a fal TTS app: with one of them the app's default voice is
# used. Any other value is the app's own voice id (kokoro "af_heart", elevenlabs "Rachel", ...).
OPENAI_VOICES = frozenset(
    {"alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse", "marin", "cedar"}
)
_OPENAI_SPEECH_KEYS = frozenset(
    {"model", "input", "voice", "instructions", "response_format", "speed", "stream_format", "stream", "user"}
)
# One table for every backend: OpenAI's speech response_format → Content-Type.
SPEECH_CONTENT_TYPES = MappingProxyType(SPEECH_TYPES)


@attrs.frozen
class SpeechRequest:
    payload: dict[str, Any]
    response_format: str


def speech_request(body: dict[str, Any]) -> SpeechRequest:
    if body.get("stream_format") == "sse":
        raise RequestError(
            "the fal-ai backend returns speech as audio bytes (streamed), not as SSE events; use stream_format 'audio'",
            param="stream_format",
            code="unsupported_parameter",
        )
    text = body["input"]
    # ``text``, as huggingface_hub 2.4.0 sends it (FalAITextToSpeechTask): the fal apps the Hub
    # maps for text-to-speech take it.
    payload: dict[str, Any] = {"text": text}
    voice = body.get("voice")
    if isinstance(voice, dict):
        voice = voice.get("id")
    if isinstance(voice, str) and voice and voice.lower() not in OPENAI_VOICES:
        payload["voice"] = voice
    speed = body.get("speed")
    if speed is not None:
        if not 0.25 <= float(speed) <= 4.0:
            raise RequestError(
                f"'speed' must be between 0.25 and 4.0; got {speed}", param="speed", code="invalid_value"
            )
        payload["speed"] = speed
    fmt = body.get("response_format") or "mp3"
    if fmt not in SPEECH_CONTENT_TYPES:
        raise RequestError(
            f"'response_format' must be one of {', '.join(SPEECH_CONTENT_TYPES)}; got {str(fmt)[:20]!r}",
            param="response_format",
            code="invalid_value",
        )
    payload.update(forms.extras(body, _OPENAI_SPEECH_KEYS, payload))
    return SpeechRequest(payload, fmt)


@attrs.frozen
class AudioOutput:
    """Where fal put the audio: a URL to download or a data URI, and its media type if known."""

    url: str
    content_type: str | None
    size: int | None


def speech_output(result: Any) -> AudioOutput:
    """fal TTS answers ``{"audio": {"url", "content_type", ...}}`` (also ``audio_file`` or a bare URL)."""
    if not isinstance(result, dict):
        raise UpstreamError("fal-ai answered a speech request with something other than a JSON object")
    for key in ("audio", "audio_file", "audio_url", "output"):
        value = result.get(key)
        if isinstance(value, str):
            return AudioOutput(value, None, None)
        if isinstance(value, dict) and isinstance(value.get("url"), str):
            ctype = value.get("content_type") if isinstance(value.get("content_type"), str) else None
            size = value.get("file_size") if isinstance(value.get("file_size"), int) else None
            if ctype is None and isinstance(value.get("file_name"), str):
                ctype = mimetypes.guess_type(value["file_name"])[0]
            return AudioOutput(value["url"], ctype, size)
    raise UpstreamError("fal-ai's speech answer has no 'audio' URL")


# --------------------------------------------------------------------------------- transcription

# The media types fal accepts in an audio data URI, and the labels clients commonly use for them:
# fal refuses audio/wav and audio/webm but reads the same bytes as audio/x-wav and video/webm.
_FAL_AUDIO_TYPES = MappingProxyType(
    {
        "audio/mpeg": "audio/mpeg",
        "audio/mp3": "audio/mpeg",
        "audio/mpga": "audio/mpeg",
        "audio/x-mpeg": "audio/mpeg",
        "audio/wav": "audio/x-wav",
        "audio/x-wav": "audio/x-wav",
        "audio/wave": "audio/x-wav",
        "audio/vnd.wave": "audio/x-wav",
        "audio/webm": "video/webm",
        "video/webm": "video/webm",
    }
)
_EXTENSIONS = MappingProxyType(
    {".mp3": "audio/mpeg", ".mpga": "audio/mpeg", ".mpeg": "audio/mpeg", ".wav": "audio/x-wav", ".webm": "video/webm"}
)
TRANSCRIPTION_FORMATS = ("json", "text", "srt", "verbose_json", "vtt")
_OPENAI_TRANSCRIPTION_KEYS = frozenset(
    {
        "file",
        "model",
        "language",
        "prompt",
        "response_format",
        "temperature",
        "timestamp_granularities",
        "include",
        "stream",
        "chunking_strategy",
    }
)


def _sniff_audio(data: bytes) -> str | None:
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/x-wav"
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "video/webm"
    return None


def audio_media_type(upload: UploadedFile) -> str:
    """The data-URI media type fal accepts for this upload, or a 400 naming the formats it reads."""
    declared = upload.content_type.split(";")[0].strip().lower()
    mime = _FAL_AUDIO_TYPES.get(declared)
    if mime is None:
        suffix = "." + upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else ""
        mime = _EXTENSIONS.get(suffix) or _sniff_audio(upload.data)
    if mime is None:
        raise RequestError(
            f"the fal-ai backend transcribes mp3, wav and webm audio; '{upload.filename or 'file'}' "
            f"({declared or 'unknown type'}) is none of them",
            param="file",
            code="unsupported_audio_format",
        )
    return mime


@attrs.frozen
class TranscriptionRequest:
    payload: dict[str, Any]
    response_format: str
    words: bool


def _granularities(value: Any) -> set[str]:
    items = value if isinstance(value, list) else [value] if value is not None else []
    out = {str(v) for v in items}
    unknown = out - {"word", "segment"}
    if unknown:
        raise RequestError(
            f"'timestamp_granularities' may hold 'word' and 'segment'; got {sorted(unknown)}",
            param="timestamp_granularities",
            code="invalid_value",
        )
    return out


def transcription_request(body: dict[str, Any], *, max_audio_bytes: int, limit_reason: str) -> TranscriptionRequest:
    upload = body["file"]
    if not isinstance(upload, UploadedFile):
        raise RequestError("'file' must be an uploaded audio file", param="file", code="invalid_type")
    if not upload.data:
        raise RequestError("'file' is empty", param="file", code="invalid_value")
    if len(upload.data) > max_audio_bytes:
        raise BodyTooLarge(
            f"the audio file is {len(upload.data)} bytes; the fal-ai backend accepts at most {max_audio_bytes} bytes "
            f"({limit_reason})",
            param="file",
        )
    if body.get("stream") is True:
        # fal's speech-to-text apps answer once; an SSE stream of one event would also bypass the
        # response-phase policies, which only see whole answers and chat deltas.
        raise RequestError(
            "the fal-ai backend does not stream transcriptions; send stream=false",
            param="stream",
            code="unsupported_parameter",
        )
    fmt = body.get("response_format") or "json"
    if fmt not in TRANSCRIPTION_FORMATS:
        raise RequestError(
            f"'response_format' must be one of {', '.join(TRANSCRIPTION_FORMATS)}; got {str(fmt)[:20]!r}",
            param="response_format",
            code="invalid_value",
        )
    # No ``task``: huggingface_hub 2.4.0 sends only ``audio_url`` and the caller's parameters
    # (FalAIAutomaticSpeechRecognitionTask), and whisper apps transcribe by default.
    payload: dict[str, Any] = {"audio_url": media.data_uri(audio_media_type(upload), upload.data)}
    if isinstance(body.get("language"), str) and body["language"]:
        payload["language"] = body["language"]
    if isinstance(body.get("prompt"), str) and body["prompt"]:
        payload["prompt"] = body["prompt"]
    grains = _granularities(body.get("timestamp_granularities"))
    words = "word" in grains
    if words and fmt != "verbose_json":
        raise RequestError(
            "'timestamp_granularities' needs response_format 'verbose_json'",
            param="timestamp_granularities",
            code="invalid_value",
        )
    # fal's whisper apps return one timestamp level: words when asked, else segments.
    if words:
        payload["chunk_level"] = "word"
    elif fmt in ("verbose_json", "srt", "vtt"):
        payload["chunk_level"] = "segment"
    payload.update(forms.extras(body, _OPENAI_TRANSCRIPTION_KEYS, payload))
    return TranscriptionRequest(payload, fmt, words)


TEXT_PLAIN = "text/plain; charset=utf-8"


def text_renderer(response_format: str) -> Callable[[dict[str, Any]], tuple[bytes, str]] | None:
    """For ``text``/``srt``/``vtt``: how the (policy-checked) JSON answer becomes the text sent."""
    if response_format == "text":
        return lambda body: (str(body.get("text", "")).encode("utf-8"), TEXT_PLAIN)
    if response_format == "srt":
        return lambda body: (captions.srt(body.get("segments") or []).encode("utf-8"), TEXT_PLAIN)
    if response_format == "vtt":
        return lambda body: (captions.vtt(body.get("segments") or []).encode("utf-8"), TEXT_PLAIN)
    return None


def _chunks(result: dict[str, Any]) -> list[dict[str, Any]]:
    """fal's ``chunks[{text, timestamp: [s, e]}]`` or ``segments[{text, start, end}]`` as start/end/text."""
    out = []
    for chunk in result.get("chunks") or result.get("segments") or []:
        if not isinstance(chunk, dict) or not isinstance(chunk.get("text"), str):
            continue
        stamp = chunk.get("timestamp")
        if isinstance(stamp, (list, tuple)) and len(stamp) == 2:
            start, end = stamp
        else:
            start, end = chunk.get("start"), chunk.get("end")
        start = float(start) if isinstance(start, (int, float)) else 0.0
        # Whisper leaves the last chunk open-ended (null end) when the audio stops mid-word.
        end = float(end) if isinstance(end, (int, float)) else start
        item = {"start": start, "end": end, "text": chunk["text"]}
        if isinstance(chunk.get("speaker"), str):
            item["speaker"] = chunk["speaker"]
        out.append(item)
    return out


def result_text(result: Any) -> str:
    if isinstance(result, dict):
        for key in ("text", "output", "transcription"):
            if isinstance(result.get(key), str):
                return result[key]
    raise UpstreamError("fal-ai's transcription answer has no 'text'")


def _language(result: dict[str, Any], request_body: dict[str, Any]) -> str | None:
    inferred = result.get("inferred_languages")
    if isinstance(inferred, list) and inferred and isinstance(inferred[0], str):
        return inferred[0]
    language = request_body.get("language")
    return language if isinstance(language, str) and language else None


def transcription_answer(result: Any, request: TranscriptionRequest, request_body: dict[str, Any]) -> dict[str, Any]:
    """The answer as JSON, in the shape response policies read (``text``, ``segments[].text``).
    ``text``, ``srt`` and ``vtt`` are rendered from it afterwards (``text_renderer``), so what a
    policy redacts is what the client gets."""
    text = result_text(result)
    fmt = request.response_format
    if fmt in ("json", "text"):
        return {"text": text}
    chunks = _chunks(result)
    if fmt in ("srt", "vtt"):
        return {"text": text, "segments": chunks or [{"start": 0.0, "end": 0.0, "text": text}]}
    if request.words:
        words = [{"word": c["text"].strip(), "start": c["start"], "end": c["end"]} for c in chunks]
        spans = [{"start": chunks[0]["start"], "end": chunks[-1]["end"], "text": text}] if chunks else []
    else:
        words = None
        spans = chunks
    segments = [
        {
            "id": i,
            "seek": 0,
            "start": s["start"],
            "end": s["end"],
            "text": s["text"],
            "tokens": [],
            "temperature": 0.0,
            "avg_logprob": 0.0,
            "compression_ratio": 0.0,
            "no_speech_prob": 0.0,
        }
        for i, s in enumerate(spans)
    ]
    answer: dict[str, Any] = {
        "task": "transcribe",
        "language": _language(result, request_body) or "unknown",
        "duration": max((s["end"] for s in (chunks or [])), default=0.0),
        "text": text,
        "segments": segments,
    }
    if words is not None:
        answer["words"] = words
    return answer

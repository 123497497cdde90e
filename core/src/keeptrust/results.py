"""What a provider (or a plugin route) returns: the answer in the OpenAI shape.

Public module: plugins import it; the names in ``__all__`` are its API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import attrs


@attrs.define
class JSONResult:
    """A whole JSON answer. ``body`` is a parsed dict; the core encodes it once.

    ``render`` (optional) turns the body, after the response-phase policies, into the bytes and
    content type actually sent: for answers that are text, not JSON (transcriptions as ``text``,
    ``srt``, ``vtt``), so that policies still read and redact them in their JSON form."""

    body: Any
    status: int = 200
    headers: dict[str, str] = attrs.Factory(dict)
    render: Callable[[Any], tuple[bytes, str]] | None = None


@attrs.define
class StreamResult:
    """An SSE answer: ``chunks`` yields ``chat.completion.chunk`` dicts (or other event dicts).

    The core runs the stream filters on ``choices[].delta.content``, encodes each chunk as
    ``data: {...}`` and ends the stream with ``data: [DONE]``. ``aclose`` releases the upstream
    connection and is always awaited, also when the client goes away.
    """

    chunks: AsyncIterator[dict[str, Any]]
    aclose: Callable[[], Any] | None = None
    headers: dict[str, str] = attrs.Factory(dict)
    # Some streams (Responses API, image events) are not chat chunks; ``event_names`` makes the core
    # write ``event: <type>`` lines taken from each dict's ``type`` key. Their text (Responses
    # ``output_text`` deltas and the events that repeat it) still passes the stream filters.
    event_names: bool = False
    done_marker: bool = True
    # Writes the (filtered) chunks in another API's stream format instead of chat chunks (the
    # Anthropic Messages events, legacy completions); see ``StreamEncoder``.
    encoder: StreamEncoder | None = None


class StreamEncoder(Protocol):
    """Turns a stream's chat chunks, after the stream filters, into the bytes sent to the client."""

    def chunk(self, chunk: dict[str, Any]) -> bytes:
        """The events for one chunk (``b""`` when it carries nothing to send)."""

    def end(self) -> bytes:
        """What closes a stream that ended normally."""

    def blocked(self, exc: Any) -> bytes:
        """What closes a stream a policy stopped (``exc`` is the ``PolicyViolation``)."""

    def failed(self, exc: Any) -> bytes:
        """What tells the client the upstream failed mid-stream (``exc`` is the ``GatewayError``)."""


@attrs.define
class BinaryResult:
    """Bytes with a content type (audio, images), whole or as an async iterator of parts."""

    content: bytes | AsyncIterator[bytes]
    content_type: str
    status: int = 200
    headers: dict[str, str] = attrs.Factory(dict)
    aclose: Callable[[], Any] | None = None


Result = JSONResult | StreamResult | BinaryResult

__all__ = [
    "BinaryResult",
    "JSONResult",
    "Result",
    "StreamResult",
]

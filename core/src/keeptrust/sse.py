"""Server-sent events: a tolerant parser for upstream streams and the encoder for the client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import attrs
import orjson

from keeptrust.errors import UpstreamError

# Last-resort bounds of the parser itself; the transport cuts a stream at the target's own, smaller
# max_event_bytes and max_response_bytes before these are reached.
MAX_LINE_BYTES = 16 << 20
MAX_EVENT_BYTES = 32 << 20
DONE = b"data: [DONE]\n\n"


@attrs.frozen
class Event:
    data: str
    event: str | None = None


async def iter_events(chunks: AsyncIterator[bytes]) -> AsyncIterator[Event]:
    """Parse an SSE byte stream. Accepts ``data:`` with or without a space (TGI writes none),
    CRLF or LF line ends, comments and multi-line data. A ``[DONE]`` data line is yielded too."""
    buffer = bytearray()
    scanned = 0  # bytes of buffer known to hold no newline
    data_lines: list[bytes] = []
    data_size = 0
    event_name: bytes | None = None
    async for chunk in chunks:
        buffer += chunk
        start = 0
        while True:
            nl = buffer.find(b"\n", max(start, scanned))
            if nl < 0:
                scanned = len(buffer)
                if len(buffer) - start > MAX_LINE_BYTES:
                    raise UpstreamError("the upstream sent an SSE line over 16 MiB")
                break
            line = bytes(buffer[start:nl])
            start = nl + 1
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                if data_lines:
                    yield Event(
                        b"\n".join(data_lines).decode("utf-8", "replace"), event_name.decode() if event_name else None
                    )
                data_lines = []
                data_size = 0
                event_name = None
                continue
            if line.startswith(b":"):
                continue
            field, _, value = line.partition(b":")
            if value.startswith(b" "):
                value = value[1:]
            if field == b"data":
                data_lines.append(value)
                data_size += len(value)
                if data_size > MAX_EVENT_BYTES:
                    raise UpstreamError("the upstream sent an SSE event over 32 MiB")
            elif field == b"event":
                event_name = value
        del buffer[:start]
        scanned = max(scanned - start, 0)
    buffer = bytes(buffer)
    if buffer.strip():
        line = buffer.rstrip(b"\r\n")
        if line.startswith(b"data:"):
            value = line[5:]
            data_lines.append(value[1:] if value.startswith(b" ") else value)
    if data_lines:
        yield Event(b"\n".join(data_lines).decode("utf-8", "replace"), event_name.decode() if event_name else None)


def encode(payload: dict[str, Any], event: str | None = None) -> bytes:
    body = b"data: " + orjson.dumps(payload) + b"\n\n"
    if event:
        return b"event: " + event.encode() + b"\n" + body
    return body

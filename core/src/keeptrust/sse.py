"""Server-sent events: a tolerant parser for upstream streams and the encoder for the client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import attrs
import orjson

from keeptrust.errors import UpstreamError

MAX_LINE_BYTES = 1 << 20  # one SSE line from an upstream; beyond it the upstream is broken
DONE = b"data: [DONE]\n\n"


@attrs.frozen
class Event:
    data: str
    event: str | None = None


async def iter_events(chunks: AsyncIterator[bytes]) -> AsyncIterator[Event]:
    """Parse an SSE byte stream. Accepts ``data:`` with or without a space (TGI writes none),
    CRLF or LF line ends, comments and multi-line data. A ``[DONE]`` data line is yielded too."""
    buffer = b""
    data_lines: list[bytes] = []
    event_name: bytes | None = None
    async for chunk in chunks:
        buffer += chunk
        while True:
            nl = buffer.find(b"\n")
            if nl < 0:
                if len(buffer) > MAX_LINE_BYTES:
                    raise UpstreamError("the upstream sent an SSE line over 1 MiB")
                break
            line = buffer[:nl]
            buffer = buffer[nl + 1 :]
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                if data_lines:
                    yield Event(
                        b"\n".join(data_lines).decode("utf-8", "replace"), event_name.decode() if event_name else None
                    )
                data_lines = []
                event_name = None
                continue
            if line.startswith(b":"):
                continue
            field, _, value = line.partition(b":")
            if value.startswith(b" "):
                value = value[1:]
            if field == b"data":
                data_lines.append(value)
            elif field == b"event":
                event_name = value
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

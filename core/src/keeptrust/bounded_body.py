"""Reading an upstream answer within its bounds: the whole answer, and one event-stream line.

``keeptrust.transport.Upstream`` wraps every successful answer's byte stream in ``BoundedBody``
before anything reads it, so an upstream that sends too much is cut off while the bytes arrive."""

from __future__ import annotations

from typing import Any

import httpx

MIB = 1 << 20


def size_text(n: int) -> str:
    return f"{n / MIB:g} MiB" if n >= MIB and n % (MIB // 4) == 0 else f"{n} bytes"


class BoundedBody(httpx.AsyncByteStream):
    """An upstream answer's raw bytes, cut off once they pass the target's bounds: the whole answer
    (``limit``) and, for an event stream, one line (``line_limit``). Raising here stops the read
    before the bytes are buffered anywhere; the unfinished response is closed, so its connection is
    dropped rather than drained."""

    def __init__(self, inner: Any, *, limit: int, line_limit: int, sse: bool, too_large: Any) -> None:
        self.inner = inner
        self.limit = limit
        self.line_limit = line_limit
        self.sse = sse
        self.too_large = too_large

    async def __aiter__(self) -> Any:
        total = 0
        line = 0  # bytes since the last newline
        async for chunk in self.inner:
            total += len(chunk)
            if total > self.limit:
                raise self.too_large(self.limit)
            if self.sse:
                first = chunk.find(b"\n")
                if first < 0:
                    line += len(chunk)
                else:
                    longest = line + first
                    if len(chunk) > self.line_limit:  # rare: only then can a whole line sit inside
                        longest = max(longest, *(len(part) for part in chunk.split(b"\n")[1:-1]), 0)
                    line = len(chunk) - chunk.rfind(b"\n") - 1
                    if longest > self.line_limit:
                        raise self.too_large(self.line_limit, "line")
                if line > self.line_limit:
                    raise self.too_large(self.line_limit, "line")
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()

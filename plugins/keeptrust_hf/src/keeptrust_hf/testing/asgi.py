"""The little ASGI plumbing the fakes share: a recorded request, a response, faults, and the loop
that reads a request and writes an answer."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

import attrs
import orjson
import trio

from keeptrust.demo.asgi import accept

# The smallest valid files of each kind, so answers are recognisable by their magic bytes.
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)
FLAC = b"fLaC\x00\x00\x00\x22" + b"\x00" * 34
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" + b"\x00" * 64
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 24


@attrs.define
class FakeRequest:
    """One request a fake received: what tests assert on."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    raw: bytes
    json: Any = None
    base_url: str = ""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@attrs.define
class FakeResponse:
    status: int = 200
    body: Any = None  # dict/list → JSON; bytes → as is; async iterator of bytes → streamed
    headers: dict[str, str] = attrs.Factory(dict)
    content_type: str | None = None


@attrs.define
class Fault:
    """A misbehaviour for the next ``times`` requests whose path starts with ``path``."""

    path: str
    status: int
    body: Any = None
    headers: dict[str, str] = attrs.Factory(dict)
    times: int = 1


Handler = Callable[[FakeRequest], Awaitable[FakeResponse]]


class FakeApp:
    """Base ASGI app: records requests, applies faults, then calls ``route``."""

    def __init__(self, keep: int = 2000) -> None:
        self.requests: deque[FakeRequest] = deque(maxlen=keep)
        self.faults: list[Fault] = []

    def fail_next(
        self, path: str, status: int, body: Any = None, headers: dict[str, str] | None = None, times: int = 1
    ) -> None:
        self.faults.append(Fault(path, status, body, dict(headers or {}), times))

    def requests_to(self, prefix: str) -> list[FakeRequest]:
        return [r for r in self.requests if r.path.startswith(prefix)]

    @property
    def last(self) -> FakeRequest:
        return self.requests[-1]

    async def route(self, request: FakeRequest) -> FakeResponse:  # pragma: no cover - overridden
        return FakeResponse(404, {"error": "no route"})

    def _fault(self, path: str) -> Fault | None:
        for fault in self.faults:
            if path.startswith(fault.path):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        incoming = await accept(scope, receive, send)
        if incoming is None:
            return
        host, port = incoming.server
        request = FakeRequest(
            incoming.method,
            incoming.path,
            parse_qs(incoming.query.decode()),
            incoming.headers,
            incoming.raw,
            incoming.json,
            f"http://{host}:{port}",
        )
        self.requests.append(request)
        fault = self._fault(request.path)
        if fault is not None:
            response = FakeResponse(
                fault.status,
                fault.body if fault.body is not None else {"error": f"injected {fault.status}"},
                fault.headers,
            )
        else:
            response = await self.route(request)
        await write(send, response)


async def write(send: Any, response: FakeResponse) -> None:
    body = response.body
    headers = dict(response.headers)
    if isinstance(body, (dict, list)):
        data = orjson.dumps(body)
        ctype = response.content_type or "application/json"
    elif isinstance(body, (bytes, str)):
        data = body.encode() if isinstance(body, str) else body
        ctype = response.content_type or "application/octet-stream"
    else:
        ctype = response.content_type or "text/event-stream"
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": [(b"content-type", ctype.encode()), *_encode(headers)],
            }
        )
        async for part in body:
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    head = [(b"content-type", ctype.encode()), (b"content-length", str(len(data)).encode()), *_encode(headers)]
    await send({"type": "http.response.start", "status": response.status, "headers": head})
    await send({"type": "http.response.body", "body": data})


def _encode(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode(), v.encode()) for k, v in headers.items()]


async def sse(events: list[Any], *, space: bool = True, done: bool = True, delay: float = 0.0) -> AsyncIterator[bytes]:
    """Events as SSE; ``space=False`` writes ``data:{...}`` as TGI does; ``done`` adds ``[DONE]``."""
    prefix = b"data: " if space else b"data:"
    for event in events:
        yield prefix + (event if isinstance(event, bytes) else orjson.dumps(event)) + b"\n\n"
        if delay:
            await trio.sleep(delay)
    if done:
        yield prefix + b"[DONE]\n\n"


def hf_error(status: int, message: str, **headers: str) -> FakeResponse:
    return FakeResponse(status, {"error": message}, dict(headers))

"""Reading requests within limits, and writing responses. Hypercorn's defaults are not enough for
an edge service (it buffers any body size and has no whole-body deadline): the body limit and
deadline are enforced here."""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
import trio

from keeptrust.errors import (
    BodyTimeout,
    BodyTooLarge,
    GatewayError,
    HeadersTooLarge,
    RequestError,
    UnsupportedMediaType,
)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
JSON_TYPE = b"application/json"


class ClientGone(Exception):
    """The client disconnected before its request was read."""


def header_map(scope: Scope, max_bytes: int, max_count: int) -> dict[bytes, bytes]:
    """Lower-cased headers (last one wins), after checking total size and count (→ 431)."""
    raw = scope["headers"]
    if len(raw) > max_count:
        raise HeadersTooLarge(f"the request has {len(raw)} headers; the limit is {max_count}")
    total = 0
    out: dict[bytes, bytes] = {}
    for k, v in raw:
        total += len(k) + len(v)
        out[k] = v
    if total > max_bytes:
        raise HeadersTooLarge(f"the request headers are larger than {max_bytes} bytes")
    return out


def request_id(headers: Mapping[bytes, bytes], default: str | None = None) -> str:
    """The client's ``x-request-id`` when well-formed, else ``default`` (or a new id)."""
    given = headers.get(b"x-request-id")
    if given:
        try:
            text = given.decode("ascii")
        except UnicodeDecodeError:
            text = ""
        if _REQUEST_ID.match(text):
            return text
    return default or "req_" + os.urandom(12).hex()


async def read_body(receive: Receive, headers: Mapping[bytes, bytes], limit: int, timeout: float) -> bytes:
    """The whole body, never buffering past ``limit`` (413) and within ``timeout`` (408)."""
    if b"transfer-encoding" in headers and b"content-length" in headers:
        # Ambiguous framing is how requests get smuggled; refuse it outright.
        raise RequestError("the request has both Content-Length and Transfer-Encoding", code="ambiguous_framing")
    declared = headers.get(b"content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise RequestError("Content-Length is not a number", code="bad_content_length") from None
        if size > limit:
            raise BodyTooLarge(f"the request body is {size} bytes; the limit is {limit} bytes")
    parts: list[bytes] = []
    total = 0
    with trio.move_on_after(timeout) as scope:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone()
            chunk = message.get("body", b"")
            if chunk:
                total += len(chunk)
                if total > limit:
                    raise BodyTooLarge(f"the request body is over the limit of {limit} bytes")
                parts.append(chunk)
            if not message.get("more_body", False):
                break
    if scope.cancelled_caught:
        raise BodyTimeout(f"the request body did not arrive within {timeout:g}s")
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _depth_ok(raw: bytes, limit: int) -> bool:
    # A cheap scan: brackets inside strings only make the estimate larger, never smaller.
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return True
    depth = 0
    in_string = False
    escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return False
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return True


def parse_json(raw: bytes, headers: Mapping[bytes, bytes], max_depth: int) -> dict[str, Any]:
    ctype = headers.get(b"content-type", b"")
    if ctype and not (ctype.startswith(JSON_TYPE) or b"+json" in ctype):
        raise UnsupportedMediaType(
            f"expected Content-Type application/json; got {ctype.decode('latin-1')[:100]!r}",
            code="unsupported_media_type",
        )
    if not raw:
        raise RequestError("the request body is empty; expected a JSON object", code="invalid_json")
    if not _depth_ok(raw, max_depth):
        raise RequestError(f"the JSON body is nested deeper than {max_depth} levels", code="invalid_json")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise RequestError(
            f"the request body is not valid JSON: {exc.msg} (at byte {exc.pos})", code="invalid_json"
        ) from None
    if not isinstance(body, dict):
        raise RequestError("the request body must be a JSON object", code="invalid_json")
    return body


def _headers(
    content_type: bytes, extra: Mapping[str, str] | None, rid: str | None, length: int | None
) -> list[tuple[bytes, bytes]]:
    out = [(b"content-type", content_type)]
    if length is not None:
        out.append((b"content-length", str(length).encode()))
    if rid:
        out.append((b"x-request-id", rid.encode()))
    if extra:
        out.extend((k.encode("latin-1"), str(v).encode("latin-1")) for k, v in extra.items())
    return out


async def send_bytes(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes = JSON_TYPE,
    *,
    headers: Mapping[str, str] | None = None,
    rid: str | None = None,
) -> None:
    await send(
        {"type": "http.response.start", "status": status, "headers": _headers(content_type, headers, rid, len(body))}
    )
    await send({"type": "http.response.body", "body": body})


async def send_json(
    send: Send, status: int, payload: Any, *, headers: Mapping[str, str] | None = None, rid: str | None = None
) -> None:
    await send_bytes(send, status, orjson.dumps(payload), headers=headers, rid=rid)


async def send_error(send: Send, error: GatewayError, rid: str | None = None) -> None:
    await send_bytes(send, error.status, error.body(), headers=error.headers, rid=rid)


async def start_stream(
    send: Send, status: int, content_type: bytes, headers: Mapping[str, str] | None, rid: str | None
) -> None:
    hdrs = _headers(content_type, headers, rid, None)
    if content_type.startswith(b"text/event-stream"):
        hdrs.append((b"cache-control", b"no-cache"))
    await send({"type": "http.response.start", "status": status, "headers": hdrs})

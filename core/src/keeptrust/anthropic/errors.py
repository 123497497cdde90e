"""Gateway errors in Anthropic's shape: ``{"type": "error", "error": {"type", "message"},
"request_id"}`` with the status Anthropic clients act on (the SDK retries 429, 5xx and 529).

    400 invalid_request_error (also policy blocks, 405, 408, 415, 431)
    401 authentication_error        403 permission_error     404 not_found_error
    413 request_too_large           429 rate_limit_error     500/502 api_error
    503 → 529 overloaded_error      504 timeout_error
"""

from __future__ import annotations

import orjson

from keeptrust.errors import GatewayError

_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def status_and_type(exc: GatewayError) -> tuple[int, str]:
    status = exc.status
    if status == 503:
        # Anthropic's "overloaded" status: its clients back off and retry it.
        status = 529
    kind = _TYPES.get(status)
    if kind is None:
        kind = "invalid_request_error" if 400 <= status < 500 else "api_error"
    return status, kind


def error_body(exc: GatewayError, request_id: str | None) -> tuple[int, bytes]:
    status, kind = status_and_type(exc)
    payload = {"type": "error", "error": {"type": kind, "message": exc.message}, "request_id": request_id}
    return status, orjson.dumps(payload)

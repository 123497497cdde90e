"""Building one audit record from a finished request's context.

This runs on the request path, so it only gathers references into a dict: serialising, scrubbing and
hashing happen later in the writer task (``hashchain.Sealer``). Bodies are the ones the policies left
behind, i.e. after every redaction; decisions carry policy, action, reason and counts, never text.
"""

from __future__ import annotations

import functools
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from keeptrust.context import IMAGE_EDIT, IMAGES, MODELS

if TYPE_CHECKING:
    from keeptrust.audit.config import AuditLoggerConfig
    from keeptrust.config.model import Pack
    from keeptrust.context import RequestContext

REQUEST = "request"
ACCESS = "access"


@functools.lru_cache(maxsize=4)
def _second(whole: int) -> str:
    # Records of one second share this prefix; formatting a datetime per record was a visible cost.
    return time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(whole))


# The record fields a table sink copies into columns of their own for queries (``kt audit query``,
# the console); verification checks each against the hashed record.
COLUMNS = ("chain", "seq", "ts", "type", "request_id", "status", "model", "target", "role", "endpoint")


def rfc3339(epoch: float) -> str:
    """UTC with milliseconds, e.g. ``2026-11-26T13:20:00.123Z``."""
    whole = int(epoch)
    return f"{_second(whole)}{int((epoch - whole) * 1000):03d}Z"


def parse_ts(text: str) -> float:
    """The inverse of ``rfc3339``: epoch seconds."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


def is_access_event(ctx: RequestContext) -> bool:
    """Requests answered before the policy chain ran (401, bad body, unknown model) and model listings."""
    return ctx.operation == MODELS or not ctx.reached_chain


def build_record(ctx: RequestContext, config: AuditLoggerConfig, pack: Pack) -> dict[str, Any]:
    record: dict[str, Any] = {
        "type": ACCESS if is_access_event(ctx) else REQUEST,
        "ts": rfc3339(time.time()),
        "started": rfc3339(ctx.started_wall),
        "request_id": ctx.request_id,
        "pack": {"name": pack.name, "version": pack.version},
        "role": ctx.role,
        "key_id": ctx.key_id,
        "target": ctx.target.id if ctx.target is not None else None,
        "model": ctx.model,
        "upstream_model": ctx.upstream_model,
        "endpoint": ctx.endpoint,
        "operation": ctx.operation,
        "stream": ctx.stream,
        "status": ctx.status,
        "cancelled": ctx.cancelled,
        "latency_ms": ctx.latency_ms,
        "ttfb_ms": ctx.ttfb_ms if ctx.stream else None,
        "usage": ctx.usage.to_dict(),
        "upstream_attempts": ctx.upstream_attempts,
        "upstream": (
            {"url": ctx.upstream_url, "backend": ctx.upstream_backend, "region": ctx.upstream_region}
            if ctx.upstream_url is not None
            else None
        ),
        "request_bytes": ctx.request_size,
        "response_bytes": ctx.response_size,
    }
    route = ctx.route
    if route is not None:
        # A target group answered: which group, the member that answered, and every attempt.
        record["route"] = route
    if ctx.error_code is not None or ctx.error_message is not None:
        # Core error messages are built from names and counts only (errors.py), never request text.
        record["error"] = {"code": ctx.error_code, "message": ctx.error_message}
    if config.include_policy_decisions:
        record["decisions"] = [d.to_dict() for d in ctx.decisions]
    if config.include_request:
        record["request"] = _without_media(ctx.body)
    if config.include_response:
        if ctx.stream:
            record["response"] = {"text": ctx.response_text} if ctx.response_text is not None else None
        elif ctx.operation in (IMAGES, IMAGE_EDIT):
            record["response"] = _without_media(ctx.response_body)
        else:
            record["response"] = ctx.response_body
    return record


def _without_media(value: Any) -> Any:
    """Images travel as base64 (``b64_json``, ``data:`` URIs): the audit keeps their size, never the bytes."""
    if isinstance(value, dict):
        return {
            k: {"bytes": len(v)} if k == "b64_json" and isinstance(v, str) else _without_media(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_without_media(v) for v in value]
    if isinstance(value, str) and value.startswith("data:") and ";base64," in value[:100]:
        return {"data_uri": value[: value.index(",")], "bytes": len(value)}
    return value

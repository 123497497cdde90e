"""Log formats: the default human lines, or one JSON object per line (``--log-format json``,
``server.log_format: json``), and the access line every request gets.

Every line passes the ``RedactingFilter`` (secrets scrubbed from the message and traceback); a JSON
line is scrubbed once more as a whole, so no field (a client's request id included) carries a
configured secret either.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import orjson

from keeptrust import metrics

if TYPE_CHECKING:
    from keeptrust.context import RequestContext
    from keeptrust.secrets import Redactor

FORMATS = ("human", "json")
HUMAN_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"

access_logger = logging.getLogger("keeptrust.access")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts`` (RFC 3339, UTC), ``level``, ``logger``, ``pid``,
    ``message``, the access fields of a request line, and ``exc`` for a traceback."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"
        line: dict[str, Any] = {
            "ts": ts,
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        fields = getattr(record, "access", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc"] = record.exc_text
        text = orjson.dumps(line, default=str).decode()
        return self.redactor(text) if self.redactor is not None else text


def formatter(fmt: str, redactor: Redactor | None = None) -> logging.Formatter:
    if fmt == "json":
        return JsonFormatter(redactor)
    return logging.Formatter(HUMAN_FORMAT)


def access_fields(ctx: RequestContext, method: str, route: str) -> dict[str, Any]:
    """What the access line says about a finished request (never a body, header or secret)."""
    outcome, policy = metrics.outcome_of(ctx)
    fields: dict[str, Any] = {
        "event": "request",
        "request_id": ctx.request_id,
        "method": method,
        "route": route,
        "operation": ctx.operation,
        "status": ctx.status,
        "outcome": outcome,
        "latency_ms": ctx.latency_ms,
        "target": ctx.target.id if ctx.target is not None else None,
        "model": ctx.model,
        "stream": ctx.stream,
        "upstream_attempts": ctx.upstream_attempts,
    }
    if policy:
        fields["blocked_by"] = policy
    if ctx.decisions:
        fields["decisions"] = [f"{d.policy}:{d.action}" for d in ctx.decisions]
    if ctx.stream and ctx.ttfb_ms is not None:
        fields["ttfb_ms"] = ctx.ttfb_ms
    if ctx.error_code:
        fields["error_code"] = ctx.error_code
    if ctx.key_id:
        fields["key_id"] = ctx.key_id
    if ctx.role:
        fields["role"] = ctx.role
    if ctx.client:
        fields["client"] = ctx.client
    return fields


def log_access(ctx: RequestContext, method: str, route: str) -> None:
    """The request's access line (INFO, logger ``keeptrust.access``)."""
    if not access_logger.isEnabledFor(logging.INFO):
        return
    fields = access_fields(ctx, method, route)
    extra = f" blocked_by={fields['blocked_by']}" if "blocked_by" in fields else ""
    access_logger.info(
        "%s %s %s -> %s %s target=%s %sms%s",
        fields["request_id"],
        method,
        route,
        fields["status"],
        fields["outcome"],
        fields["target"] or "-",
        fields["latency_ms"],
        extra,
        extra={"access": fields},
    )


__all__ = ["FORMATS", "JsonFormatter", "access_fields", "formatter", "log_access"]

"""What happened to a request, derived from its audit record (status, error code, decisions)."""

from __future__ import annotations

from typing import Any

ANSWERED = "answered"
UPSTREAM_ERROR = "upstream error"
REFUSED = "refused at the edge"
CLIENT_ERROR = "client error"
CANCELLED = "cancelled"
BLOCKED_PREFIX = "blocked by "

# The error codes the gateway gives when the upstream, not the caller or a policy, failed.
UPSTREAM_CODES = frozenset({"bad_gateway", "model_loading", "upstream_timeout", "upstream_error"})

# Chart colours by outcome family; the page's legend names them.
FAMILIES = ("answered", "blocked", "upstream error", "refused", "other")


def enforced_blocks(record: dict[str, Any]) -> list[str]:
    """Policies whose enforced block decided this request (shadow-mode blocks only flag)."""
    out = []
    for d in record.get("decisions") or ():
        if isinstance(d, dict) and d.get("action") == "block" and d.get("mode", "enforce") == "enforce":
            out.append(str(d.get("policy")))
    return out


def outcome(record: dict[str, Any]) -> str:
    """One of: answered, ``blocked by <policy>``, upstream error, refused at the edge (the gateway
    answered before the policy chain ran: bad key, bad body, unknown model), client error, cancelled."""
    blocks = enforced_blocks(record)
    if blocks:
        return BLOCKED_PREFIX + blocks[0]
    status = record.get("status")
    error = record.get("error") if isinstance(record.get("error"), dict) else {}
    if error.get("code") in UPSTREAM_CODES or (isinstance(status, int) and status >= 500):
        return UPSTREAM_ERROR
    if isinstance(status, int) and status >= 400:
        return REFUSED if record.get("type") == "access" else CLIENT_ERROR
    if record.get("cancelled"):
        return CANCELLED
    return ANSWERED


def family(outcome_name: str) -> str:
    if outcome_name == ANSWERED:
        return "answered"
    if outcome_name.startswith(BLOCKED_PREFIX):
        return "blocked"
    if outcome_name == UPSTREAM_ERROR:
        return "upstream error"
    if outcome_name in (REFUSED, CLIENT_ERROR):
        return "refused"
    return "other"

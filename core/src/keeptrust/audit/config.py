"""The ``audit-logger`` policy block (``policies.policy.audit-logger``)."""

from __future__ import annotations

from typing import Any, Literal

import attrs

from keeptrust.config.model import SecretRef
from keeptrust.policy import PolicyConfig

# The collector URL for ``destination: api`` when the block names no ``endpoint`` (so a config such
# as the full-governance example config validates, and the URL is set per deployment).
ENDPOINT_ENV = "KEEPTRUST_AUDIT_API_URL"


@attrs.frozen(kw_only=True)
class AuditLoggerConfig(PolicyConfig):
    """Every key of the audit-logger block; see docs/audit.md for each one with an example."""

    # Which registered audit sink receives the records: jsonl (default), sqlite, api, or a plugin's.
    destination: str = "jsonl"
    # Where the embedded sinks keep their files (and where the api sink spools).
    directory: str = "./keeptrust-audit"
    # Hash-chain every record (seq, prev_hash, hash) and keep a durable chain head.
    immutable: bool = True
    # Whole segments older than this are pruned (an anchor keeps the chain verifiable). None: keep all.
    retention_days: float | None = None
    # Also record requests stopped before the policy chain: 401s, bad bodies, unknown models, /v1/models.
    log_all_access: bool = False
    include_request: bool = False
    include_response: bool = False
    include_policy_decisions: bool = True
    # Sign every durable chain head and retention anchor with HMAC-SHA-256 under this key ({env: NAME}),
    # so `kt audit verify --key-env NAME` detects a consistent rewrite by anyone without the key.
    signing_key_ref: SecretRef | None = None
    # The id written beside each signature (default: a fingerprint of the key); see key rotation.
    signing_key_id: str | None = None
    # destination: api
    endpoint: str | None = None
    secret_key_ref: SecretRef | None = None
    # The writer queue between the request path and the writer task.
    queue_size: int = 10_000
    on_full: Literal["block", "drop_and_count"] = "block"
    # batch: fsync each batch (group commit); interval: fsync at most every fsync_interval_ms;
    # every_record: fsync after each record.
    fsync: Literal["batch", "interval", "every_record"] = "batch"
    fsync_interval_ms: int = 1000
    batch_max_records: int = 512
    # Each batch costs a thread hop, a write, an fsync and a head update: at 25 ms a busy gateway writes
    # ~40 batches a second, and the audit log costs a few percent of throughput (5 ms cost ~20%).
    batch_max_delay_ms: float = 25.0
    # Hold each answer (a stream's final [DONE]) until its record is durable; batches are then committed
    # at once (no batch_max_delay_ms wait), and requests arriving during an fsync share the next one.
    durable_before_response: bool = False
    segment_max_bytes: int = 64 * 1024 * 1024
    segment_max_age_hours: float = 24.0
    prune_interval_minutes: float = 60.0
    # Options of the chosen sink, structured into that sink's own config class.
    sink: dict[str, Any] = attrs.Factory(dict)


def check(config: AuditLoggerConfig) -> list[str]:
    """Value checks the types cannot express; each message starts with the key's name."""
    errors = []
    positive = {
        "queue_size": config.queue_size,
        "batch_max_records": config.batch_max_records,
        "segment_max_bytes": config.segment_max_bytes,
        "fsync_interval_ms": config.fsync_interval_ms,
    }
    for key, value in positive.items():
        if value < 1:
            errors.append(f"{key}: must be at least 1; got {value}")
    if config.batch_max_delay_ms < 0:
        errors.append(f"batch_max_delay_ms: must not be negative; got {config.batch_max_delay_ms:g}")
    if config.segment_max_age_hours <= 0:
        errors.append(f"segment_max_age_hours: must be positive; got {config.segment_max_age_hours:g}")
    if config.prune_interval_minutes <= 0:
        errors.append(f"prune_interval_minutes: must be positive; got {config.prune_interval_minutes:g}")
    if config.retention_days is not None and config.retention_days < 0:
        errors.append(f"retention_days: must not be negative; got {config.retention_days:g}")
    if config.endpoint is not None and not config.endpoint.startswith(("http://", "https://")):
        errors.append(f"endpoint: expected an http:// or https:// URL; got {config.endpoint!r}")
    if config.destination != "api" and (config.endpoint is not None or config.secret_key_ref is not None):
        key = "endpoint" if config.endpoint is not None else "secret_key_ref"
        errors.append(f"{key}: only used with destination: api (destination is {config.destination!r})")
    if config.signing_key_id is not None and config.signing_key_ref is None:
        errors.append("signing_key_id: only used with signing_key_ref")
    if config.signing_key_id is not None and not config.signing_key_id.strip():
        errors.append("signing_key_id: must not be empty")
    if config.durable_before_response:
        if config.fsync == "interval":
            errors.append(
                "durable_before_response: needs fsync: batch or every_record (with fsync: interval a record "
                "is written before it is durable)"
            )
        if config.on_full == "drop_and_count":
            errors.append(
                "durable_before_response: every answer waits for its record, so on_full: drop_and_count "
                "cannot apply; use on_full: block"
            )
    return errors

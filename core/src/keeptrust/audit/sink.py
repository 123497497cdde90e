"""What the audit writer hands a sink, and what a sink may offer beyond ``write``/``aclose``.

Sinks are registered through ``register_audit_sinks`` (built-in ones too, see
``keeptrust.builtins.audit_sinks``). Required: ``name``, ``config_class`` (structured from the
audit-logger block's ``sink:`` options), ``__init__(config, env: SinkEnv)``, ``async write(records)``
(returns once the records are as durable as the sink promises) and ``async aclose()``. Optional:

- ``async open() -> OpenedChain``: the chain the sink resumes (its durable head), so the writer numbers
  and links new records after it. Without it the writer starts a fresh chain at every start.
- ``async run(task_status)``: a background task (periodic fsync, delivery to a collector), started in
  the writer's nursery after ``open`` and cancelled after ``aclose``.
- ``async prune(now) -> int``: apply ``retention_days``; returns the number of records pruned.
- ``schemes`` (a tuple of URL schemes) and a class method ``open_log(location, writable=False) ->
  TableDB``: the
  sink keeps its log in the audit tables of a database reachable by URL, and ``kt audit
  verify|tail|query|prune`` read it there (``keeptrust.audit.locations``, ``keeptrust.audit.tables``).

Public module: plugins import it; the names in ``__all__`` are its API.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from keeptrust.audit.config import AuditLoggerConfig
from keeptrust.audit.hashchain import GENESIS, ChainState, canonical
from keeptrust.audit.segments import new_chain_id
from keeptrust.audit.signing import SigningKey


@attrs.frozen
class SinkEnv:
    audit: AuditLoggerConfig
    logger: logging.Logger
    environ: Mapping[str, str]
    redact: Callable[[str], str] | None = None
    # Secrets a sink resolved for itself are added here so logs scrub them too.
    add_secret: Callable[[str], None] = lambda _value: None
    # From ``signing_key_ref``: a sink that keeps a chain head (or anchors) signs each one with it.
    signer: SigningKey | None = None


@attrs.define
class OpenedChain:
    state: ChainState
    # Set when the sink repaired a torn last line left by a crash; written as a ``recovery`` record.
    recovery: dict[str, Any] | None = None
    resumed: bool = False


__all__ = [
    # What a sink that keeps its own chain head needs: the genesis hash, the chain state it resumes,
    # canonical JSON (the bytes a hash covers) and a new chain id (one per writer process).
    "GENESIS",
    "ChainState",
    "OpenedChain",
    "SinkEnv",
    "canonical",
    "new_chain_id",
]

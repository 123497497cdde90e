"""Audit logging: records, the hash chain, segments, the writer queue, sinks, verification, retention.

The ``audit-logger`` policy (``keeptrust.builtins.audit_policy``) uses these; the ``kt audit``
commands (``keeptrust.builtins.audit_commands``) read, verify and prune what they wrote.
"""

from keeptrust.audit.config import AuditLoggerConfig
from keeptrust.audit.hashchain import GENESIS, canonical, record_hash
from keeptrust.audit.sink import OpenedChain, SinkEnv
from keeptrust.audit.verify import ChainReport, verify_path

__all__ = [
    "GENESIS",
    "AuditLoggerConfig",
    "ChainReport",
    "OpenedChain",
    "SinkEnv",
    "canonical",
    "record_hash",
    "verify_path",
]

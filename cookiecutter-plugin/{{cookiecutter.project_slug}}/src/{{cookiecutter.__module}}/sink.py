"""Audit sink ``{{ cookiecutter.__name }}``: appends audit records to a JSON-lines file.

Select it in the ``audit-logger`` policy of ``policy-config.yaml``::

    policies:
      chain: [audit-logger]
      policy:
        audit-logger:
          destination: {{ cookiecutter.__name }}
          sink:
            path: /var/log/keeptrust/audit.jsonl
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import attrs
import trio


@attrs.frozen(kw_only=True)
class {{ cookiecutter.__class }}SinkConfig:
    """The ``sink`` options of the audit-logger block; unknown keys are start-up errors."""

    path: str = "keeptrust-audit.jsonl"
    # fsync after every batch: a record the gateway reported written survives a power cut.
    fsync: bool = True


class {{ cookiecutter.__class }}Sink:
    name = "{{ cookiecutter.__name }}"
    config_class = {{ cookiecutter.__class }}SinkConfig

    def __init__(self, config: {{ cookiecutter.__class }}SinkConfig, env: Any) -> None:
        self.config = config
        self.env = env
        self.path = Path(config.path)
        # Fail at start-up, not on the first request, when the directory cannot be created.
        self.path.parent.mkdir(parents=True, exist_ok=True)

    async def write(self, records: list[dict[str, Any]]) -> None:
        """Called by the audit writer task (never the request path) with a batch of records."""
        data = "".join(json.dumps(record, sort_keys=True, default=str) + "\n" for record in records)
        # File writes and fsync block: run them in a thread so the event loop keeps serving.
        await trio.to_thread.run_sync(self._append, data)

    def _append(self, data: str) -> None:
        with self.path.open("a", encoding="utf-8") as f:
            f.write(data)
            f.flush()
            if self.config.fsync:
                os.fsync(f.fileno())

    async def aclose(self) -> None:
        # Every write is already on disk; a sink holding a connection or a buffer closes it here.
        return None

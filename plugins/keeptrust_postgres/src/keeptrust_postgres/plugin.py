"""Registers the ``postgres`` audit sink (and ``kt audit`` on ``postgresql://`` locations)."""

from __future__ import annotations

from typing import Any

from keeptrust.hookspecs import hookimpl
from keeptrust_postgres.sink import PostgresSink


@hookimpl
def register_audit_sinks(register: Any) -> None:
    register(PostgresSink)

"""The built-in audit sinks, registered through the same hook a third-party sink plugin uses."""

from __future__ import annotations

from typing import Any

from keeptrust.audit.api_sink import ApiSink
from keeptrust.audit.jsonl_sink import JsonlSink
from keeptrust.audit.sqlite_sink import SqliteSink
from keeptrust.hookspecs import hookimpl


@hookimpl
def register_audit_sinks(register: Any) -> None:
    register(JsonlSink)
    register(SqliteSink)
    register(ApiSink)

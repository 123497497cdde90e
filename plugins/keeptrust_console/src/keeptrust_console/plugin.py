"""Adds ``serve`` to the core's ``kt audit`` group."""

from __future__ import annotations

from typing import Any

from keeptrust.hookspecs import hookimpl


@hookimpl
def register_commands(cli: Any) -> None:
    # The same group object whichever plugin registers first: the core's ``kt audit``.
    from keeptrust.builtins.audit_commands import audit
    from keeptrust_console.command import serve

    audit.add_command(serve)

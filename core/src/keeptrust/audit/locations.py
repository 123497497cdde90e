"""Where ``kt audit`` (and anything else that reads a log) finds it: a path (a log directory, one
chain's directory, a SQLite file) or a URL that an installed sink can open.

A sink that writes to a database reachable by URL declares the schemes it reads (``schemes``) and
a class method ``open_log(location, writable=False) -> keeptrust.audit.tables.TableDB`` (read-only
unless ``writable``, which retention needs); keeptrust-postgres does
so for ``postgresql://``. Everything else about verifying, querying and pruning such a log is the
core's ``keeptrust.audit.tables``.

Public module: plugins import it; the names in ``__all__`` are its API.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from keeptrust.audit.tables import TableDB

__all__ = ["UnknownLocation", "is_url", "open_table_log", "scheme_of"]


class UnknownLocation(LookupError):
    """No installed sink reads this kind of URL."""


def is_url(location: str) -> bool:
    return "://" in location


def scheme_of(location: str) -> str:
    return location.split("://", 1)[0].lower()


@contextmanager
def open_table_log(location: str, registry: Any = None, *, writable: bool = False) -> Iterator[TableDB]:
    """The table log at a URL location, opened by the sink that declares its scheme; closed after."""
    if registry is None:
        from keeptrust.plugins import load_registry

        registry = load_registry()
    scheme = scheme_of(location)
    readers = {s: sink for sink in registry.audit_sinks.values() for s in getattr(sink, "schemes", ())}
    sink = readers.get(scheme)
    if sink is None:
        known = ", ".join(f"{s}://" for s in sorted(readers)) or "none"
        raise UnknownLocation(
            f"no installed audit sink reads {scheme}:// locations (readable: {known}); "
            "PostgreSQL logs need the keeptrust-postgres package"
        )
    db = sink.open_log(location, writable=writable)
    try:
        yield db
    finally:
        db.close()

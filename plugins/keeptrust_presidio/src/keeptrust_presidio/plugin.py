"""Entry point ``presidio`` in the group ``keeptrust``: registers the ``pii-detector`` policy."""

from __future__ import annotations

from collections.abc import Callable

from keeptrust import hookimpl
from keeptrust_presidio.policy import PiiDetectorPolicy


@hookimpl
def register_policies(register: Callable[[type], None]) -> None:
    register(PiiDetectorPolicy)

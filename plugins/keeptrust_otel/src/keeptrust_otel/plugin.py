"""The keeptrust entry point: registers the ``otel`` tracer."""

from __future__ import annotations

from collections.abc import Callable

from keeptrust import hookimpl

from keeptrust_otel.tracer import OtelTracer


@hookimpl
def register_tracers(register: Callable[[type], None]) -> None:
    register(OtelTracer)

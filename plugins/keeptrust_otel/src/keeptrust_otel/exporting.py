"""The tracer provider, set up from the standard OpenTelemetry environment variables.

The SDK reads most of them itself: ``OTEL_TRACES_SAMPLER``/``OTEL_TRACES_SAMPLER_ARG`` (the
provider's sampler), ``OTEL_RESOURCE_ATTRIBUTES``/``OTEL_SERVICE_NAME`` (the resource; the service
name defaults to ``keeptrust``), ``OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT``/``HEADERS``/``TIMEOUT``/
``COMPRESSION``/``CERTIFICATE`` (the OTLP exporter) and ``OTEL_BSP_*`` (the batch processor, whose
own thread runs every export). This module reads ``OTEL_SDK_DISABLED``, ``OTEL_TRACES_EXPORTER``
(``otlp``, ``console``, ``none``; a comma-separated list) and the OTLP protocol, of which only
``http/protobuf`` is supported.

Tracing starts once the environment says where spans go: an OTLP endpoint
(``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) or an explicit
``OTEL_TRACES_EXPORTER`` (``otlp`` alone sends to the SDK's default, ``http://localhost:4318``).
Installing the package in an image that sets neither costs nothing and sends nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, OTELResourceDetector, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

EXPORTERS = ("otlp", "console", "none")
PROTOCOL = "http/protobuf"


class TracingConfigError(ValueError):
    """An ``OTEL_*`` variable with a value this package cannot use (the message names it)."""


def disabled(environ: Mapping[str, str]) -> bool:
    return environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def unconfigured(environ: Mapping[str, str]) -> str | None:
    """Why requests are not traced (``None``: they are)."""
    if disabled(environ):
        return "OTEL_SDK_DISABLED=true"
    if not environ.get("OTEL_TRACES_EXPORTER", "").strip() and not any(environ.get(v, "").strip() for v in ENDPOINTS):
        return "neither OTEL_EXPORTER_OTLP_ENDPOINT nor OTEL_TRACES_EXPORTER is set"
    return None


def exporter_names(environ: Mapping[str, str]) -> list[str]:
    raw = environ.get("OTEL_TRACES_EXPORTER", "otlp")
    names = [n.strip().lower() for n in raw.split(",") if n.strip()] or ["otlp"]
    for name in names:
        if name not in EXPORTERS:
            raise TracingConfigError(
                f"OTEL_TRACES_EXPORTER: unknown exporter '{name}' (expected one of {', '.join(EXPORTERS)})"
            )
    return [n for n in names if n != "none"]


def _otlp_exporter(environ: Mapping[str, str]) -> SpanExporter:
    for variable in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        protocol = environ.get(variable, "").strip()
        if protocol:
            if protocol != PROTOCOL:
                raise TracingConfigError(
                    f"{variable}: keeptrust-otel exports OTLP over HTTP with protobuf bodies only "
                    f"(expected '{PROTOCOL}'; got '{protocol}')"
                )
            break
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def resource(environ: Mapping[str, str], version: str) -> Resource:
    """``service.name`` keeptrust and ``service.version``, under what the environment sets."""
    base = Resource.create({SERVICE_NAME: "keeptrust", SERVICE_VERSION: version, "process.pid": os.getpid()})
    return base.merge(OTELResourceDetector().detect())


def build_provider(environ: Mapping[str, str], version: str) -> TracerProvider | None:
    """A provider exporting through a batch processor per configured exporter; ``None`` when the
    environment does not ask for traces (``unconfigured``). Raises ``TracingConfigError`` for a
    variable it cannot honour."""
    if unconfigured(environ) is not None:
        return None
    names = exporter_names(environ)
    provider = TracerProvider(resource=resource(environ, version))
    for name in names:
        exporter = _otlp_exporter(environ) if name == "otlp" else ConsoleSpanExporter()
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider

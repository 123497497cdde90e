"""OpenTelemetry traces for keeptrust: one span per request, with child spans per policy phase and
per upstream attempt, GenAI semantic-convention attributes, W3C trace context in and out, and OTLP
export configured by the standard ``OTEL_*`` environment variables."""

from keeptrust_otel.tracer import OtelTracer

__all__ = ["OtelTracer"]

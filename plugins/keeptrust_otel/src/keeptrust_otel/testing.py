"""An OTLP/HTTP trace receiver for tests and benchmarks: an ASGI app taking ``POST /v1/traces`` with
a protobuf ``ExportTraceServiceRequest`` (gzip or not), as a collector does, and keeping each span
decoded into a plain ``Span``.

    from keeptrust.testing import serve_app
    from keeptrust_otel.testing import OTLPReceiver

    receiver = OTLPReceiver()
    server = serve_app(receiver)   # OTEL_EXPORTER_OTLP_ENDPOINT=server.url
    ...
    (request_span,) = receiver.wait_for_roots(1)
    receiver.children(request_span)

``python -m keeptrust_otel.testing --listen 127.0.0.1:4318 [--discard]`` serves one (``--discard``
counts spans without keeping them: a sink for benchmarks).
"""

from __future__ import annotations

import gzip
import threading
import time
from typing import Any

import attrs
from keeptrust.demo.asgi import accept
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status

KINDS = {
    ProtoSpan.SPAN_KIND_SERVER: "server",
    ProtoSpan.SPAN_KIND_CLIENT: "client",
    ProtoSpan.SPAN_KIND_INTERNAL: "internal",
}


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind is not None else None


def _attributes(pairs: Any) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in pairs}


@attrs.frozen
class Span:
    name: str
    kind: str
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict[str, Any]
    events: list[tuple[str, dict[str, Any]]]
    error: bool
    start_ns: int
    end_ns: int
    resource: dict[str, Any]


class OTLPReceiver:
    def __init__(self, *, keep: bool = True) -> None:
        self.keep = keep
        self.received = 0
        self.spans: list[Span] = []
        self.content_types: set[str] = set()
        self._lock = threading.Lock()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        incoming = await accept(scope, receive, send)
        if incoming is None:
            return
        if incoming.method != "POST" or incoming.path != "/v1/traces":
            await self._answer(send, 404, b"")
            return
        raw = incoming.raw
        if incoming.headers.get("content-encoding") == "gzip":
            raw = gzip.decompress(raw)
        self.content_types.add(incoming.headers.get("content-type", ""))
        request = ExportTraceServiceRequest()
        request.ParseFromString(raw)
        if not self.keep:
            self.received += sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
            await self._answer(send, 200, ExportTraceServiceResponse().SerializeToString())
            return
        decoded = []
        for resource_spans in request.resource_spans:
            resource = _attributes(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for s in scope_spans.spans:
                    decoded.append(
                        Span(
                            name=s.name,
                            kind=KINDS.get(s.kind, str(s.kind)),
                            trace_id=s.trace_id.hex(),
                            span_id=s.span_id.hex(),
                            parent_id=s.parent_span_id.hex(),
                            attributes=_attributes(s.attributes),
                            events=[(e.name, _attributes(e.attributes)) for e in s.events],
                            error=s.status.code == Status.STATUS_CODE_ERROR,
                            start_ns=s.start_time_unix_nano,
                            end_ns=s.end_time_unix_nano,
                            resource=resource,
                        )
                    )
        with self._lock:
            self.spans.extend(decoded)
            self.received += len(decoded)
        await self._answer(send, 200, ExportTraceServiceResponse().SerializeToString())

    async def _answer(self, send: Any, status: int, body: bytes) -> None:
        headers = [(b"content-type", b"application/x-protobuf"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def roots(self) -> list[Span]:
        with self._lock:
            return [s for s in self.spans if s.kind == "server"]

    def children(self, parent: Span) -> list[Span]:
        with self._lock:
            return sorted((s for s in self.spans if s.parent_id == parent.span_id), key=lambda s: s.start_ns)

    def wait_for_roots(self, count: int, timeout: float = 15.0) -> list[Span]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            roots = self.roots()
            if len(roots) >= count:
                return sorted(roots, key=lambda s: s.start_ns)
            time.sleep(0.05)
        raise AssertionError(f"{count} request spans expected; received {len(self.roots())}")


def main() -> None:
    import argparse
    import logging

    import trio
    from hypercorn.config import Config
    from hypercorn.trio import serve

    parser = argparse.ArgumentParser(description="An OTLP/HTTP trace receiver on loopback")
    parser.add_argument("--listen", default="127.0.0.1:4318")
    parser.add_argument("--discard", action="store_true", help="count spans without keeping them")
    args = parser.parse_args()
    config = Config()
    config.bind = [args.listen]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    trio.run(serve, OTLPReceiver(keep=not args.discard), config)


if __name__ == "__main__":
    main()

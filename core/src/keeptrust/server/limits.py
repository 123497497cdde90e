"""The gateway's limits at the edge: header size and count, body size and deadline, JSON depth,
requests in flight, and concurrent streams per client. Each refusal is a clear error with the
status a client can act on (431, 413, 408, 503 with ``retry-after``, 429)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from keeptrust import metrics
from keeptrust.config.model import ServerConfig
from keeptrust.errors import RateLimited, UpstreamUnavailable
from keeptrust.server import http


class Limits:
    """One per worker process: the counters are per process, as the limits are."""

    def __init__(self, server: ServerConfig) -> None:
        self.max_body = server.max_body_bytes
        self.body_timeout = server.body_timeout_seconds
        self.max_header_bytes = server.max_header_bytes
        self.max_header_count = server.max_header_count
        self.max_depth = server.max_json_depth
        self.max_streams = server.max_streams_per_client
        self.max_inflight = server.max_concurrent_requests
        self.inflight = 0
        self.streams: dict[str, int] = {}

    def headers(self, scope: http.Scope) -> dict[bytes, bytes]:
        return http.header_map(scope, self.max_header_bytes, self.max_header_count)

    async def read_body(self, receive: http.Receive, headers: Mapping[bytes, bytes]) -> bytes:
        return await http.read_body(receive, headers, self.max_body, self.body_timeout)

    def parse_json(self, raw: bytes, headers: Mapping[bytes, bytes]) -> Any:
        return http.parse_json(raw, headers, self.max_depth)

    @contextmanager
    def in_flight(self) -> Iterator[None]:
        """Hold one of ``max_concurrent_requests`` slots; refuse with 503 when none is free."""
        if self.inflight >= self.max_inflight:
            raise UpstreamUnavailable(
                "the gateway is at its limit of concurrent requests; retry shortly",
                code="overloaded",
                headers={"retry-after": "1"},
            )
        self.inflight += 1
        try:
            yield
        finally:
            self.inflight -= 1

    @contextmanager
    def stream(self, client: str | None) -> Iterator[None]:
        """Hold one of the client's ``max_streams_per_client`` stream slots; refuse with 429."""
        key = client or "-"
        count = self.streams.get(key, 0)
        if count >= self.max_streams:
            raise RateLimited(
                f"too many concurrent streams from this client (limit {self.max_streams})",
                headers={"retry-after": "1"},
            )
        self.streams[key] = count + 1
        counted = metrics.stream_started()
        try:
            yield
        finally:
            metrics.stream_finished(counted)
            left = self.streams[key] - 1
            if left:
                self.streams[key] = left
            else:
                del self.streams[key]

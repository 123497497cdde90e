"""The config classes of the core sections. Plugins add their own (targets, policies, sinks).

Public module: plugins import it; the names in ``__all__`` are its API."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import attrs


@attrs.frozen(kw_only=True)
class SecretRef:
    """Where a secret comes from. Only environment variables: the value never sits in the file."""

    env: str


@attrs.frozen(kw_only=True)
class Pack:
    name: str = "default"
    version: str = "0.0.0"
    enabled: bool = True
    description: str | None = None


@attrs.frozen(kw_only=True)
class TargetConfig:
    """Keys every target accepts. Provider families subclass it (frozen, kw_only) for their own."""

    id: str
    provider: str
    model: str | None = None
    base_url: str | None = None
    secret_key_ref: SecretRef | None = None
    # Connect + first byte of a non-stream answer (and the whole cold-start wait).
    timeout_seconds: float = 60.0
    # For streams: first byte and the longest gap between two chunks. Default: timeout_seconds.
    stream_timeout_seconds: float | None = None
    connect_timeout_seconds: float = 10.0
    max_retries: int = 2
    max_connections: int = 512
    # The largest upstream answer read (a JSON body, or a whole stream); over it → 502. Default: by
    # operation (keeptrust.transport.DEFAULT_MAX_RESPONSE_BYTES).
    max_response_bytes: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.gt(0))
    )
    # The longest line of an upstream event stream; over it → the stream ends with an error.
    max_event_bytes: int = attrs.field(default=4 << 20, validator=attrs.validators.gt(0))
    # Extra static headers sent upstream (never secrets: use secret_key_ref for those).
    headers: dict[str, str] = attrs.Factory(dict)

    @property
    def family(self) -> str:
        return self.provider.split(":", 1)[0]

    @property
    def stream_timeout(self) -> float:
        return self.stream_timeout_seconds if self.stream_timeout_seconds is not None else self.timeout_seconds


@attrs.frozen(kw_only=True)
class GroupMember:
    target: str
    # Share of the traffic for ``strategy: weighted`` (relative to the other members' weights).
    weight: float = 1.0


@attrs.frozen(kw_only=True)
class TargetGroupConfig:
    """A group of targets in ``providers.targets``, addressable like a target (``keeptrust.groups``).

    ``fallback`` tries the members in order; ``weighted`` picks one by weight, then falls back to
    the others; ``least-busy`` picks the one with the fewest requests in flight. A member that failed
    ``failure_threshold`` times in a row is skipped for ``cooldown_seconds``."""

    id: str
    strategy: Literal["fallback", "weighted", "least-busy"]
    members: list[str | GroupMember]
    failure_threshold: int = 3
    cooldown_seconds: float = 30.0

    family: ClassVar[str] = "group"
    model: ClassVar[None] = None

    @property
    def member_ids(self) -> list[str]:
        return [m if isinstance(m, str) else m.target for m in self.members]

    @property
    def weights(self) -> list[float]:
        return [1.0 if isinstance(m, str) else m.weight for m in self.members]

    @property
    def timeout_seconds(self) -> float:
        return 60.0


@attrs.frozen(kw_only=True)
class AuthKey:
    key_ref: SecretRef
    role: str | None = None
    id: str | None = None
    # Targets and groups this key may reach; unset: its role's ``allowed_targets`` (or all).
    allowed_targets: list[str] | None = None


@attrs.frozen(kw_only=True)
class RoleConfig:
    # Targets and groups callers with this role may reach; unset: all of them.
    allowed_targets: list[str] | None = None


@attrs.frozen(kw_only=True)
class AuthConfig:
    keys: list[AuthKey] = attrs.Factory(list)
    roles: dict[str, RoleConfig] = attrs.Factory(dict)
    # With no keys configured the role comes from this header (trusted deployments only).
    role_header: str = "x-keeptrust-role"


@attrs.frozen(kw_only=True)
class DemoUpstream:
    """A local OpenAI-compatible echo upstream served by the gateway process (quick start, demos)."""

    listen: str = "127.0.0.1:41003"
    reply: str | None = None
    chunk_delay_seconds: float = 0.02


@attrs.frozen(kw_only=True)
class MetricsConfig:
    """``GET /metrics`` (Prometheus text format). ``listen``: serve it on its own address instead of
    the gateway's; ``key_ref``: require ``Authorization: Bearer <key>`` to read it."""

    enabled: bool = True
    listen: str | None = None
    key_ref: SecretRef | None = None


@attrs.frozen(kw_only=True)
class ServerConfig:
    max_body_bytes: int = 2_000_000
    body_timeout_seconds: float = 30.0
    max_header_bytes: int = 32_768
    max_header_count: int = 100
    # Concurrent streaming answers per client address; over it → 429.
    max_streams_per_client: int = 64
    # In-flight requests per worker; over it → 503 with Retry-After.
    max_concurrent_requests: int = 4096
    graceful_timeout_seconds: float = 30.0
    keep_alive_timeout_seconds: float = 75.0
    # A request's headers (and a new connection's first request) must be complete within this.
    header_timeout_seconds: float = attrs.field(default=10.0, validator=attrs.validators.gt(0))
    # Open connections per client address per worker; over it the connection gets a 429. 0: no cap.
    max_connections_per_client: int = attrs.field(default=512, validator=attrs.validators.ge(0))
    max_json_depth: int = 64
    auth: AuthConfig = attrs.Factory(AuthConfig)
    log_level: str = "info"
    # human: one line of text per event; json: one JSON object per line (``keeptrust.logs``).
    log_format: Literal["human", "json"] = "human"
    metrics: MetricsConfig = attrs.Factory(MetricsConfig)
    demo_upstream: DemoUpstream | None = None


@attrs.frozen(kw_only=True)
class Policies:
    chain: list[str] = attrs.Factory(list)
    policy: dict[str, Any] = attrs.Factory(dict)


@attrs.frozen(kw_only=True)
class GatewayConfig:
    """The top level of ``policy-config.yaml``. Targets and policy blocks stay raw here and are
    structured into their plugins' classes by the loader."""

    pack: Pack = attrs.Factory(Pack)
    providers: dict[str, Any] = attrs.Factory(lambda: {"targets": []})
    policies: Policies = attrs.Factory(Policies)
    server: ServerConfig = attrs.Factory(ServerConfig)


__all__ = [
    "AuthConfig",
    "AuthKey",
    "DemoUpstream",
    "GatewayConfig",
    "MetricsConfig",
    "Pack",
    "Policies",
    "SecretRef",
    "ServerConfig",
    "TargetConfig",
]

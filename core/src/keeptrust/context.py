"""The per-request state every policy and provider sees.

Public module: plugins import it; the names in ``__all__`` are its API."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from keeptrust.policy import DecisionRecord
    from keeptrust.targets import Target

# Operation kinds, one per OpenAI endpoint family.
CHAT = "chat"
EMBEDDINGS = "embeddings"
RESPONSES = "responses"
IMAGES = "images"
IMAGE_EDIT = "image_edit"
SPEECH = "speech"
TRANSCRIPTION = "transcription"
MODELS = "models"
OPERATIONS = (CHAT, EMBEDDINGS, RESPONSES, IMAGES, IMAGE_EDIT, SPEECH, TRANSCRIPTION, MODELS)


@attrs.frozen
class UploadedFile:
    """A file part of a multipart request (image edits, transcriptions)."""

    filename: str
    content_type: str
    data: bytes = attrs.field(repr=lambda d: f"<{len(d)} bytes>")


@attrs.define
class Usage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None

    def to_dict(self) -> dict[str, int]:
        return {k: v for k, v in attrs.asdict(self).items() if v is not None}


@attrs.define(eq=False)
class RequestContext:
    """Everything known about one request, from arrival to the audit record.

    ``body`` is the parsed request body (a dict); request-phase policies may edit it in place.
    ``target`` is set by the router policy or by model resolution before the upstream call.
    ``extra`` belongs to plugins (one key per plugin); every field the core uses is typed here.
    """

    request_id: str
    operation: str
    endpoint: str
    body: dict[str, Any]
    stream: bool = False
    model: str | None = None
    role: str | None = None
    key_id: str | None = None
    client: str | None = None
    target: Target | None = None
    upstream_model: str | None = None
    decisions: list[DecisionRecord] = attrs.Factory(list)
    status: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    usage: Usage = attrs.Factory(Usage)
    upstream_attempts: int = 0
    # The upstream actually called (last attempt): its URL without query or credentials, the backend
    # a provider picked for it (e.g. an Inference Providers backend) and its region when known.
    upstream_url: str | None = None
    upstream_backend: str | None = None
    upstream_region: str | None = None
    started: float = attrs.Factory(time.monotonic)
    started_wall: float = attrs.Factory(time.time)
    first_byte_at: float | None = None
    finished_at: float | None = None
    cancelled: bool = False
    response_body: Any = None
    response_text: str | None = None
    response_size: int | None = None
    request_size: int | None = None
    # What the core tells itself about the request's progress:
    # the request reached the policy chain (else the audit log treats it as an access event);
    reached_chain: bool = False
    # the last byte of the answer went out (a later disconnect is not a cancellation);
    response_complete: bool = False
    # keep a streamed answer's assembled (filtered) text in ``response_text`` (the audit log asks
    # for it when it records responses).
    keep_stream_text: bool = False
    # the redacting policies whose own phase rewrote the body, as (policy, phase) pairs (the chain
    # runs ``redact_for_record`` for the others before ``on_complete``);
    redacted: set[tuple[str, str]] = attrs.Factory(set)
    # ``on_complete`` has run (early, before the answer's last message, when a policy holds the answer).
    completed: bool = False
    # Headers a policy adds to the answer, success or error (the rate-limiter's ``x-ratelimit-*``).
    response_headers: dict[str, str] = attrs.Factory(dict)
    # the API the client speaks when it is not the operation's own (``keeptrust.dialects``: the
    # Anthropic Messages API, legacy completions); the answer is translated back through it.
    dialect: Any = None
    # a target group's routing record: the group, the member that answered, every attempt.
    route: dict[str, Any] | None = None
    # The request's trace (a ``keeptrust.tracing.RequestTrace``) when a tracer is installed, else None.
    trace: Any = None
    # Free space for plugins, keyed by plugin name, so two plugins never collide. The core never
    # reads or writes it.
    extra: dict[str, Any] = attrs.Factory(dict)

    @property
    def latency_ms(self) -> float | None:
        if self.finished_at is None:
            return None
        return round((self.finished_at - self.started) * 1000, 3)

    @property
    def ttfb_ms(self) -> float | None:
        if self.first_byte_at is None:
            return None
        return round((self.first_byte_at - self.started) * 1000, 3)


__all__ = [
    "CHAT",
    "EMBEDDINGS",
    "IMAGES",
    "IMAGE_EDIT",
    "MODELS",
    "OPERATIONS",
    "RESPONSES",
    "RequestContext",
    "SPEECH",
    "TRANSCRIPTION",
    "UploadedFile",
    "Usage",
]

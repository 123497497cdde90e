"""Policies: their config base class, their decisions and the stream-filter interface.

Public module: plugins import it; the names in ``__all__`` are its API."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

import attrs

if TYPE_CHECKING:
    import logging

    from keeptrust.context import RequestContext
    from keeptrust.plugins import Registry
    from keeptrust.secrets import Redactor


@attrs.frozen(kw_only=True)
class PolicyConfig:
    """Keys every policy accepts. Subclass it (frozen, kw_only) for a policy's own keys."""

    mode: Literal["enforce", "shadow"] = "enforce"
    # The time one call of this policy may take (on_request, on_response, one stream-filter step,
    # on_complete); past it the call is cancelled and the request goes on as on_timeout says:
    # ``block`` answers 503 ``policy_timeout`` (an unchecked request never passes), ``allow`` lets it
    # through unchecked. Both are recorded as the policy's decision. 0 turns the budget off.
    timeout_ms: int = attrs.field(default=10_000, validator=attrs.validators.ge(0))
    on_timeout: Literal["block", "allow"] = "block"


@attrs.frozen
class Allow:
    reason: str = ""
    details: dict[str, Any] = attrs.Factory(dict)


@attrs.frozen
class Modify:
    """The policy changed the body (in place). ``reason`` says what kind of change, never the text."""

    reason: str = ""
    details: dict[str, Any] = attrs.Factory(dict)


@attrs.frozen
class Flag:
    """Recorded, traffic unchanged (e.g. ``action: flag``)."""

    reason: str = ""
    details: dict[str, Any] = attrs.Factory(dict)


@attrs.frozen
class Block:
    """Stop the request. ``message`` reaches the client: build it from categories and counts only.

    ``headers`` go on the error answer (``Retry-After``, ``x-ratelimit-*``); a ``status`` of 429 is
    answered as a ``rate_limit_error``, as OpenAI types its 429s."""

    message: str
    reason: str = ""
    status: int = 400
    code: str = "policy_violation"
    details: dict[str, Any] = attrs.Factory(dict)
    headers: dict[str, str] = attrs.Factory(dict)


Decision = Allow | Modify | Flag | Block

ACTIONS: dict[type, str] = {Allow: "allow", Modify: "modify", Flag: "flag", Block: "block"}


@attrs.define
class DecisionRecord:
    """One policy's decision as the audit record keeps it."""

    policy: str
    phase: str
    action: str
    reason: str = ""
    mode: str = "enforce"
    details: dict[str, Any] = attrs.Factory(dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"policy": self.policy, "phase": self.phase, "action": self.action}
        if self.reason:
            out["reason"] = self.reason
        if self.mode != "enforce":
            out["mode"] = self.mode
        if self.details:
            out["details"] = self.details
        return out


class StreamBlocked(Exception):
    """Raised by a stream filter's ``feed``/``flush`` to end the stream with ``content_filter``."""

    def __init__(self, message: str, reason: str = "", details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.details = details or {}


class StreamFilter(Protocol):
    """Stateful per-stream text filter. ``feed`` returns what may be emitted now; it may hold back a
    bounded tail (e.g. a half-received e-mail address). ``flush`` returns the rest at stream end.
    Either may be ``async def`` (the core awaits it), so costly analysis can run in a worker thread.
    The core makes one filter per streamed text field of each choice (content, reasoning, refusal,
    each tool call's arguments, logprob tokens; each Responses output path), so one instance sees
    one field's text, in order."""

    def feed(self, text: str) -> str: ...

    def flush(self) -> str: ...


@attrs.frozen
class PolicyEnv:
    """What the core hands a policy at construction."""

    logger: logging.Logger
    registry: Registry
    config: Any  # the whole LoadedConfig, read-only
    targets: dict[str, Any] = attrs.Factory(dict)
    # The gateway's redactor: add secrets a policy resolves itself, so logs and errors scrub them.
    redactor: Redactor | None = None
    # The environment secret references are read from (``os.environ`` unless a test passes one).
    environ: Mapping[str, str] = attrs.Factory(lambda: os.environ)


class Policy:
    """Convenience base class: no-op defaults for every per-request method."""

    name: ClassVar[str]
    config_class: ClassVar[type] = PolicyConfig
    # The pip package that provides this policy, for start-up errors when it is missing.
    distribution: ClassVar[str | None] = None
    # True on a policy whose ``on_complete`` keeps request or answer bodies (the audit-logger with
    # include_request/include_response): the chain then runs ``redact_for_record`` where needed first.
    keeps_bodies: bool = False
    # True on a policy that must finish its ``on_complete`` before the client has the whole answer (the
    # audit-logger with durable_before_response): the chain then runs ``on_complete`` just before the
    # last body message of the answer (a stream's ``[DONE]``) is sent, and not again afterwards.
    holds_answer: bool = False

    def __init__(self, config: Any, env: PolicyEnv) -> None:
        self.config = config
        self.env = env

    async def on_request(self, ctx: RequestContext) -> Decision | None:
        return None

    async def on_response(self, ctx: RequestContext, body: Any) -> Decision | None:
        return None

    def stream_filter(self, ctx: RequestContext) -> StreamFilter | None:
        return None

    async def on_complete(self, ctx: RequestContext) -> None:
        return None

    async def redact_for_record(self, ctx: RequestContext, value: Any, phase: Literal["request", "response"]) -> Any:
        """Return ``value`` (a request body, an answer's body or its streamed text) with what this policy
        redacts taken out, as its ``phase`` would have redacted it; never decide, block or count.

        A redacting policy (pii-detector) implements it so that nothing it would have removed reaches the
        audit log or any ``on_complete`` consumer when its own phase did not run on this request: the
        request was refused earlier in the chain (another policy's block, an unknown model, a bad
        parameter), the policy itself blocked it, it runs in shadow mode, or the upstream answered an
        error. The chain calls it, before ``on_complete``, only for those phases and only when a
        completion consumer keeps bodies. ``value`` may be any JSON value (a malformed body too); redact
        in place or return a new value. Raising makes the chain withhold the value from the record.
        """
        return value


__all__ = [
    "ACTIONS",
    "Allow",
    "Block",
    "Decision",
    "DecisionRecord",
    "Flag",
    "Modify",
    "Policy",
    "PolicyConfig",
    "PolicyEnv",
    "StreamBlocked",
    "StreamFilter",
]

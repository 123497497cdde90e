"""Policy ``rate-limiter``: requests and tokens per minute, per key, role, target or client address.

rate-limiter:
  requests_per_minute: 600
  tokens_per_minute: 200000
  burst: 50                      # requests that may arrive at once (default: requests_per_minute)
  per: key                       # key | role | target | client_ip
  store: memory                  # or redis://[user:password@]host:6379/0, rediss://, unix:///path
  store_timeout_ms: 250          # per store call, waiting for a free connection included
  on_store_error: allow          # allow | deny, when the store does not answer

Over a limit the client gets a 429 ``rate_limit_exceeded`` with ``Retry-After``; every answer carries
the ``x-ratelimit-*`` headers OpenAI sends (limit, remaining and reset, for requests and tokens).
Tokens are charged when the answer ends, from the upstream's ``usage`` (streams included); when an
upstream reports no usage they are estimated from the text (4 characters a token) and the decision
says so.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any, Literal

import attrs

from keeptrust.context import RequestContext
from keeptrust.hookspecs import hookimpl
from keeptrust.policy import Allow, Block, Policy, PolicyConfig
from keeptrust.ratelimit import MemoryStore, Outcome, Rate, StoreUnavailable, Take
from keeptrust.ratelimit.redis_url import parse_url

logger = logging.getLogger("keeptrust.ratelimit")

CHARS_PER_TOKEN = 4


def _positive(_instance: Any, attribute: attrs.Attribute, value: float | None) -> None:
    if value is not None and not value > 0:
        raise ValueError(f"'{attribute.name}' must be a number above 0, got {value!r}")


def _store_url(_instance: Any, attribute: attrs.Attribute, value: str) -> None:
    if value == "memory":
        return
    try:
        parse_url(value)
    except ValueError as exc:  # its message never quotes the URL, which may hold a password
        raise ValueError(f"'{attribute.name}' must be 'memory' or a redis:// URL: {exc}") from None


@attrs.frozen(kw_only=True)
class RateLimitConfig(PolicyConfig):
    requests_per_minute: float | None = attrs.field(default=None, validator=_positive)
    tokens_per_minute: float | None = attrs.field(default=None, validator=_positive)
    # Requests that may arrive at once; default: a whole minute's worth.
    burst: float | None = attrs.field(default=None, validator=_positive)
    per: Literal["key", "role", "target", "client_ip"] = "key"
    store: str = attrs.field(default="memory", validator=_store_url)
    store_timeout_ms: int = attrs.field(default=250, validator=attrs.validators.gt(0))
    on_store_error: Literal["allow", "deny"] = "allow"

    def __attrs_post_init__(self) -> None:
        if self.requests_per_minute is None and self.tokens_per_minute is None:
            raise ValueError("set requests_per_minute, tokens_per_minute or both")


def duration(seconds: float) -> str:
    """A reset time the way OpenAI writes it: ``17ms``, ``1s``, ``6m0s``, ``1h2m3s``."""
    if seconds < 1:
        return f"{math.ceil(seconds * 1000)}ms"
    whole = math.ceil(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


class RateLimitPolicy(Policy):
    name = "rate-limiter"
    config_class = RateLimitConfig

    def __init__(self, config: RateLimitConfig, env: Any) -> None:
        super().__init__(config, env)
        self.requests = (
            Rate(config.requests_per_minute, config.burst or config.requests_per_minute)
            if config.requests_per_minute
            else None
        )
        self.tokens = Rate(config.tokens_per_minute, config.tokens_per_minute) if config.tokens_per_minute else None
        if config.store == "memory":
            self.store: Any = MemoryStore()
        else:
            from keeptrust.ratelimit.redis_store import RedisStore

            self.store = RedisStore(config.store, timeout=config.store_timeout_ms / 1000)
        pack = getattr(getattr(env.config, "gateway", None), "pack", None)
        self.prefix = f"keeptrust:ratelimit:{getattr(pack, 'name', None) or 'default'}:{config.per}:"
        self._store_errors = 0
        self._last_error_log = 0.0

    def _subject(self, ctx: RequestContext) -> str:
        per = self.config.per
        if per == "key":
            return ctx.key_id or "anonymous"
        if per == "role":
            return ctx.role or "none"
        if per == "target":
            return ctx.target.id if ctx.target is not None else (ctx.model or "none")
        return ctx.client or "unknown"

    def _key(self, ctx: RequestContext) -> str:
        # The subject in braces is a Redis Cluster hash tag: a subject's keys share one slot, as
        # the one-call script needs.
        return f"{self.prefix}{{{self._subject(ctx)}}}"

    def _store_failed(self, exc: StoreUnavailable) -> None:
        self._store_errors += 1
        now = time.monotonic()
        if now - self._last_error_log >= 10:
            logger.warning(
                "rate-limiter: the store is unavailable (%s); %d requests %s since the last report",
                exc,
                self._store_errors,
                "allowed" if self.config.on_store_error == "allow" else "refused",
            )
            self._store_errors = 0
            self._last_error_log = now

    async def on_request(self, ctx: RequestContext) -> Any:
        key = self._key(ctx)
        # Tokens first: asking costs nothing, so a refusal there spends no request. A request needs
        # one token of allowance left; its real cost is charged when the answer ends. Both in one
        # atomic store call (one Redis round trip).
        takes, kinds = [], []
        if self.tokens is not None:
            takes.append(Take(key + ":tokens", self.tokens, 1, charge=False))
            kinds.append("tokens")
        if self.requests is not None:
            takes.append(Take(key + ":requests", self.requests, 1))
            kinds.append("requests")
        try:
            results: dict[str, Outcome] = dict(zip(kinds, await self.store.take_all(takes), strict=False))
        except StoreUnavailable as exc:
            self._store_failed(exc)
            details = {"store": "unavailable"}
            if self.config.on_store_error == "deny":
                return Block(
                    "the gateway's rate-limit store is unavailable; try again shortly",
                    reason="store_unavailable",
                    status=503,
                    code="rate_limit_store_unavailable",
                    details=details,
                    headers={"retry-after": "1"},
                )
            return Allow(reason="store_unavailable", details=details)
        if self.tokens is not None:
            # Count the streamed text when the upstream reports no usage.
            ctx.keep_stream_text = True
        headers = self._headers(results)
        denied = [kind for kind, result in results.items() if not result.allowed]
        if denied:
            kind = denied[0]
            result = results[kind]
            limit = self.requests if kind == "requests" else self.tokens
            assert limit is not None
            retry = max(1, math.ceil(result.retry_after))
            return Block(
                f"rate limit reached: {limit.per_minute:g} {kind} per minute per {self.config.per}; "
                f"retry in {duration(result.retry_after)}",
                reason=f"{kind}_per_minute",
                status=429,
                code="rate_limit_exceeded",
                details={"per": self.config.per, "limit": kind, "retry_after_s": round(result.retry_after, 3)},
                headers={**headers, "retry-after": str(retry)},
            )
        ctx.response_headers.update(headers)
        return None

    def _headers(self, results: dict[str, Outcome]) -> dict[str, str]:
        headers = {}
        for kind, result in results.items():
            limit = self.requests if kind == "requests" else self.tokens
            assert limit is not None
            headers[f"x-ratelimit-limit-{kind}"] = f"{limit.per_minute:g}"
            headers[f"x-ratelimit-remaining-{kind}"] = str(result.remaining)
            headers[f"x-ratelimit-reset-{kind}"] = duration(result.reset_after)
        return headers

    async def on_complete(self, ctx: RequestContext) -> None:
        if self.tokens is None or ctx.status is None or ctx.status >= 400:
            return
        tokens = ctx.usage.total_tokens
        estimated = tokens is None
        if tokens is None:
            from keeptrust.texts import request_texts

            chars = sum(len(ref.text) for ref in request_texts(ctx.operation, ctx.body)) + len(ctx.response_text or "")
            tokens = math.ceil(chars / CHARS_PER_TOKEN)
        if not tokens:
            return
        # A store call of its own, after the answer went out: hypercorn starts the connection's next
        # request once the last body message is sent, so it delays neither this client nor its next
        # request. Folding it into the key's next decision would save a round trip but leave every
        # gateway unaware of the charge until then (and for good if no request follows).
        try:
            await self.store.take(self._key(ctx) + ":tokens", self.tokens, tokens, check=False)
        except StoreUnavailable as exc:
            self._store_failed(exc)
            return
        if estimated:
            logger.debug("rate-limiter: request %s charged %d estimated tokens", ctx.request_id, tokens)

    async def aclose(self) -> None:
        await self.store.aclose()


@hookimpl
def register_policies(register: Any) -> None:
    register(RateLimitPolicy)

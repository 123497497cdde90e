"""The upstream transport: one pooled httpx client per target, timeouts, retries and the mapping of
upstream failures to gateway errors.

Public module: provider plugins call ``Upstream`` (their ``env.upstream``), and may give their
family its own ``RetryPolicy`` (keeptrust-hf waits out Hugging Face cold starts that way).
"""

from __future__ import annotations

import functools
import logging
import math
import random
import re
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx
import orjson
import trio

from keeptrust import failures, metrics
from keeptrust.bounded_body import BoundedBody, size_text
from keeptrust.errors import (
    AuthenticationError,
    BodyTooLarge,
    GatewayError,
    NotFound,
    PermissionDenied,
    RateLimited,
    RequestError,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from keeptrust.h11_transport import TrioH11Transport

if TYPE_CHECKING:
    from keeptrust.config.model import TargetConfig
    from keeptrust.context import RequestContext
    from keeptrust.secrets import Redactor

MIB = 1 << 20
# The largest upstream answer read for an operation when the target sets no max_response_bytes: a
# JSON body, or the whole of a stream. Text answers are small (a 32k-token completion is well under
# 1 MiB; the bound leaves room for logprobs and long streams); an embeddings batch of 2048 inputs of
# 1024 floats is about 40 MB as JSON; images as base64 and synthesised audio are larger still.
DEFAULT_MAX_RESPONSE_BYTES = {
    "chat": 32 * MIB,
    "completions": 32 * MIB,
    "responses": 32 * MIB,
    "transcription": 32 * MIB,
    "embeddings": 64 * MIB,
    "images": 128 * MIB,
    "image_edit": 128 * MIB,
    "speech": 128 * MIB,
}
MAX_RESPONSE_BYTES = 32 * MIB  # any other call (model info, Hub lookups, queue status)
MAX_ERROR_BODY_BYTES = 1 * MIB
_NO_BODY = httpx.ByteStream(b"")
MAX_ERROR_MESSAGE = 500
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "MAX_RESPONSE_BYTES",
    "RETRY_STATUSES",
    "RetryPolicy",
    "Upstream",
    "forwardable_headers",
    "parse_json_response",
    "retry_after_seconds",
    "upstream_message",
]


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The ``Retry-After`` header in seconds (a number of seconds or an HTTP date), or None."""
    value = response.headers.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            from email.utils import parsedate_to_datetime

            try:
                return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
            except (TypeError, ValueError):
                pass
    return None


class RetryPolicy:
    """How a target's transport treats a retryable error answer (429, 500, 502, 503, 504).

    The default, for every provider family: retry at most the target's ``max_retries`` times, with
    exponential backoff and jitter, or after the upstream's ``Retry-After`` when it sends one; a
    ``Retry-After`` beyond the request's time budget is not waited for (the client gets the error
    and the hint at once). A provider family sets ``retry_policy`` on its class to change this.
    """

    def hint(self, response: httpx.Response) -> float | None:
        """Seconds the upstream asks to wait before a retry (the error body is already read)."""
        return retry_after_seconds(response)

    def waits_out(self, response: httpx.Response) -> bool:
        """Whether this answer is waited out within the request's whole time budget instead of
        counting against ``max_retries`` (a model that is still loading)."""
        return False


DEFAULT_RETRY_POLICY = RetryPolicy()


def upstream_message(response: httpx.Response, redact: Redactor) -> str:
    """A bounded, secret-free message taken from an upstream error body (any common shape)."""
    try:
        body: Any = orjson.loads(response.content)
    except (orjson.JSONDecodeError, httpx.ResponseNotRead):
        body = None
    message = None
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            message = err.get("message") or err.get("code")
        elif isinstance(err, list):
            message = "; ".join(str(e) for e in err)
        elif isinstance(err, str):
            message = body.get("error_description") or err
        if message is None and isinstance(body.get("message"), str):
            message = body["message"]
        if message is None and isinstance(body.get("detail"), (str, list)):
            detail = body["detail"]
            message = (
                detail
                if isinstance(detail, str)
                else "; ".join(str(d.get("msg", d)) if isinstance(d, dict) else str(d) for d in detail)
            )
        if message is None and isinstance(body.get("errors"), list):
            message = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in body["errors"])
    if message is None:
        ctype = response.headers.get("content-type", "")
        if ctype.startswith("text/plain"):
            message = response.text
    message = " ".join(str(message or "").split())
    if len(message) > MAX_ERROR_MESSAGE:
        message = message[:MAX_ERROR_MESSAGE] + "…"
    return redact(message)


class Upstream:
    """HTTP access to one target's upstream. Providers call ``request``/``stream``; the transport
    owns pooling, timeouts, retries (only before the first response byte) and error mapping."""

    def __init__(
        self,
        config: TargetConfig,
        *,
        redactor: Redactor,
        auth_header: Mapping[str, str] | None = None,
        logger: logging.Logger | None = None,
        client: httpx.AsyncClient | None = None,
        secret_env: str | None = None,
        retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    ) -> None:
        self.config = config
        self.retry_policy = retry_policy
        self.redact = redactor
        self.logger = logger or logging.getLogger("keeptrust.transport")
        self.secret_env = secret_env
        self._auth = dict(auth_header or {})
        limits = httpx.Limits(max_connections=config.max_connections, max_keepalive_connections=config.max_connections)
        timeout = httpx.Timeout(
            connect=config.connect_timeout_seconds, read=config.timeout_seconds, write=30.0, pool=config.timeout_seconds
        )
        headers = {**config.headers, **self._auth}
        self.client = client or httpx.AsyncClient(
            transport=TrioH11Transport(max_connections=config.max_connections),
            limits=limits,
            timeout=timeout,
            headers=headers,
            follow_redirects=False,
            trust_env=False,
        )
        self._loading_logged = False

    async def aclose(self) -> None:
        await self.client.aclose()

    async def request(
        self,
        ctx: RequestContext | None,
        method: str,
        url: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        stream: bool = False,
        timeout: float | None = None,
        retries: int | None = None,
        raise_for_status: bool = True,
    ) -> httpx.Response:
        """Send a request, retrying connect errors, 429 and 5xx within ``timeout`` (default: the
        target's ``timeout_seconds``, or ``stream_timeout_seconds`` for streams). With ``stream``
        the response body is not read; the caller must ``aclose()`` it."""
        budget = (
            timeout if timeout is not None else (self.config.stream_timeout if stream else self.config.timeout_seconds)
        )
        max_retries = self.config.max_retries if retries is None else retries
        started = trio.current_time()
        deadline = started + budget
        if json is not None:
            content = orjson.dumps(json)
            headers = {"content-type": "application/json", **(headers or {})}
        read_timeout = self.config.stream_timeout if stream else self.config.timeout_seconds
        retry_reason: str | None = None
        attempt = 0
        while True:
            attempt += 1
            if ctx is not None:
                ctx.upstream_attempts += 1
            remaining = deadline - trio.current_time()
            request = self.client.build_request(
                method,
                url,
                content=content,
                headers=headers,
                params=params,
                timeout=httpx.Timeout(
                    connect=min(self.config.connect_timeout_seconds, max(remaining, 0.001)),
                    read=max(min(read_timeout, remaining), 0.001),
                    write=30.0,
                    pool=max(remaining, 0.001),
                ),
            )
            if ctx is not None:
                ctx.upstream_url, ctx.upstream_region = _called(request.url)
            trace = ctx.trace if ctx is not None else None
            span = trace.attempt(self.config.id, request, attempt, retry_reason) if trace is not None else None
            try:
                response = await self.client.send(request, stream=True)
            except httpx.HTTPError as exc:
                failure = failures.describe(exc)
                if span is not None:
                    span.end(cause=failure.cause)
                # Retried: a connection that could not be made (or was closed before any answer).
                retryable = isinstance(
                    exc, (httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ConnectError, httpx.RemoteProtocolError)
                )
                retry = retryable and attempt <= max_retries and trio.current_time() < deadline
                self._attempt_failed(ctx, attempt, failure, retry)
                if retry:
                    retry_reason = failure.cause
                    await self._backoff(attempt, deadline)
                    continue
                tries = f" ({attempt} attempts)" if attempt > 1 else ""
                if failure.is_timeout:
                    raise UpstreamTimeout(
                        f"target '{self.config.id}': the upstream {failure.origin} timed out: {failure.text}{tries}"
                    ) from None
                raise UpstreamError(
                    f"target '{self.config.id}': the upstream {failure.origin} could not be reached: "
                    f"{failure.text}{tries}"
                ) from None
            except BaseException:  # cancelled: the client went away or the time budget ran out
                if span is not None:
                    span.end(cause="cancelled")
                raise
            if span is not None:
                span.end(status=response.status_code)
            if response.status_code < 400 or response.status_code not in RETRY_STATUSES:
                break
            # Error statuses are small: read them so the retry hint and message are available.
            await self._read(response, limit=MAX_ERROR_BODY_BYTES)
            hint = self.retry_policy.hint(response)
            remaining = deadline - trio.current_time()
            loading = self.retry_policy.waits_out(response)
            can_retry = (loading or attempt <= max_retries) and remaining > 0.05
            if not loading and hint is not None and hint > remaining:
                can_retry = False
            if not can_retry:
                break
            retry_reason = f"status_{response.status_code}"
            metrics.upstream_retry(self.config.id, retry_reason)
            if loading and not self._loading_logged:
                self._loading_logged = True
                self.logger.info(
                    "target '%s': upstream is loading (503); waiting up to %.0fs", self.config.id, remaining
                )
            delay = self._delay(attempt, hint)
            await trio.sleep(min(delay, max(remaining - 0.01, 0)))
        metrics.upstream_latency(self.config.id, trio.current_time() - started)
        status = response.status_code
        limit = self.max_response_bytes(ctx) if status < 300 else MAX_ERROR_BODY_BYTES
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit and status < 300:
            await response.aclose()  # unread: the connection is dropped, not drained
            raise self._too_large(limit)
        if status < 300:
            response.stream = BoundedBody(
                response.stream,
                limit=limit,
                line_limit=self.config.max_event_bytes,
                sse=response.headers.get("content-type", "").startswith("text/event-stream"),
                too_large=self._too_large,
            )
        if not stream or (raise_for_status and status >= 300):
            # Error bodies are read too: a caller passing raise_for_status=False inspects them, and an
            # unread body would hold its pooled connection.
            await self._read(response, limit=limit)
        if raise_for_status and 300 <= status < 400:
            # Redirects are not followed (a redirect could point the gateway's credentials or the
            # client's data anywhere), and a 3xx is no answer to pass on as a success.
            raise UpstreamError(
                f"target '{self.config.id}': the upstream answered a redirect ({status}); "
                "upstream redirects are not followed"
            )
        if raise_for_status and status >= 400:
            raise self.error_for(response)
        return response

    def max_response_bytes(self, ctx: RequestContext | None) -> int:
        """The largest answer read for this request: the target's ``max_response_bytes``, or the
        default for the request's operation."""
        if self.config.max_response_bytes is not None:
            return self.config.max_response_bytes
        if ctx is None:
            return MAX_RESPONSE_BYTES
        return DEFAULT_MAX_RESPONSE_BYTES.get(ctx.operation, MAX_RESPONSE_BYTES)

    def _too_large(self, limit: int, what: str = "answer") -> UpstreamError:
        if what == "line":
            detail = f"sent an event-stream line longer than {size_text(limit)} (the target's max_event_bytes)"
        else:
            detail = f"answer is larger than {size_text(limit)} (the target's max_response_bytes)"
        return UpstreamError(f"target '{self.config.id}': the upstream {detail}")

    async def _read(self, response: httpx.Response, limit: int) -> None:
        if hasattr(response, "_content"):
            return
        # One growing buffer, not a list of pieces: a large buffer lives in its own mapping that is
        # given back to the system when freed, where thousands of 64 KiB pieces fragment the heap.
        body = bytearray()
        read = False
        try:
            async for chunk in response.aiter_bytes():
                if len(body) + len(chunk) > limit:
                    raise self._too_large(limit)
                body += chunk
            read = True
        except httpx.TimeoutException:
            raise UpstreamTimeout(f"target '{self.config.id}': the upstream stopped sending mid-answer") from None
        except httpx.HTTPError as exc:
            error = self.failed_mid_answer(None, exc)
            if error.code == "upstream_timeout":  # nothing was sent yet: a plain 504
                raise UpstreamTimeout(error.message) from None
            raise error from None
        finally:
            if not read:
                body.clear()  # the error's traceback keeps this frame alive; its buffer need not be
            await response.aclose()
            # httpx's response and its stream refer to each other; cut the loop so the answer is
            # freed with the response, not whenever the cycle collector next reaches it.
            response.stream = _NO_BODY
        response._content = bytes(body)  # httpx's own cache of a read body

    def failed_mid_answer(self, ctx: RequestContext | None, exc: httpx.HTTPError) -> GatewayError:
        """The error for a read that failed after the answer began (a stream that stalled or broke),
        logged and counted like a failed attempt. Streams keep the 502 status (the client has the
        answer's start) with code ``upstream_timeout`` for a stall."""
        failure = failures.describe(exc, mid_answer=True)
        self._attempt_failed(ctx, 0, failure, False)
        message = f"target '{self.config.id}': the upstream {failure.origin}: {failure.text}"
        if failure.is_timeout:
            return UpstreamError(message, code="upstream_timeout")
        return UpstreamError(message)

    def _attempt_failed(self, ctx: RequestContext | None, attempt: int, failure: failures.Failure, retry: bool) -> None:
        """One log line and one count per failed attempt (``attempt`` 0: a read after the answer began)."""
        metrics.upstream_failure(self.config.id, failure.cause)
        if retry:
            metrics.upstream_retry(self.config.id, failure.cause)
        rid = f" (request {ctx.request_id})" if ctx is not None else ""
        which = f"attempt {attempt} to" if attempt else "reading the answer from"
        then = "; retrying" if retry else ""
        self.logger.warning(
            "target '%s': %s %s failed: %s [%s]%s%s",
            self.config.id,
            which,
            failure.origin,
            failure.text,
            failure.cause,
            rid,
            then,
        )

    def _delay(self, attempt: int, hint: float | None) -> float:
        if hint is not None:
            return min(max(hint, 0.05), 30.0)
        return min(0.1 * (2 ** (attempt - 1)), 5.0) * (0.5 + random.random())

    async def _backoff(self, attempt: int, deadline: float) -> None:
        await trio.sleep(min(self._delay(attempt, None), max(deadline - trio.current_time(), 0)))

    def error_for(self, response: httpx.Response) -> GatewayError:
        """Map an upstream error status to the gateway error the client sees."""
        status = response.status_code
        message = upstream_message(response, self.redact)
        tid = self.config.id
        suffix = f": {message}" if message else ""
        if status == 401:
            # The client never learns where the gateway keeps its credentials; the operator's log does.
            if self.secret_env:
                self.logger.warning(
                    "target '%s': the upstream rejected the credentials (check the token in environment variable %s)",
                    tid,
                    self.secret_env,
                )
            return AuthenticationError(f"target '{tid}': the upstream rejected the gateway's credentials")
        if status == 403:
            return PermissionDenied(f"target '{tid}': the upstream refused access{suffix}")
        if status == 404:
            return NotFound(f"target '{tid}': the upstream answered 404{suffix}", code="upstream_not_found")
        if status == 413:
            return BodyTooLarge(f"target '{tid}': the upstream refused the request as too large{suffix}")
        if status == 429:
            hint = self.retry_policy.hint(response)
            headers = {"retry-after": str(math.ceil(hint))} if hint is not None else {}
            return RateLimited(f"target '{tid}': the upstream is rate limiting requests{suffix}", headers=headers)
        if status in (400, 422):
            return RequestError(
                f"target '{tid}': the upstream rejected the request{suffix}", code="upstream_validation_error"
            )
        if status == 503:
            hint = self.retry_policy.hint(response)
            headers = {"retry-after": str(math.ceil(hint))} if hint is not None else {}
            est = f" (estimated {hint:.0f}s)" if hint is not None else ""
            return UpstreamUnavailable(
                f"target '{tid}': the model is loading or unavailable{est}{suffix}", headers=headers
            )
        if status == 504:
            return UpstreamTimeout(f"target '{tid}': the upstream timed out{suffix}")
        if 400 <= status < 500:
            return RequestError(f"target '{tid}': the upstream answered {status}{suffix}", status=status)
        return UpstreamError(f"target '{tid}': the upstream failed with {status}{suffix}")


# A cloud region in a host name: us-east-1.aws.endpoints.huggingface.cloud, eu-west-3, ...
_REGION = re.compile(r"(?:^|\.)([a-z]{2}-[a-z]+-\d{1,2})(?:\.|$)")


@functools.lru_cache(maxsize=256)
def _region(host: str) -> str | None:
    match = _REGION.search(host)
    return match.group(1) if match else None


def _called(url: httpx.URL) -> tuple[str, str | None]:
    """The URL an audit record names (no query, no credentials) and the region its host names."""
    host = url.host
    return f"{url.scheme}://{url.netloc.decode('ascii')}{url.path}", _region(host)


def forwardable_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Upstream response headers worth passing to the client (rate-limit and request ids only)."""
    out = {}
    for key, value in headers.items():
        k = key.lower()
        if k in _HOP_BY_HOP:
            continue
        if k.startswith(("x-ratelimit", "ratelimit", "retry-after", "x-request-id", "openai-")):
            out[k] = value
    return out


def parse_json_response(response: httpx.Response, target_id: str) -> Any:
    """The upstream's JSON body, or a 502 naming the target when it is not JSON."""
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        ctype = response.headers.get("content-type", "?")
        raise UpstreamError(f"target '{target_id}': the upstream answered with non-JSON content ({ctype})") from None

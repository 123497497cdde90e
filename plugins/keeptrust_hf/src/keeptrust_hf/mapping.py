"""The Hub mapping API: which backends serve a Hub model, under which id, for which task.

``GET {hub}/api/models/{org}/{name}?expand[]=inferenceProviderMapping`` (what huggingface_hub's
``HfApi.model_info(expand=["inferenceProviderMapping"])`` asks). The
answer is cached per model with a TTL (the official clients cache for the process lifetime and
never notice a remapping; a TTL plus invalidate-on-404 notices a remapping within the TTL).

The cache is bounded (least recently used entries go first), and a lookup the Hub answered with "no
such model", "no provider serves it" or "gated" is remembered for a short while, so a stream of
invented model names costs one Hub call each per NEGATIVE_TTL_SECONDS, not one per request.
"""

from __future__ import annotations

import copy
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs
import orjson
import trio

from keeptrust.errors import AuthenticationError, ModelNotFound, PermissionDenied, RequestError, UpstreamError
from keeptrust_hf.backend import quote_path

if TYPE_CHECKING:
    from keeptrust.context import RequestContext
    from keeptrust.transport import Upstream

MAX_ENTRIES = 4096  # models remembered per target; beyond it the least recently used is dropped
NEGATIVE_TTL_SECONDS = 30.0  # how long a definite "not served" answer from the Hub is reused


@attrs.frozen(kw_only=True)
class MappingEntry:
    """One backend's entry for a Hub model (hub-api.md "Get model providers")."""

    provider: str
    provider_id: str
    task: str
    status: str = "live"
    adapter: str | None = None
    adapter_weights_path: str | None = None
    hf_model_id: str = ""


def parse_mapping(hub_model: str, raw: Any) -> list[MappingEntry]:
    """Both forms the Hub uses: an object keyed by provider (model info) or a list of entries with
    a ``provider`` key (list endpoints). Order is kept: "auto" picks the first usable entry."""
    items: list[tuple[str, Mapping[str, Any]]] = []
    if isinstance(raw, dict):
        items = [(k, v) for k, v in raw.items() if isinstance(v, dict)]
    elif isinstance(raw, list):
        items = [(str(v.get("provider", "")), v) for v in raw if isinstance(v, dict)]
    out = []
    for provider, entry in items:
        provider_id = entry.get("providerId")
        task = entry.get("task")
        if not provider or not isinstance(provider_id, str) or not isinstance(task, str):
            continue
        out.append(
            MappingEntry(
                provider=provider,
                provider_id=provider_id,
                task=task,
                status=str(entry.get("status", "live")),
                adapter=entry.get("adapter"),
                adapter_weights_path=entry.get("adapterWeightsPath"),
                hf_model_id=hub_model,
            )
        )
    return out


@attrs.define(eq=False)
class _Flight:
    """One Hub lookup in progress, awaited by the callers that arrive while it runs."""

    done: trio.Event = attrs.Factory(trio.Event)
    entries: list[MappingEntry] | None = None
    error: Exception | None = None


class MappingCache:
    """Fetches and caches mappings for one target (its token decides what the Hub shows)."""

    def __init__(
        self,
        upstream: Upstream,
        hub_url: str,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        max_entries: int = MAX_ENTRIES,
        negative_ttl: float = NEGATIVE_TTL_SECONDS,
    ) -> None:
        self.upstream = upstream
        self.hub_url = hub_url.rstrip("/")
        self.ttl = ttl
        self.clock = clock
        self.max_entries = max_entries
        self.negative_ttl = negative_ttl
        # model -> (expiry, entries or the client error the Hub's answer became)
        self._cache: OrderedDict[str, tuple[float, list[MappingEntry] | Exception]] = OrderedDict()
        self._flights: dict[str, _Flight] = {}

    def invalidate(self, hub_model: str) -> None:
        self._cache.pop(hub_model, None)

    async def get(self, ctx: RequestContext | None, hub_model: str) -> list[MappingEntry]:
        """The cached entries, or one Hub request shared by every caller that arrives while it
        runs (single flight): a burst of first requests for a model costs the Hub one lookup."""
        while True:
            cached = self._cache.get(hub_model)
            now = self.clock()
            if cached is not None and cached[0] > now:
                self._cache.move_to_end(hub_model)
                if isinstance(cached[1], Exception):
                    raise copy.copy(cached[1])  # a fresh one: raising the same object would grow its traceback
                return cached[1]
            flight = self._flights.get(hub_model)
            if flight is None:
                break
            await flight.done.wait()
            if flight.error is not None:
                raise flight.error
            if flight.entries is not None:
                return flight.entries
            # The leading request was cancelled (its client went away): lead a new one.
        flight = _Flight()
        self._flights[hub_model] = flight
        try:
            entries = await self._fetch(ctx, hub_model)
            self._remember(hub_model, (now + self.ttl, entries))
            flight.entries = entries
            return entries
        except Exception as exc:
            flight.error = exc
            # Definite answers about this model (not outages, rate limits or bad credentials).
            if (
                isinstance(exc, (ModelNotFound, PermissionDenied, RequestError))
                and not isinstance(exc, AuthenticationError)
                and self.negative_ttl > 0
            ):
                self._remember(hub_model, (now + self.negative_ttl, copy.copy(exc)))
            raise
        finally:
            del self._flights[hub_model]
            flight.done.set()

    def _remember(self, hub_model: str, value: tuple[float, list[MappingEntry] | Exception]) -> None:
        self._cache[hub_model] = value
        self._cache.move_to_end(hub_model)
        while len(self._cache) > self.max_entries:
            self._cache.popitem(last=False)

    async def _fetch(self, ctx: RequestContext | None, hub_model: str) -> list[MappingEntry]:
        url = f"{self.hub_url}/api/models/{quote_path(hub_model)}"
        response = await self.upstream.request(
            ctx, "GET", url, params={"expand[]": "inferenceProviderMapping"}, raise_for_status=False
        )
        status = response.status_code
        if status >= 400:
            raise hub_error(response, hub_model, self.upstream)
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise UpstreamError(
                f"the Hugging Face Hub answered the mapping query for '{hub_model}' with non-JSON"
            ) from None
        raw = body.get("inferenceProviderMapping") if isinstance(body, dict) else None
        if raw is None:
            raise RequestError(
                f"no inference provider mapping was found for model '{hub_model}': no Inference Providers "
                "backend serves it (see its page on huggingface.co); use a Dedicated Endpoint with base_url instead",
                param="model",
                code="model_not_supported",
            )
        return parse_mapping(hub_model, raw)


def hub_error(response: Any, hub_model: str, upstream: Upstream) -> Exception:
    """Hub API errors (401, 403 for gated repos, 404) as client errors that say what to fix."""
    status = response.status_code
    code = response.headers.get("x-error-code", "")
    message = response.headers.get("x-error-message", "")
    page = f"https://huggingface.co/{hub_model}"
    if code == "GatedRepo" or (status == 403 and "gated" in message.lower()):
        return gated_error(hub_model)
    if status == 401 and "invalid credentials" in message.lower():
        # Where the token lives is for the operator's log, never the client.
        env = upstream.secret_env or "the target's secret_key_ref"
        logging.getLogger("keeptrust_hf.mapping").warning(
            "the Hugging Face Hub rejected the token; check the token in environment variable %s", env
        )
        return AuthenticationError("the Hugging Face token was rejected by the Hub")
    if status in (401, 404) or code == "RepoNotFound":
        return ModelNotFound(
            f"model '{hub_model}' was not found on the Hugging Face Hub (or it is private and the token cannot see it)",
            param="model",
        )
    if status == 403:
        return PermissionDenied(
            f"access to model '{hub_model}' was refused; check that the token may read it ({page}) and has the "
            "'Make calls to Inference Providers' permission"
        )
    return upstream.error_for(response)


def gated_error(hub_model: str) -> PermissionDenied:
    return PermissionDenied(
        f"model '{hub_model}' is gated: accept its licence on https://huggingface.co/{hub_model} with the account "
        "that owns the token, then retry",
        code="gated_model",
    )

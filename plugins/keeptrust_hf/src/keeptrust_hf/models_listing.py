"""``GET /v1/models`` for open targets: the Hub's models per installed backend, queried in parallel
(``/api/models?inference_provider={backend}``, as ``HfApi.list_models(inference_provider=...)``)
and cached with the mapping TTL."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import orjson
import trio

from keeptrust.errors import GatewayError, UpstreamError

if TYPE_CHECKING:
    from keeptrust_hf.provider import HuggingFaceProvider

LIST_LIMIT = 100
# The Hub's listing gets one attempt within this (the gateway's whole listing has its own budget):
# an unreachable Hub must not hold ``GET /v1/models`` for a target's full upstream timeout.
LIST_TIMEOUT_SECONDS = 4.0


class ModelsListing:
    """The merged listing of one open target, cached."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._cached: tuple[float, list[dict[str, Any]]] | None = None

    async def get(self, provider: HuggingFaceProvider) -> list[dict[str, Any]]:
        now = time.monotonic()
        if self._cached is not None and self._cached[0] > now:
            return self._cached[1]
        try:
            data = await _fetch_all(provider)
        except GatewayError as exc:
            if self._cached is None:
                raise
            # The last listing, kept until the Hub answers again.
            provider.logger.warning("listing Hugging Face models failed (%s); serving the last listing", exc.message)
            return self._cached[1]
        self._cached = (now + self.ttl, data)
        return data


async def list_hub_models(provider: HuggingFaceProvider) -> list[dict[str, Any]]:
    return await provider.listing.get(provider)


async def _fetch_all(provider: HuggingFaceProvider) -> list[dict[str, Any]]:
    names = sorted(provider.backends)
    results: dict[str, list[dict[str, Any]]] = {}
    errors: list[str] = []

    async def fetch(name: str) -> None:
        try:
            results[name] = await _fetch_backend(provider, name)
        except GatewayError as exc:
            errors.append(f"{name}: {exc.message}")

    async with trio.open_nursery() as nursery:
        for name in names:
            nursery.start_soon(fetch, name)
    if errors and not results:
        raise UpstreamError("listing Hugging Face models failed for every backend: " + "; ".join(errors[:3]))
    merged: dict[str, dict[str, Any]] = {}
    routes: dict[str, dict[str, Any]] = {}
    for name in names:
        for model in results.get(name, ()):
            model_id = model.get("id") or model.get("modelId")
            if not isinstance(model_id, str):
                continue
            item = merged.setdefault(
                model_id,
                {
                    "id": model_id,
                    "object": "model",
                    "created": _created(model.get("createdAt")),
                    "owned_by": model_id.split("/", 1)[0],
                    "target": provider.config.id,
                    "backends": [],
                    "tasks": [],
                },
            )
            item["backends"].append(name)
            task = model.get("pipeline_tag")
            if isinstance(task, str) and task not in item["tasks"]:
                item["tasks"].append(task)
            if isinstance(task, str):
                item.setdefault("pipeline_tag", task)
            # The same model as ``huggingface/{backend}/{id}``, the name that picks the backend.
            qualified = f"huggingface/{name}/{model_id}"
            routes[qualified] = {
                "id": qualified,
                "object": "model",
                "created": item["created"],
                "owned_by": item["owned_by"],
                "target": provider.config.id,
                "backend": name,
                "pipeline_tag": task if isinstance(task, str) else None,
                "tasks": [task] if isinstance(task, str) else [],
            }
    return [*merged.values(), *routes.values()]


async def _fetch_backend(provider: HuggingFaceProvider, name: str) -> list[dict[str, Any]]:
    url = provider.mapping.hub_url + "/api/models"
    params = {"inference_provider": name, "limit": str(LIST_LIMIT), "sort": "likes", "direction": "-1"}
    response = await provider.upstream.request(
        None, "GET", url, params=params, timeout=LIST_TIMEOUT_SECONDS, retries=0
    )
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise UpstreamError(f"the Hub answered the model list of '{name}' with non-JSON") from None
    if isinstance(body, dict):
        body = body.get("models") or []
    return [m for m in body if isinstance(m, dict)] if isinstance(body, list) else []


def _created(value: Any) -> int:
    if isinstance(value, str):
        from datetime import datetime

        try:
            return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
        except ValueError:
            return 0
    return 0

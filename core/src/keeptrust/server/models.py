"""``GET /v1/models``: what a client may name."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import trio

from keeptrust.errors import GatewayError, NotFound
from keeptrust.server.exchange import log_plugin_failure

if TYPE_CHECKING:
    from keeptrust.server.exchange import Exchange
    from keeptrust.server.gateway import Gateway
    from keeptrust.server.routes import Handler

logger = logging.getLogger("keeptrust.server")

# A listing answers within this even when a provider's own listing (the Hub) cannot be reached: the
# configured targets and whatever the other providers listed in time still go out.
LISTING_BUDGET_SECONDS = 5.0


def models_route(gateway: Gateway, created: int) -> Handler:
    """``GET /v1/models`` and ``GET /v1/models/{id}``: authenticated, not counted against the
    in-flight limit (a listing never reaches an upstream model)."""

    async def handler(exchange: Exchange) -> None:
        exchange.admit(count=False)
        data = await list_models(gateway, created)
        path = exchange.path
        if path == "/v1/models":
            data = filter_models(data, exchange.query)
            await exchange.send_json(200, {"object": "list", "data": data})
            return
        wanted = path[len("/v1/models/") :]
        for item in data:
            if item["id"] == wanted:
                await exchange.send_json(200, item)
                return
        raise NotFound(f"the model '{wanted}' does not exist on this gateway", code="model_not_found", param="model")

    return handler


async def list_models(gateway: Gateway, created: int) -> list[dict[str, Any]]:
    """Configured targets and their models, then each open target's own listing (in parallel; a
    failing provider is logged and left out, never the whole listing)."""
    seen: set[str] = set()
    data: list[dict[str, Any]] = []

    def add(item: dict[str, Any]) -> None:
        if item["id"] not in seen:
            seen.add(item["id"])
            data.append(item)

    open_targets = []
    for target in gateway.targets.values():
        owner = target.config.family
        add({"id": target.id, "object": "model", "created": created, "owned_by": owner, "target": target.id})
        if target.config.model:
            add(
                {
                    "id": target.config.model,
                    "object": "model",
                    "created": created,
                    "owned_by": owner,
                    "target": target.id,
                }
            )
        else:
            open_targets.append(target)
    if open_targets:
        results: list[list[dict[str, Any]]] = [[] for _ in open_targets]

        async def fetch(i: int, target: Any) -> None:
            try:
                with trio.fail_after(min(target.config.timeout_seconds, LISTING_BUDGET_SECONDS)):
                    results[i] = await target.provider.list_models()
            except trio.TooSlowError:
                logger.warning(
                    "listing models of target '%s' took longer than %gs; answered without them",
                    target.id,
                    min(target.config.timeout_seconds, LISTING_BUDGET_SECONDS),
                )
            except GatewayError as exc:
                logger.warning("listing models of target '%s' failed: %s", target.id, exc)
            except Exception as exc:  # one plugin's bug leaves the rest of the listing up
                owner = ("provider", target.provider.name)
                log_plugin_failure(gateway.registry, f"listing models of target '{target.id}'", owner, exc)

        async with trio.open_nursery() as nursery:
            for i, target in enumerate(open_targets):
                nursery.start_soon(fetch, i, target)
        for items in results:
            for item in items:
                add(item)
    return data


def filter_models(data: list[dict[str, Any]], query: bytes) -> list[dict[str, Any]]:
    """``GET /v1/models?key=value``: keep the items whose ``key`` is ``value`` or a list holding it
    (``?pipeline_tag=text-to-image``, ``?target=hf``). Unknown keys filter everything out."""
    from urllib.parse import parse_qsl

    wanted = parse_qsl(query.decode("latin-1"), keep_blank_values=False)
    if not wanted:
        return data

    def keep(item: dict[str, Any]) -> bool:
        for key, value in wanted:
            have = item.get(key)
            if have != value and not (isinstance(have, list) and value in have):
                return False
        return True

    return [item for item in data if keep(item)]

"""``GET /v1/models``: what a client may name."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import trio

from keeptrust.errors import GatewayError

if TYPE_CHECKING:
    from keeptrust.server.gateway import Gateway

logger = logging.getLogger("keeptrust.server")


async def list_models(
    gateway: Gateway, created: int, plugin_failed: Callable[[str, tuple[str, str], Exception], None]
) -> list[dict[str, Any]]:
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
                with trio.fail_after(target.config.timeout_seconds):
                    results[i] = await target.provider.list_models()
            except (GatewayError, trio.TooSlowError) as exc:
                logger.warning("listing models of target '%s' failed: %s", target.id, exc)
            except Exception as exc:  # one plugin's bug leaves the rest of the listing up
                owner = ("provider", target.provider.name)
                plugin_failed(f"listing models of target '{target.id}'", owner, exc)

        async with trio.open_nursery() as nursery:
            for i, target in enumerate(open_targets):
                nursery.start_soon(fetch, i, target)
        for items in results:
            for item in items:
                add(item)
    return data

"""Providers: the base class a provider family subclasses and what the core hands it.

Public module: plugins import it; the names in ``__all__`` are its API."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from keeptrust.config.model import TargetConfig
from keeptrust.errors import UnsupportedOperation
from keeptrust.transport import DEFAULT_RETRY_POLICY, RetryPolicy

if TYPE_CHECKING:
    from keeptrust.context import RequestContext
    from keeptrust.plugins import Registry
    from keeptrust.results import Result
    from keeptrust.secrets import Redactor, Secret
    from keeptrust.transport import Upstream


@attrs.frozen
class ProviderEnv:
    """What the core hands a provider for one target at start-up."""

    upstream: Upstream
    secret: Secret | None
    redactor: Redactor
    logger: logging.Logger
    registry: Registry
    # The environment secret references are read from (``os.environ`` unless a test passes one),
    # for secret references of a family's own (keeptrust-hf's ``direct.secret_key_ref``).
    environ: Mapping[str, str] = attrs.Factory(lambda: os.environ)


class Provider:
    """Base class of a provider family; one instance per target."""

    name: ClassVar[str]
    config_class: ClassVar[type[TargetConfig]] = TargetConfig
    # Operations this family can perform (``keeptrust.context`` constants).
    operations: ClassVar[frozenset[str]] = frozenset()
    # How the transport of this family's targets retries error answers.
    retry_policy: ClassVar[RetryPolicy] = DEFAULT_RETRY_POLICY
    # For open targets: a phrase for "model not found" errors saying which names this target accepts.
    naming_hint: str | None = None

    def __init__(self, config: TargetConfig, env: ProviderEnv) -> None:
        self.config = config
        self.env = env

    @property
    def upstream(self) -> Upstream:
        return self.env.upstream

    def resolve_model(self, model: str) -> str | None:
        """For open targets (no ``model``): the upstream model for the client's ``model``, or None."""
        return None

    def supports(self, operation: str) -> bool:
        return operation in self.operations

    async def execute(self, ctx: RequestContext) -> Result:
        raise UnsupportedOperation(
            f"target '{self.config.id}' ({self.name}) does not support the operation '{ctx.operation}'",
            param="model",
        )

    async def list_models(self) -> list[dict[str, Any]]:
        return []

    async def aclose(self) -> None:
        await self.env.upstream.aclose()


__all__ = [
    "Provider",
    "ProviderEnv",
]

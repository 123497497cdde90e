"""Targets at run time, and the resolution of a request's ``model`` to one of them."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

import attrs

from keeptrust.config.model import TargetConfig
from keeptrust.errors import ConfigError, ModelNotFound
from keeptrust.provider import Provider, ProviderEnv
from keeptrust.secrets import Redactor, Secret
from keeptrust.transport import DEFAULT_RETRY_POLICY, Upstream

if TYPE_CHECKING:
    from keeptrust.config.loader import LoadedConfig
    from keeptrust.plugins import Registry


@attrs.define(eq=False)
class Target:
    config: TargetConfig
    provider: Provider

    @property
    def id(self) -> str:
        return self.config.id

    @property
    def is_open(self) -> bool:
        return self.config.model is None


def resolve_secrets(loaded: LoadedConfig, environ: Mapping[str, str] | None = None) -> dict[str, Secret]:
    """Read every ``secret_key_ref`` from the environment. A missing variable is a ``ConfigError``
    naming the target (or gateway key) and the variable, never a value."""
    env = os.environ if environ is None else environ
    out: dict[str, Secret] = {}
    errors: list[str] = []
    for i, target in enumerate(loaded.targets):
        ref = target.secret_key_ref
        if ref is None:
            continue
        value = env.get(ref.env)
        if not value:
            errors.append(
                f"providers.targets[{i}].secret_key_ref.env: environment variable {ref.env} "
                f"(the key of target '{target.id}') is not set"
            )
            continue
        out[f"target:{target.id}"] = Secret(value, ref.env)
    for i, key in enumerate(loaded.gateway.server.auth.keys):
        value = env.get(key.key_ref.env)
        if not value:
            errors.append(f"server.auth.keys[{i}].key_ref.env: environment variable {key.key_ref.env} is not set")
            continue
        out[f"key:{i}"] = Secret(value, key.key_ref.env)
    if errors:
        raise ConfigError(errors)
    return out


def build_targets(
    loaded: LoadedConfig,
    registry: Registry,
    secrets: Mapping[str, Secret],
    redactor: Redactor,
    logger: logging.Logger,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Target]:
    targets: dict[str, Target] = {}
    for config in loaded.targets:
        cls = registry.providers[config.family]
        secret = secrets.get(f"target:{config.id}")
        auth_header_for = getattr(cls, "auth_header", None)
        if auth_header_for is not None:
            auth = auth_header_for(config, secret)
        else:
            auth = {"authorization": f"Bearer {secret.reveal()}"} if secret else {}
        upstream = Upstream(
            config,
            redactor=redactor,
            auth_header=auth,
            logger=logger.getChild(f"target.{config.id}"),
            secret_env=config.secret_key_ref.env if config.secret_key_ref else None,
            retry_policy=getattr(cls, "retry_policy", DEFAULT_RETRY_POLICY),
        )
        env = ProviderEnv(
            upstream=upstream,
            secret=secret,
            redactor=redactor,
            logger=logger.getChild(cls.name),
            registry=registry,
            environ=os.environ if environ is None else environ,
        )
        targets[config.id] = Target(config, cls(config, env))
    return targets


class ModelResolver:
    """Pick the target for a request's ``model``: target id, then a target's
    ``model``, then an open target that accepts the name."""

    def __init__(self, targets: Mapping[str, Target]) -> None:
        self.targets = dict(targets)
        self._by_model: dict[str, Target] = {}
        for t in self.targets.values():
            if t.config.model is not None:
                self._by_model.setdefault(t.config.model, t)
        self._open = [t for t in self.targets.values() if t.is_open]

    def resolve(self, model: str | None) -> tuple[Target, str | None]:
        """The target and the upstream model name (None: the target's own)."""
        if not model:
            if len(self.targets) == 1:
                return next(iter(self.targets.values())), None
            raise ModelNotFound("the request has no 'model'; " + self.how_to_name(), param="model")
        target = self.targets.get(model) or self._by_model.get(model)
        if target is not None:
            return target, None
        for t in self._open:
            upstream_model = t.provider.resolve_model(model)
            if upstream_model is not None:
                return t, upstream_model
        raise ModelNotFound(f"the model '{model}' does not exist on this gateway; " + self.how_to_name(), param="model")

    def how_to_name(self) -> str:
        ids = sorted(self.targets)
        models = sorted(self._by_model)
        parts = []
        if ids:
            parts.append("valid target ids: " + ", ".join(ids[:20]))
        if models:
            parts.append("valid models: " + ", ".join(models[:20]))
        if self._open:
            hints = [getattr(t.provider, "naming_hint", None) for t in self._open]
            parts.extend(h for h in hints if h)
        return "; ".join(parts) if parts else "no targets are configured"

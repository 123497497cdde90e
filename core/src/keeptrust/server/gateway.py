"""The gateway's state, built once at start-up from a validated config and the plugin registry."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping
from typing import Any

import attrs

from keeptrust.access import AccessRules, build_access
from keeptrust.chain import PolicyChain
from keeptrust.config.loader import LoadedConfig
from keeptrust.config.model import ServerConfig
from keeptrust.errors import ConfigError, GatewayError, PluginError
from keeptrust.groups import build_groups
from keeptrust.plugins import Registry
from keeptrust.policy import Policy, PolicyEnv
from keeptrust.secrets import Redactor, key_id
from keeptrust.server.auth import Authenticator, GatewayKey
from keeptrust.targets import ModelResolver, Target, build_targets, resolve_secrets


@attrs.define(eq=False)
class Gateway:
    loaded: LoadedConfig
    registry: Registry
    targets: dict[str, Target]
    resolver: ModelResolver
    chain: PolicyChain
    redactor: Redactor
    auth: Authenticator
    logger: logging.Logger
    access: AccessRules = attrs.Factory(lambda: AccessRules({}, {}))
    # The bearer key ``GET /metrics`` requires (``server.metrics.key_ref``), or None.
    metrics_key: str | None = None

    @property
    def server(self) -> ServerConfig:
        return self.loaded.gateway.server

    async def aclose(self) -> None:
        for policy in self.chain.policies:
            close = getattr(policy, "aclose", None)
            if close is not None:
                try:
                    await close()
                except Exception as exc:  # shutdown goes on for the others
                    self.logger.error("policy '%s' failed to close: %s", policy.name, exc)
        for target in self.targets.values():
            try:
                await target.provider.aclose()
            except Exception as exc:
                self.logger.error("target '%s' failed to close: %s", target.id, exc)


def build_gateway(
    loaded: LoadedConfig,
    registry: Registry,
    *,
    environ: Mapping[str, str] | None = None,
    logger: logging.Logger | None = None,
    redactor: Redactor | None = None,
) -> Gateway:
    """Resolve secrets, build targets and policies. Raises ``ConfigError``/``PluginError``."""
    logger = logger or logging.getLogger("keeptrust")
    secrets = resolve_secrets(loaded, environ)
    redactor = redactor or Redactor()
    redactor.add(*(s.reveal() for s in secrets.values()))
    # Policies (the audit sinks) resolve their own secret refs and scrub with the gateway's redactor.
    environ = os.environ if environ is None else environ
    targets = build_targets(loaded, registry, secrets, redactor, logger, environ)
    targets.update(build_groups(loaded.groups, targets))

    keys: dict[str, GatewayKey] = {}
    key_ids: list[str] = []
    for i, key in enumerate(loaded.gateway.server.auth.keys):
        value = secrets[f"key:{i}"].reveal()
        key_ids.append(key.id or key_id(value))
        keys[hashlib.sha256(value.encode()).hexdigest()] = GatewayKey(key_ids[-1], key.role)

    env = PolicyEnv(
        logger=logger, registry=registry, config=loaded, targets=targets, redactor=redactor, environ=environ
    )
    entries: list[tuple[str, Policy, str]] = []
    for name in loaded.chain:
        cls = registry.policies[name]
        plugin = registry.owners.get(("policy", name), "?")
        try:
            policy = cls(loaded.policies[name], attrs.evolve(env, logger=logger.getChild(f"policy.{name}")))
        except (ConfigError, GatewayError):
            raise
        except Exception as exc:  # a policy that cannot start names its plugin
            dist = registry.plugins[plugin].distribution if plugin in registry.plugins else "?"
            raise PluginError(
                f"policy '{name}' (plugin {plugin}, distribution {dist}) failed to start: {type(exc).__name__}: {exc}"
            ) from exc
        entries.append((name, policy, plugin))
    enabled = loaded.gateway.pack.enabled
    chain = PolicyChain(entries, enabled=enabled)
    if not enabled:
        logger.warning(
            "pack '%s' is disabled (pack.enabled: false): its policies are off; the audit log stays on",
            loaded.gateway.pack.name,
        )
    auth = Authenticator(keys, loaded.gateway.server.auth.role_header)
    metrics_key = _metrics_key(loaded, environ)
    if metrics_key:
        redactor.add(metrics_key)
    return Gateway(
        loaded,
        registry,
        targets,
        ModelResolver(targets),
        chain,
        redactor,
        auth,
        logger,
        build_access(loaded, key_ids),
        metrics_key,
    )


def _metrics_key(loaded: LoadedConfig, environ: Mapping[str, str]) -> str | None:
    ref = loaded.gateway.server.metrics.key_ref
    if ref is None:
        return None
    value = environ.get(ref.env)
    if not value:
        raise ConfigError(f"server.metrics.key_ref.env: environment variable {ref.env} is not set")
    return value


def deployment_variables(loaded: LoadedConfig) -> list[str]:
    """The environment variables a deployment supplies for this config: every ``secret_key_ref``
    (targets, gateway keys, and any policy or sink option holding one) and the audit collector's URL."""
    from keeptrust.audit.config import ENDPOINT_ENV, AuditLoggerConfig
    from keeptrust.config.model import SecretRef

    names: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, SecretRef):
            names.append(value.env)
        elif attrs.has(type(value)):
            for field in attrs.fields(type(value)):
                walk(getattr(value, field.name))
        elif isinstance(value, dict):
            for key, item in value.items():
                # Plugin options stay raw dicts until the plugin structures them (a sink's
                # ``dsn_ref: {env: NAME}``): a ``*_ref`` naming an ``env`` is a secret ref too.
                if (
                    isinstance(key, str)
                    and key.endswith("_ref")
                    and isinstance(item, dict)
                    and isinstance(item.get("env"), str)
                ):
                    names.append(item["env"])
                    continue
                walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)

    walk(loaded.targets)
    walk(loaded.gateway.server.auth.keys)
    walk(loaded.gateway.server.metrics)
    walk(list(loaded.policies.values()))
    for config in loaded.policies.values():
        if isinstance(config, AuditLoggerConfig) and config.destination == "api" and not config.endpoint:
            names.append(ENDPOINT_ENV)
    return list(dict.fromkeys(names))


def check_start_up(
    loaded: LoadedConfig,
    registry: Registry,
    environ: Mapping[str, str] | None = None,
    *,
    require_environment: bool = False,
) -> list[str]:
    """Build the gateway as ``kt gateway run`` does at start-up (targets, policies, their plugin
    detectors and audit sinks), without serving or opening anything, then close it: every check
    start-up runs, runs. The config file is checked apart from the machine it is checked on: a
    deployment variable (``deployment_variables``) that is not set here gets a placeholder, and the
    names of those left unset are returned (``kt config validate`` warns about them), unless
    ``require_environment``. Raises ``ConfigError`` or ``PluginError`` as start-up would."""
    import trio

    env = dict(os.environ if environ is None else environ)
    missing: list[str] = []
    if not require_environment:
        for name in deployment_variables(loaded):
            if not env.get(name):
                missing.append(name)
                env[name] = "https://placeholder.invalid/"
    gateway = build_gateway(loaded, registry, environ=env, logger=logging.getLogger("keeptrust.validate"))
    trio.run(gateway.aclose)
    return missing

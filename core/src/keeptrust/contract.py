"""The plugin contract as typed Protocols, and the checks ``register`` runs on every class.

Each registration hook (``keeptrust.hookspecs``) receives classes; the Protocols below say what
each kind of class must have, and the ``check_*`` functions are what the registry runs when a
plugin calls ``register``: a class that lacks a required member, or has one of the wrong kind, is a
start-up error naming the plugin, the class and the member. The base classes
``keeptrust.Provider`` and ``keeptrust.Policy`` supply every member but ``name`` and ``execute``.

Public module: plugins may import it (and type their classes against the Protocols).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import attrs

if TYPE_CHECKING:
    from keeptrust.config.loader import LoadedConfig
    from keeptrust.config.model import TargetConfig
    from keeptrust.context import RequestContext
    from keeptrust.plugins import Registry
    from keeptrust.policy import Decision, PolicyEnv, StreamFilter
    from keeptrust.provider import ProviderEnv
    from keeptrust.results import Result
    from keeptrust.secrets import Secret

__all__ = [
    "AuditSinkClass",
    "ConfigCheck",
    "PolicyClass",
    "ProviderClass",
    "check_policy",
    "check_provider",
    "check_sink",
    "check_tracer",
]


@attrs.frozen
class ConfigCheck:
    """What a class's ``check_config`` receives besides its own structured config."""

    # The whole validated config (read-only).
    loaded: LoadedConfig
    # Every registered provider, policy and audit sink (and what plugins register through their
    # own hooks, via ``registry.extension``), so a check never hard-codes a list of built-ins.
    registry: Registry
    # The environment ``${VAR}`` and ``secret_key_ref`` values come from.
    environ: Mapping[str, str]


@runtime_checkable
class ProviderClass(Protocol):
    """A provider family (``register_providers``). Members marked optional may be absent."""

    name: ClassVar[str]
    config_class: ClassVar[type[TargetConfig]]

    def __init__(self, config: Any, env: ProviderEnv) -> None: ...

    def supports(self, operation: str) -> bool: ...

    async def execute(self, ctx: RequestContext) -> Result: ...

    # Optional: resolve_model(model) -> str | None, async list_models() -> list[dict],
    # async aclose(), naming_hint: str | None (instance attribute), and the class-level
    # expand_shorthand(raw) -> raw, auth_header(config, secret) -> dict, check_config(config, check).


@runtime_checkable
class PolicyClass(Protocol):
    """A policy (``register_policies``)."""

    name: ClassVar[str]
    config_class: ClassVar[type]

    def __init__(self, config: Any, env: PolicyEnv) -> None: ...

    async def on_request(self, ctx: RequestContext) -> Decision | None: ...

    async def on_response(self, ctx: RequestContext, body: Any) -> Decision | None: ...

    def stream_filter(self, ctx: RequestContext) -> StreamFilter | None: ...

    async def on_complete(self, ctx: RequestContext) -> None: ...

    # Optional: async run(task_status), async aclose(), check_config(config, check).


@runtime_checkable
class AuditSinkClass(Protocol):
    """An audit destination (``register_audit_sinks``)."""

    name: ClassVar[str]
    config_class: ClassVar[type]

    async def write(self, records: list[dict[str, Any]]) -> None: ...

    async def aclose(self) -> None: ...

    # Optional: async open() -> OpenedChain, async run(task_status), async prune(now) -> int.


# Optional class-level members and their expected arity (positional arguments after cls/self).
AuthHeader = Callable[["TargetConfig", "Secret | None"], dict[str, str]]


def _members(cls: type, required: dict[str, str], optional: dict[str, str], *, configured: bool = True) -> list[str]:
    problems: list[str] = []
    if configured and not attrs.has(getattr(cls, "config_class", None) or object):
        if not hasattr(cls, "config_class"):
            problems.append("has no 'config_class' (a frozen attrs class its config is structured into)")
        else:
            problems.append("has a 'config_class' that is not an attrs class")
    for member, kind in required.items():
        value = inspect.getattr_static(cls, member, None)
        if value is None:
            problems.append(f"has no '{member}' ({kind})")
        elif kind.startswith("async") and not inspect.iscoroutinefunction(getattr(cls, member)):
            problems.append(f"has a '{member}' that is not 'async def'")
        elif not kind.startswith("async") and not callable(getattr(cls, member)):
            problems.append(f"has a '{member}' that is not callable")
    for member, kind in optional.items():
        value = inspect.getattr_static(cls, member, None)
        if value is None:
            continue
        if kind.startswith("async") and not inspect.iscoroutinefunction(getattr(cls, member)):
            problems.append(f"has a '{member}' that is not 'async def'")
        elif kind == "callable" and not callable(getattr(cls, member)):
            problems.append(f"has a '{member}' that is not callable")
    return problems


def check_provider(cls: type) -> list[str]:
    return _members(
        cls,
        {"execute": "async def execute(ctx)", "supports": "supports(operation) -> bool"},
        {
            "list_models": "async",
            "aclose": "async",
            "resolve_model": "callable",
            "expand_shorthand": "callable",
            "auth_header": "callable",
            "check_config": "callable",
        },
    )


def check_policy(cls: type) -> list[str]:
    # The ``keeptrust.Policy`` base class supplies no-op per-request methods; a class that does
    # not subclass it must define the ones it needs, each ``async`` where the core awaits it.
    return _members(
        cls,
        {},
        {
            "on_request": "async",
            "on_response": "async",
            "on_complete": "async",
            "run": "async",
            "aclose": "async",
            "stream_filter": "callable",
            "check_config": "callable",
        },
    )


def check_sink(cls: type) -> list[str]:
    return _members(
        cls,
        {"write": "async def write(records)", "aclose": "async def aclose()"},
        {"open": "async", "run": "async", "prune": "async", "open_log": "callable"},
    )


def check_tracer(cls: type) -> list[str]:
    # A tracer has no config block (its settings come from the environment): no config_class.
    return _members(
        cls,
        {"start": "start(ctx, route, method, headers)", "aclose": "async def aclose()"},
        {},
        configured=False,
    )

"""Plugin discovery and the registry of what each plugin registered.

Built-ins are plugins too: ``DEFAULT_PLUGINS`` are registered through the same hooks as the
entry points found in the group ``keeptrust``. There is no global plugin manager: every gateway (and
every test) builds its own with ``make_plugin_manager``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable
from typing import Any

import attrs
import pluggy
from importlib_metadata import entry_points

from keeptrust import hookspecs
from keeptrust.errors import PluginError

ENTRY_POINT_GROUP = "keeptrust"

DEFAULT_PLUGINS: tuple[str, ...] = (
    "keeptrust.builtins.openai_provider",
    "keeptrust.builtins.router_policy",
    "keeptrust.builtins.audit_policy",
    "keeptrust.builtins.audit_sinks",
    "keeptrust.builtins.audit_commands",
    "keeptrust.builtins.scaffold",
)


@attrs.define
class PluginInfo:
    """One loaded plugin: where it came from and what it registered."""

    name: str
    distribution: str
    version: str
    module: str
    path: str | None
    builtin: bool
    registered: dict[str, list[str]] = attrs.Factory(dict)


@attrs.define
class Route:
    method: str
    path: str
    handler: Callable[..., Any]
    plugin: str


@attrs.define
class Registry:
    """Everything plugins registered, by kind and name, plus which plugin registered it."""

    providers: dict[str, type] = attrs.Factory(dict)
    policies: dict[str, type] = attrs.Factory(dict)
    audit_sinks: dict[str, type] = attrs.Factory(dict)
    routes: dict[tuple[str, str], Route] = attrs.Factory(dict)
    plugins: dict[str, PluginInfo] = attrs.Factory(dict)
    owners: dict[tuple[str, str], str] = attrs.Factory(dict)
    pm: pluggy.PluginManager | None = None

    def _claim(self, kind: str, name: str, plugin: str) -> None:
        owner = self.owners.get((kind, name))
        if owner is not None:
            first = self.plugins[owner].distribution if owner in self.plugins else owner
            second = self.plugins[plugin].distribution if plugin in self.plugins else plugin
            raise PluginError(
                f"plugin '{plugin}' (distribution {second}) registers {kind} '{name}', "
                f"which plugin '{owner}' (distribution {first}) already registered"
            )
        self.owners[(kind, name)] = plugin
        if plugin in self.plugins:
            self.plugins[plugin].registered.setdefault(kind, []).append(name)

    def _named(self, kind: str, table: dict[str, type], plugin: str) -> Callable[[type], None]:
        def register(cls: type) -> None:
            name = getattr(cls, "name", None)
            if not isinstance(name, str) or not name:
                raise PluginError(f"plugin '{plugin}' registered a {kind} without a 'name': {cls!r}")
            if not hasattr(cls, "config_class"):
                raise PluginError(f"plugin '{plugin}' registered {kind} '{name}' without a 'config_class'")
            self._claim(kind, name, plugin)
            table[name] = cls

        return register

    def _route(self, plugin: str) -> Callable[..., None]:
        def register(method: str, path: str, handler: Callable[..., Any]) -> None:
            key = (method.upper(), path)
            self._claim("route", f"{method.upper()} {path}", plugin)
            self.routes[key] = Route(method.upper(), path, handler, plugin)

        return register

    def hook(self, name: str) -> Any:
        assert self.pm is not None
        return getattr(self.pm.hook, name)


def _env_list(value: str | None) -> list[str]:
    return [p.strip() for p in (value or "").split(",") if p.strip()]


def make_plugin_manager(
    *,
    disable: Iterable[str] = (),
    load_only: Iterable[str] | None = None,
    extra_plugins: Iterable[Any] = (),
    environ: dict[str, str] | None = None,
    entry_point_group: str = ENTRY_POINT_GROUP,
) -> tuple[pluggy.PluginManager, dict[str, PluginInfo]]:
    """Build a plugin manager with the built-ins and every installed plugin.

    ``disable`` (and env ``KEEPTRUST_DISABLE_PLUGINS``) skips plugins by name; ``load_only`` (and env
    ``KEEPTRUST_LOAD_PLUGINS``) loads only the named entry-point plugins (built-ins always load
    unless disabled). ``extra_plugins`` are module objects or names registered after the rest (tests).
    """
    env = os.environ if environ is None else environ
    disabled = set(disable) | set(_env_list(env.get("KEEPTRUST_DISABLE_PLUGINS")))
    only = set(load_only) if load_only is not None else set(_env_list(env.get("KEEPTRUST_LOAD_PLUGINS")))
    pm = pluggy.PluginManager("keeptrust")
    pm.add_hookspecs(hookspecs)
    infos: dict[str, PluginInfo] = {}
    core_version = _version("keeptrust")

    for module_name in DEFAULT_PLUGINS:
        short = module_name.rsplit(".", 1)[1]
        if short in disabled or module_name in disabled:
            continue
        module = importlib.import_module(module_name)
        pm.register(module, name=short)
        infos[short] = PluginInfo(
            short, "keeptrust", core_version, module_name, getattr(module, "__file__", None), True
        )

    for ep in entry_points(group=entry_point_group):
        if ep.name in disabled or (only and ep.name not in only):
            continue
        dist = ep.dist.name if ep.dist is not None else "unknown"
        version = ep.dist.version if ep.dist is not None else "?"
        if ep.name in infos:
            raise PluginError(
                f"two plugins are named '{ep.name}' (distribution {dist} and {infos[ep.name].distribution})"
            )
        try:
            module = ep.load()
        except Exception as exc:  # any import failure is reported with the distribution
            raise PluginError(
                f"plugin '{ep.name}' from distribution {dist} {version} failed to load: {type(exc).__name__}: {exc}"
            ) from exc
        try:
            pm.register(module, name=ep.name)
        except Exception as exc:
            raise PluginError(f"plugin '{ep.name}' from distribution {dist} could not be registered: {exc}") from exc
        infos[ep.name] = PluginInfo(ep.name, dist, version, ep.value, getattr(module, "__file__", None), False)

    for plugin in extra_plugins:
        module = importlib.import_module(plugin) if isinstance(plugin, str) else plugin
        name = getattr(module, "__name__", repr(module)).rsplit(".", 1)[-1]
        if name in disabled:
            continue
        pm.register(module, name=name)
        infos[name] = PluginInfo(
            name, "(test)", "-", getattr(module, "__name__", "?"), getattr(module, "__file__", None), False
        )

    # A plugin may add hooks for its own sub-plugins (keeptrust-hf adds ``register_hf_backends``) by
    # naming the module holding them in ``KEEPTRUST_HOOKSPECS``; added before the check below so an
    # implementation of such a hook is validated like any other.
    added_specs: set[str] = set()
    try:
        for plugin in pm.get_plugins():
            spec_module = getattr(plugin, "KEEPTRUST_HOOKSPECS", None)
            if isinstance(spec_module, str) and spec_module not in added_specs:
                added_specs.add(spec_module)
                pm.add_hookspecs(importlib.import_module(spec_module))
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        plugin_name = pm.get_name(exc.plugin) if exc.plugin is not None else "?"
        dist = infos[plugin_name].distribution if plugin_name in infos else "?"
        raise PluginError(f"plugin '{plugin_name}' (distribution {dist}) implements an unknown hook: {exc}") from exc
    return pm, infos


def _version(dist: str) -> str:
    from importlib_metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "0+unknown"


def build_registry(pm: pluggy.PluginManager, infos: dict[str, PluginInfo]) -> Registry:
    """Call every start-up hook, plugin by plugin, so a failure names the plugin that raised."""
    registry = Registry(plugins=infos, pm=pm)
    for plugin in pm.get_plugins():
        name = pm.get_name(plugin)
        assert name is not None
        calls = (
            ("register_providers", registry._named("provider", registry.providers, name)),
            ("register_policies", registry._named("policy", registry.policies, name)),
            ("register_audit_sinks", registry._named("audit sink", registry.audit_sinks, name)),
            ("register_routes", registry._route(name)),
        )
        for hook_name, register in calls:
            impl = getattr(plugin, hook_name, None)
            if impl is None:
                continue
            try:
                impl(register=register)
            except PluginError:
                raise
            except Exception as exc:  # reported with the plugin's distribution
                dist = infos[name].distribution if name in infos else "?"
                raise PluginError(
                    f"plugin '{name}' (distribution {dist}) failed in {hook_name}: {type(exc).__name__}: {exc}"
                ) from exc
    return registry


CORE_HOOKS = frozenset(
    {"register_providers", "register_policies", "register_audit_sinks", "register_commands", "register_routes"}
)


def describe_extension_hooks(registry: Registry) -> None:
    """Add to each plugin's ``registered`` what it registers through hooks other plugins define
    (keeptrust-hf's ``register_hf_backends``), by calling those hooks with a recording ``register``:
    registration hooks only declare, so this is safe, and ``kt plugins list`` can show everything."""
    pm = registry.pm
    if pm is None:
        return
    for hook_name in sorted(dir(pm.hook)):
        if not hook_name.startswith("register_") or hook_name in CORE_HOOKS:
            continue
        kind = hook_name[len("register_") :].removesuffix("s").replace("_", " ")
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            info = registry.plugins.get(impl.plugin_name)
            if info is None:
                continue
            names = info.registered.setdefault(kind, [])

            def record(obj: Any, *_: Any, names: list[str] = names, **__: Any) -> None:
                names.append(str(getattr(obj, "name", None) or getattr(obj, "__name__", obj)))

            try:
                impl.function(register=record)
            except Exception as exc:  # listed, not raised: the gateway reports it when it starts
                names.append(f"<{hook_name} failed: {type(exc).__name__}: {exc}>")


def load_registry(
    *,
    disable: Iterable[str] = (),
    load_only: Iterable[str] | None = None,
    extra_plugins: Iterable[Any] = (),
    environ: dict[str, str] | None = None,
) -> Registry:
    pm, infos = make_plugin_manager(disable=disable, load_only=load_only, extra_plugins=extra_plugins, environ=environ)
    return build_registry(pm, infos)

"""Plugin discovery and the registry of what each plugin registered.

Built-ins are plugins too: ``DEFAULT_PLUGINS`` are registered through the same hooks as the
entry points found in the group ``keeptrust``. There is no global plugin manager: every gateway (and
every test) builds its own with ``make_plugin_manager``.

Public module: plugins import it; the names in ``__all__`` are its API.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable, Iterable
from typing import Any

import attrs
import pluggy
from importlib_metadata import entry_points

from keeptrust import contract, hookspecs
from keeptrust.errors import PluginError

ENTRY_POINT_GROUP = "keeptrust"

DEFAULT_PLUGINS: tuple[str, ...] = (
    "keeptrust.builtins.openai_provider",
    "keeptrust.builtins.router_policy",
    "keeptrust.builtins.rate_limit_policy",
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
    """A plugin route. ``path`` is literal, or a template whose ``{name}`` segments match one path
    segment and a final ``{name:path}`` the rest of the path (``/models/{org}/{name}{tail:path}``).
    ``raw_body`` routes receive the body as bytes (binary uploads), the others parsed JSON."""

    method: str
    path: str
    handler: Callable[..., Any]
    plugin: str
    raw_body: bool = False
    pattern: re.Pattern[str] | None = None

    def match(self, path: str) -> dict[str, str] | None:
        if self.pattern is None:
            return {} if path == self.path else None
        found = self.pattern.fullmatch(path)
        return found.groupdict() if found is not None else None


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(:path)?\}")


def route_pattern(path: str) -> re.Pattern[str] | None:
    """The regular expression of a templated route path; ``None`` for a literal path."""
    if "{" not in path:
        return None
    out, last = [], 0
    for m in _PLACEHOLDER.finditer(path):
        out.append(re.escape(path[last : m.start()]))
        out.append(f"(?P<{m.group(1)}>.*)" if m.group(2) else f"(?P<{m.group(1)}>[^/]+)")
        last = m.end()
    out.append(re.escape(path[last:]))
    return re.compile("".join(out))


@attrs.define
class Registry:
    """Everything plugins registered, by kind and name, plus which plugin registered it."""

    providers: dict[str, type] = attrs.Factory(dict)
    policies: dict[str, type] = attrs.Factory(dict)
    audit_sinks: dict[str, type] = attrs.Factory(dict)
    routes: dict[tuple[str, str], Route] = attrs.Factory(dict)
    tracers: dict[str, type] = attrs.Factory(dict)
    plugins: dict[str, PluginInfo] = attrs.Factory(dict)
    owners: dict[tuple[str, str], str] = attrs.Factory(dict)
    pm: pluggy.PluginManager | None = None
    # What plugins registered through hooks other plugins define, by hook name (filled on demand).
    extensions: dict[str, dict[str, type]] = attrs.Factory(dict)

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

    def _named(
        self,
        kind: str,
        table: dict[str, type],
        plugin: str,
        check: Callable[[type], list[str]] | None = None,
    ) -> Callable[[type], None]:
        def register(cls: type) -> None:
            name = getattr(cls, "name", None)
            if not isinstance(name, str) or not name:
                raise PluginError(f"plugin '{plugin}' registered a {kind} without a 'name': {cls!r}")
            problems = check(cls) if check is not None else []
            if problems:
                raise PluginError(_refusal(plugin, kind, name, cls, problems))
            self._claim(kind, name, plugin)
            table[name] = cls

        return register

    def defines(self, hook_name: str) -> bool:
        """Whether some loaded plugin defines the hook ``hook_name`` (see ``KEEPTRUST_HOOKSPECS``)."""
        caller = getattr(self.pm.hook, hook_name, None) if self.pm is not None else None
        return caller is not None and caller.spec is not None

    def extension(self, hook_name: str, check: Callable[[type], list[str]] | None = None) -> dict[str, type]:
        """Call ``hook_name``, a registration hook a plugin defines for its own sub-plugins (keeptrust-hf's
        ``register_hf_backends``, keeptrust-guard's ``register_guard_detectors``), on every plugin that
        implements it; return what they registered by name.

        The rules are the core hooks' rules: each registered class has a ``name``, passes ``check``
        (which returns what is wrong with a class), and one name has one owner. The hook runs once per
        registry; later calls return the same table. Raises ``PluginError`` naming the plugin.
        """
        table = self.extensions.get(hook_name)
        if table is not None:
            # Collected earlier (``kt plugins list`` collects without the defining plugin's check).
            if check is not None:
                for name, cls in table.items():
                    problems = check(cls)
                    if problems:
                        owner = self.owners.get((extension_kind(hook_name), name), "?")
                        raise PluginError(_refusal(owner, extension_kind(hook_name), name, cls, problems))
            return table
        if not self.defines(hook_name):
            raise PluginError(f"no loaded plugin defines the hook '{hook_name}'")
        assert self.pm is not None
        kind = extension_kind(hook_name)
        table = {}
        # In load order (pluggy lists implementations as registered), like the core hooks.
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            self._call(impl.plugin_name, hook_name, impl.function, self._named(kind, table, impl.plugin_name, check))
        self.extensions[hook_name] = table
        return table

    def _call(self, plugin: str, hook_name: str, impl: Callable[..., Any], register: Callable[..., None]) -> None:
        try:
            impl(register=register)
        except PluginError:
            raise
        except Exception as exc:  # reported with the plugin's distribution
            dist = self.plugins[plugin].distribution if plugin in self.plugins else "?"
            raise PluginError(
                f"plugin '{plugin}' (distribution {dist}) failed in {hook_name}: {type(exc).__name__}: {exc}"
            ) from exc

    def _route(self, plugin: str) -> Callable[..., None]:
        def register(method: str, path: str, handler: Callable[..., Any], *, raw_body: bool = False) -> None:
            key = (method.upper(), path)
            self._claim("route", f"{method.upper()} {path}", plugin)
            self.routes[key] = Route(method.upper(), path, handler, plugin, raw_body, route_pattern(path))

        return register

    def hook(self, name: str) -> Any:
        assert self.pm is not None
        return getattr(self.pm.hook, name)


def _refusal(plugin: str, kind: str, name: str, cls: Any, problems: list[str]) -> str:
    where = f"{cls.__module__}.{cls.__qualname__}" if isinstance(cls, type) else repr(cls)
    return f"plugin '{plugin}' registered {kind} '{name}' ({where}), which " + "; ".join(problems)


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
            ("register_providers", registry._named("provider", registry.providers, name, contract.check_provider)),
            ("register_policies", registry._named("policy", registry.policies, name, contract.check_policy)),
            ("register_audit_sinks", registry._named("audit sink", registry.audit_sinks, name, contract.check_sink)),
            ("register_routes", registry._route(name)),
            ("register_tracers", registry._named("tracer", registry.tracers, name, contract.check_tracer)),
        )
        for hook_name, register in calls:
            impl = getattr(plugin, hook_name, None)
            if impl is not None:
                registry._call(name, hook_name, impl, register)
    return registry


CORE_HOOKS = frozenset(
    {
        "register_providers",
        "register_policies",
        "register_audit_sinks",
        "register_commands",
        "register_routes",
        "register_tracers",
    }
)


def extension_kind(hook_name: str) -> str:
    """``register_hf_backends`` registers an "hf backend"."""
    return hook_name[len("register_") :].removesuffix("s").replace("_", " ")


def describe_extension_hooks(registry: Registry) -> None:
    """Collect what plugins register through hooks other plugins define, so each plugin's
    ``registered`` lists it and ``kt plugins list`` shows everything. Registration hooks only
    declare, so calling them early is safe; a failure is listed, and the gateway reports it when it
    starts."""
    pm = registry.pm
    if pm is None:
        return
    for hook_name in sorted(dir(pm.hook)):
        if not hook_name.startswith("register_") or hook_name in CORE_HOOKS or not registry.defines(hook_name):
            continue
        try:
            registry.extension(hook_name)
        except PluginError as exc:
            for impl in getattr(pm.hook, hook_name).get_hookimpls():
                info = registry.plugins.get(impl.plugin_name)
                if info is not None and impl.plugin_name in str(exc):
                    info.registered.setdefault(extension_kind(hook_name), []).append(f"<{hook_name} failed: {exc}>")


def load_registry(
    *,
    disable: Iterable[str] = (),
    load_only: Iterable[str] | None = None,
    extra_plugins: Iterable[Any] = (),
    environ: dict[str, str] | None = None,
) -> Registry:
    pm, infos = make_plugin_manager(disable=disable, load_only=load_only, extra_plugins=extra_plugins, environ=environ)
    return build_registry(pm, infos)


__all__ = [
    "ENTRY_POINT_GROUP",
    "PluginInfo",
    "Registry",
    "Route",
    "build_registry",
    "load_registry",
    "make_plugin_manager",
]

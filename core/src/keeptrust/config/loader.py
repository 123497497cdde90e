"""Read ``policy-config.yaml``: YAML with line numbers, ``${ENV}`` substitution, and structuring of
every section into the config class its plugin registered."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import yaml

from keeptrust.config.checks import core_errors
from keeptrust.config.model import GatewayConfig, TargetConfig, TargetGroupConfig
from keeptrust.config.structure import structure
from keeptrust.contract import ConfigCheck
from keeptrust.distributions import install_command
from keeptrust.errors import ConfigError

if TYPE_CHECKING:
    from keeptrust.plugins import Registry

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

# Where a policy or provider family lives when it is not installed, for the start-up error.
KNOWN_DISTRIBUTIONS = {
    "pii-detector": "keeptrust-presidio",
    "prompt-injection": "keeptrust-guard",
    "safety-filter": "keeptrust-guard",
    "content-filter": "keeptrust-guard",
    "huggingface": "keeptrust-hf",
}


@attrs.frozen
class LoadedConfig:
    """A validated configuration: the core sections plus each plugin's structured block."""

    gateway: GatewayConfig
    targets: list[TargetConfig]
    policies: dict[str, Any]
    source: str = "<config>"
    lines: Mapping[str, int] = attrs.field(factory=dict, repr=False)
    # Target groups (entries of providers.targets with a ``strategy``), after the targets.
    groups: list[TargetGroupConfig] = attrs.Factory(list)
    # Problems worth a word that do not stop the gateway (``kt config validate`` prints them).
    warnings: list[str] = attrs.Factory(list)

    @property
    def chain(self) -> list[str]:
        return list(self.gateway.policies.chain)

    def target(self, target_id: str) -> TargetConfig | None:
        for t in self.targets:
            if t.id == target_id:
                return t
        return None


def _line_map(node: yaml.Node, path: str, out: dict[str, int]) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            child = f"{path}.{key}" if path else str(key)
            out[child] = key_node.start_mark.line + 1
            _line_map(value_node, child, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_map(item, f"{path}[{i}]", out)


def _substitute(value: Any, path: str, environ: Mapping[str, str], errors: list[str]) -> Any:
    if isinstance(value, str):
        if "${" not in value:
            return value

        def repl(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in environ:
                return environ[name]
            if default is not None:
                return default
            errors.append(f"{path}: environment variable {name} is not set (used as ${{{name}}})")
            return ""

        return _ENV_REF.sub(repl, value)
    if isinstance(value, dict):
        return {k: _substitute(v, f"{path}.{k}" if path else str(k), environ, errors) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, f"{path}[{i}]", environ, errors) for i, v in enumerate(value)]
    return value


def _with_line(message: str, source: str, lines: Mapping[str, int]) -> str:
    path = message.split(":", 1)[0]
    probe = path
    while probe:
        if probe in lines:
            return f"{source}:{lines[probe]}: {message}"
        cut = max(probe.rfind("."), probe.rfind("["))
        probe = probe[:cut] if cut > 0 else ""
    return f"{source}: {message}"


def load_config(
    path: str | os.PathLike[str], registry: Registry, environ: Mapping[str, str] | None = None
) -> LoadedConfig:
    """Load and validate a config file. Raises ``ConfigError`` listing every problem found."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read the config file: {exc.strerror}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    lines: dict[str, int] = {}
    if node is not None:
        _line_map(node, "", lines)
    return load_config_data(data, registry, environ=environ, source=source, lines=lines)


def load_config_data(
    data: Any,
    registry: Registry,
    *,
    environ: Mapping[str, str] | None = None,
    source: str = "<config>",
    lines: Mapping[str, int] | None = None,
) -> LoadedConfig:
    """Validate an already-parsed config mapping (tests and ``keeptrust.testing`` use this)."""
    lines = lines or {}
    environ = os.environ if environ is None else environ
    errors: list[str] = []
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the config must be a mapping with pack, providers and policies")
    data = _substitute(data, "", environ, errors)

    gateway = _structure_sections(data, errors)

    groups: list[TargetGroupConfig] = []
    target_paths: list[str] = []
    targets = _load_targets(gateway, registry, errors, groups, target_paths)
    errors.extend(core_errors(gateway, targets, target_paths))
    policies = _load_policies(gateway, registry, errors)
    warnings: list[str] = []
    loaded = LoadedConfig(
        gateway=gateway,
        targets=targets,
        policies=policies,
        source=source,
        lines=lines,
        groups=groups,
        warnings=warnings,
    )
    if not errors:
        context = ConfigCheck(loaded, registry, environ)
        for name, policy_config in policies.items():
            check = getattr(registry.policies.get(name), "check_config", None)
            if check is not None:
                errors.extend(f"policies.policy.{name}.{m}" for m in check(policy_config, context))
    if not errors:
        from keeptrust.access import check_access_config, config_warnings

        errors.extend(check_access_config(loaded))
        warnings.extend(_with_line(m, source, lines) for m in config_warnings(loaded))
    if errors:
        raise ConfigError([_with_line(m, source, lines) for m in errors])
    return loaded


def _structure_sections(data: dict[str, Any], errors: list[str]) -> GatewayConfig:
    """Each top-level section on its own, so one bad section does not hide the others' errors."""
    fields = {f.name: f for f in attrs.fields(attrs.resolve_types(GatewayConfig))}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in fields:
            hint = difflib.get_close_matches(key, list(fields), n=1)
            errors.append(
                f"{key}: unknown key" + (f"; did you mean '{hint[0]}'?" if hint else f" (known: {', '.join(fields)})")
            )
            continue
        field_type = fields[key].type
        if key == "providers":
            values[key] = value if value is not None else {"targets": []}
            continue
        try:
            values[key] = structure(value, field_type, key)
        except ConfigError as exc:
            errors.extend(exc.errors)
    return GatewayConfig(**values)


def _load_targets(
    gateway: GatewayConfig,
    registry: Registry,
    errors: list[str],
    groups: list[TargetGroupConfig],
    paths: list[str],
) -> list[TargetConfig]:
    providers = gateway.providers
    if not isinstance(providers, dict):
        errors.append("providers: expected a mapping with a 'targets' list")
        return []
    extra = set(providers) - {"targets"}
    for key in sorted(extra):
        hint = difflib.get_close_matches(key, ["targets"], n=1)
        errors.append(
            f"providers.{key}: unknown key" + (f"; did you mean '{hint[0]}'?" if hint else " (known: targets)")
        )
    raw_targets = providers.get("targets") or []
    if not isinstance(raw_targets, list):
        errors.append("providers.targets: expected a list of targets")
        return []
    targets: list[TargetConfig] = []
    seen: set[str] = set()
    group_paths: dict[str, str] = {}
    for i, raw in enumerate(raw_targets):
        path = f"providers.targets[{i}]"
        if not isinstance(raw, dict):
            errors.append(f"{path}: expected a mapping with id and provider")
            continue
        if "strategy" in raw or "members" in raw:
            try:
                group = structure(raw, TargetGroupConfig, path)
            except ConfigError as exc:
                errors.extend(exc.errors)
                continue
            if group.id in seen:
                errors.append(f"{path}.id: duplicate target id '{group.id}'")
            seen.add(group.id)
            group_paths[group.id] = path
            groups.append(group)
            continue
        provider = raw.get("provider")
        if not isinstance(provider, str) or not provider:
            errors.append(f"{path}.provider: required key missing (e.g. 'openai' or 'huggingface:chat:org/model')")
            continue
        family = provider.split(":", 1)[0]
        cls = registry.providers.get(family)
        if cls is None:
            hint = KNOWN_DISTRIBUTIONS.get(family)
            known = ", ".join(sorted(registry.providers)) or "none"
            fix = f"; install it with `{install_command(hint)}`" if hint else ""
            errors.append(f"{path}.provider: unknown provider family '{family}' (installed: {known}){fix}")
            continue
        raw = dict(raw)
        expand = getattr(cls, "expand_shorthand", None)
        if expand is not None:
            try:
                raw = expand(raw)
            except ValueError as exc:
                errors.append(f"{path}.provider: {exc}")
                continue
        try:
            target = structure(raw, cls.config_class, path)
        except ConfigError as exc:
            errors.extend(exc.errors)
            continue
        if target.id in seen:
            errors.append(f"{path}.id: duplicate target id '{target.id}'")
        seen.add(target.id)
        targets.append(target)
        paths.append(path)
    if groups:
        from keeptrust.groups import check_groups

        errors.extend(check_groups(groups, [t.id for t in targets], group_paths))
    return targets


def _load_policies(gateway: GatewayConfig, registry: Registry, errors: list[str]) -> dict[str, Any]:
    chain = gateway.policies.chain
    blocks = gateway.policies.policy
    known = sorted(registry.policies)
    out: dict[str, Any] = {}

    def missing(name: str, path: str) -> None:
        dist = KNOWN_DISTRIBUTIONS.get(name)
        if dist:
            errors.append(f"{path}: policy '{name}' is not installed; install it with `{install_command(dist)}`")
            return
        hint = difflib.get_close_matches(name, known, n=1)
        extra = f"; did you mean '{hint[0]}'?" if hint else ""
        errors.append(f"{path}: unknown policy '{name}' (installed: {', '.join(known) or 'none'}){extra}")

    seen: set[str] = set()
    for i, name in enumerate(chain):
        if name in seen:
            errors.append(f"policies.chain[{i}]: policy '{name}' appears twice in the chain")
        seen.add(name)
        if name not in registry.policies:
            missing(name, f"policies.chain[{i}]")
    if not isinstance(blocks, dict):
        errors.append("policies.policy: expected a mapping of policy name to its settings")
        return out
    for name, block in blocks.items():
        if name not in registry.policies:
            if name not in chain:  # reported once, for the chain entry, when it is in the chain
                missing(name, f"policies.policy.{name}")
            continue
        cls = registry.policies[name]
        try:
            out[name] = structure(block, cls.config_class, f"policies.policy.{name}")
        except ConfigError as exc:
            errors.extend(exc.errors)
    for name in chain:
        if name in registry.policies and name not in out and name not in blocks:
            out[name] = structure({}, registry.policies[name].config_class, f"policies.policy.{name}")
    return out

"""Roles and keys as access control: which targets (and groups) a caller may reach.

``server.auth.keys[].allowed_targets`` limits one key; ``server.auth.roles.<role>.allowed_targets``
limits every caller with that role (a key's own list wins over its role's). Unset means every
target: access control is opt-in, so a config without it behaves as before. A target reached
through an allowed group is allowed; naming a group's member directly needs the member itself in
the list. The check runs after routing, on the target the request would be served by, so neither
a router rule nor a request's ``model`` can reach a target outside the list: the answer is 403
``permission_denied``, and the refusal is audited.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from keeptrust.errors import PermissionDenied
from keeptrust.policy import DecisionRecord

if TYPE_CHECKING:
    from keeptrust.config.loader import LoadedConfig
    from keeptrust.context import RequestContext
    from keeptrust.targets import Target


class AccessRules:
    """Allowed target ids per key id and per role, built once at start-up."""

    def __init__(self, by_key: dict[str, frozenset[str]], by_role: dict[str, frozenset[str]]) -> None:
        self.by_key = by_key
        self.by_role = by_role

    def allowed(self, ctx: RequestContext) -> frozenset[str] | None:
        if ctx.key_id is not None and ctx.key_id in self.by_key:
            return self.by_key[ctx.key_id]
        if ctx.role is not None:
            return self.by_role.get(ctx.role)
        return None

    def check(self, ctx: RequestContext, target: Target) -> None:
        """Raise ``PermissionDenied`` (403) when the caller may not reach ``target``."""
        if not self.by_key and not self.by_role:
            return
        allowed = self.allowed(ctx)
        if allowed is None or target.id in allowed:
            return
        who = f"role '{ctx.role}'" if ctx.role else "this key"
        ctx.decisions.append(
            DecisionRecord("access", "request", "block", f"{who} may not use target '{target.id}'", "enforce", {})
        )
        raise PermissionDenied(
            f"{who} may not use target '{target.id}'; allowed: {', '.join(sorted(allowed)) or 'none'}",
            param="model",
        )


def build_access(loaded: LoadedConfig, key_ids: list[str]) -> AccessRules:
    """``key_ids[i]`` is the id of ``server.auth.keys[i]``."""
    auth = loaded.gateway.server.auth
    by_key = {
        key_ids[i]: frozenset(k.allowed_targets) for i, k in enumerate(auth.keys) if k.allowed_targets is not None
    }
    by_role = {role: frozenset(r.allowed_targets) for role, r in auth.roles.items() if r.allowed_targets is not None}
    return AccessRules(by_key, by_role)


def check_access_config(loaded: LoadedConfig) -> list[str]:
    """Errors: ``allowed_targets`` naming no target or group."""
    ids = {t.id for t in loaded.targets} | {g.id for g in loaded.groups}
    known = ", ".join(sorted(ids)) or "none"
    errors = []
    auth = loaded.gateway.server.auth
    lists: list[tuple[str, list[str] | None]] = [
        (f"server.auth.keys[{i}].allowed_targets", k.allowed_targets) for i, k in enumerate(auth.keys)
    ]
    lists += [(f"server.auth.roles.{role}.allowed_targets", r.allowed_targets) for role, r in auth.roles.items()]
    for path, values in lists:
        for j, tid in enumerate(values or ()):
            if tid not in ids:
                errors.append(f"{path}[{j}]: unknown target '{tid}' (known: {known})")
    return errors


def _router_rules(loaded: LoadedConfig) -> tuple[Any, list[Any]]:
    config = loaded.policies.get("router") if "router" in loaded.chain else None
    return config, list(getattr(config, "rules", []) or [])


def config_warnings(loaded: LoadedConfig) -> list[str]:
    """Warnings: targets sharing a ``model`` name, and roles the router leaves unrestricted."""
    warnings = []
    by_model: dict[str, list[int]] = defaultdict(list)
    for i, target in enumerate(loaded.targets):
        if target.model is not None:
            by_model[target.model].append(i)
    for model, indexes in by_model.items():
        if len(indexes) > 1:
            first = loaded.targets[indexes[0]].id
            others = ", ".join(f"'{loaded.targets[i].id}'" for i in indexes[1:])
            warnings.append(
                f"providers.targets[{indexes[1]}].model: targets '{first}' and {others} share the model name "
                f"'{model}'; a request naming '{model}' goes to '{first}' (the first); name targets by id to choose"
            )
    router, rules = _router_rules(loaded)
    if router is None:
        return warnings
    auth = loaded.gateway.server.auth
    restricted = {role for role, r in auth.roles.items() if r.allowed_targets is not None}
    key_roles: dict[str, bool] = {}
    for key in auth.keys:
        if key.role is not None:
            # A role is covered only when every key holding it carries its own list.
            key_roles[key.role] = key_roles.get(key.role, True) and key.allowed_targets is not None
    restricted |= {role for role, covered in key_roles.items() if covered}
    shadow = getattr(router, "mode", "enforce") == "shadow"
    has_default = any(r.is_default for r in rules)
    roles: list[str] = []
    for rule in rules:
        when = rule.when_role
        for role in [when] if isinstance(when, str) else when or ():
            if role not in roles:
                roles.append(role)
    for role in key_roles:
        if role not in roles:
            roles.append(role)
    for role in roles:
        if role in restricted:
            continue
        pinned = any(
            not r.is_default
            and r.when_model is None
            and role in ([r.when_role] if isinstance(r.when_role, str) else r.when_role or ())
            for r in rules
        )
        if shadow:
            why = "the router is in shadow mode, so it routes nothing"
        elif pinned or has_default:
            continue
        else:
            why = "when no rule matches, a request goes to whatever target its 'model' names"
        warnings.append(
            f"server.auth.roles.{role}.allowed_targets: role '{role}' is unrestricted ({why}); "
            "list the targets it may reach"
        )
    return warnings

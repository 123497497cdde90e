"""Policy ``router``: pick the target by the caller's role.

router:
  rules:
    - when_role: production
      target: hf-dedicated-llama-70b
    - when_role: [developer, analyst]
      target: hf-llama-8b
    - default:
        target: hf-llama-8b        # or: `- default: true` with `target:` beside it
"""

from __future__ import annotations

from typing import Any

import attrs

from keeptrust.context import RequestContext
from keeptrust.contract import ConfigCheck
from keeptrust.hookspecs import hookimpl
from keeptrust.policy import Allow, Policy, PolicyConfig


@attrs.frozen(kw_only=True)
class RouterRule:
    when_role: str | list[str] | None = None
    when_model: str | list[str] | None = None
    target: str | None = None
    # ``default: {target: x}`` or ``default: true`` + ``target: x``; checked in check_config.
    default: Any = None

    @property
    def target_id(self) -> str | None:
        if isinstance(self.default, dict):
            return self.default.get("target")
        return self.target

    @property
    def is_default(self) -> bool:
        return self.default is True or isinstance(self.default, dict)


@attrs.frozen(kw_only=True)
class RouterConfig(PolicyConfig):
    rules: list[RouterRule] = attrs.Factory(list)


def _as_set(value: str | list[str] | None) -> frozenset[str] | None:
    if value is None:
        return None
    return frozenset([value] if isinstance(value, str) else value)


class RouterPolicy(Policy):
    name = "router"
    config_class = RouterConfig

    @classmethod
    def check_config(cls, config: RouterConfig, check: ConfigCheck) -> list[str]:
        known = [t.id for t in check.loaded.targets] + [g.id for g in check.loaded.groups]
        errors = []
        defaults = 0
        for i, rule in enumerate(config.rules):
            path = f"rules[{i}]"
            if rule.default is not None and not rule.is_default:
                if rule.default is False:
                    pass
                else:
                    errors.append(f"{path}.default: expected true or a mapping with 'target'; got {rule.default!r}")
                    continue
            if isinstance(rule.default, dict):
                extra = set(rule.default) - {"target"}
                if extra:
                    errors.append(f"{path}.default.{sorted(extra)[0]}: unknown key; did you mean 'target'?")
                if rule.target is not None:
                    errors.append(f"{path}.target: give the target either inside 'default' or beside it, not both")
            if rule.is_default:
                defaults += 1
                if defaults > 1:
                    errors.append(f"{path}.default: only one default rule is allowed")
            elif rule.when_role is None and rule.when_model is None:
                errors.append(f"{path}: a rule needs 'when_role', 'when_model' or 'default'")
            tid = rule.target_id
            where = f"{path}.default.target" if isinstance(rule.default, dict) else f"{path}.target"
            if tid is None:
                errors.append(f"{where}: required key missing")
            elif tid not in known:
                errors.append(f"{where}: unknown target '{tid}' (known: {', '.join(known) or 'none'})")
        return errors

    def __init__(self, config: RouterConfig, env: Any) -> None:
        super().__init__(config, env)
        self.rules = [
            (i, _as_set(r.when_role), _as_set(r.when_model), r.is_default, env.targets[r.target_id])
            for i, r in enumerate(config.rules)
        ]

    async def on_request(self, ctx: RequestContext) -> Allow | None:
        for i, roles, models, is_default, target in self.rules:
            if is_default or ((roles is None or ctx.role in roles) and (models is None or ctx.model in models)):
                why = "default rule" if is_default else f"rule {i}"
                if self.config.mode == "shadow":
                    # Shadow mode records the choice and leaves routing to model resolution.
                    return Allow(
                        reason=f"would route to target '{target.id}' by {why}",
                        details={"target": target.id, "rule": i},
                    )
                ctx.target = target
                ctx.upstream_model = None
                return Allow(
                    reason=f"routed to target '{target.id}' by {why}", details={"target": target.id, "rule": i}
                )
        return None


@hookimpl
def register_policies(register: Any) -> None:
    register(RouterPolicy)

"""The config classes of the three policies (frozen attrs, kw_only, structured by the core).

Every policy takes ``action``, ``sensitivity`` (or an explicit ``threshold``), ``role_sensitivity``,
``apply_to``, ``roles``, ``detector`` and ``detector_options``, plus ``mode`` from
``keeptrust.PolicyConfig``.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

from keeptrust import PolicyConfig
from keeptrust.texts import ROLES

Action = Literal["block", "flag"]
Sensitivity = Literal["low", "medium", "high"]
Phase = Literal["request", "response"]
ContentCategory = Literal["hate_speech", "harassment", "self_harm", "sexual", "violence", "toxicity"]

# Score a finding must reach, per sensitivity. Chosen on the development split of the eval set
# (``eval/README.md``); "medium" is the operating point the README reports.
THRESHOLDS: dict[str, float] = {"low": 0.85, "medium": 0.6, "high": 0.4}


def _threshold(_: Any, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and not 0.0 < value <= 1.0:
        raise ValueError(f"{attribute.name}: expected a number in (0, 1]; got {value!r}")


def _roles(_: Any, attribute: attrs.Attribute[Any], value: list[str]) -> None:
    _nonempty(_, attribute, value)
    unknown = [r for r in value if r not in ROLES]
    if unknown:
        raise ValueError(f"{attribute.name}: expected any of {', '.join(ROLES)}; got {unknown[0]!r}")


def _by_role(_: Any, attribute: attrs.Attribute[Any], value: dict[str, str]) -> None:
    for role, sensitivity in value.items():
        if role not in ROLES:
            raise ValueError(f"{attribute.name}: expected roles among {', '.join(ROLES)}; got {role!r}")
        if sensitivity not in THRESHOLDS:
            raise ValueError(f"{attribute.name}.{role}: expected one of {', '.join(THRESHOLDS)}; got {sensitivity!r}")


def _nonempty(_: Any, attribute: attrs.Attribute[Any], value: list[Any]) -> None:
    if not value:
        raise ValueError(f"{attribute.name}: expected at least one entry")


@attrs.frozen(kw_only=True)
class GuardConfig(PolicyConfig):
    action: Action = "block"
    sensitivity: Sensitivity = "medium"
    # Overrides ``sensitivity``: the score (0-1) at which a finding counts.
    threshold: float | None = attrs.field(default=None, validator=_threshold)
    # A sensitivity for the texts of some roles ({tool: low}), over ``sensitivity`` and ``threshold``:
    # tool results are documents written by others, where a lower false-positive rate may matter more.
    role_sensitivity: dict[str, str] = attrs.field(factory=dict, validator=_by_role)
    apply_to: list[Phase] = attrs.field(factory=lambda: ["request"], validator=_nonempty)
    # Roles of the request texts checked (``keeptrust.texts``: the message roles, ``tools`` for
    # tool definitions, ``response_format`` for output schemas); answers are always the assistant's.
    roles: list[str] = attrs.field(factory=lambda: ["user"], validator=_roles)
    # The best measured configuration (README, "Measured quality"): heuristics and trained classifiers.
    detector: str = "ensemble"
    detector_options: dict[str, Any] = attrs.Factory(dict)

    @property
    def score_threshold(self) -> float:
        return self.threshold if self.threshold is not None else THRESHOLDS[self.sensitivity]

    def __attrs_post_init__(self) -> None:
        # A role the policy does not read would take its sensitivity silently and change nothing.
        unread = [r for r in self.role_sensitivity if r not in self.roles and r != "assistant"]
        if unread:
            raise ValueError(
                f"role_sensitivity.{unread[0]}: the policy does not read role {unread[0]!r}; "
                f"expected one of its roles ({', '.join(self.roles)}) or assistant (answers)"
            )

    def threshold_for(self, role: str) -> float:
        """The score a finding in a text of ``role`` must reach."""
        sensitivity = self.role_sensitivity.get(role)
        return THRESHOLDS[sensitivity] if sensitivity is not None else self.score_threshold


@attrs.frozen(kw_only=True)
class PromptInjectionConfig(GuardConfig):
    # Tool and function results are where indirect injection arrives, and tool definitions (an MCP
    # server's descriptions) and output schemas are read as instructions. ``system`` and
    # ``developer`` messages and the Responses ``instructions`` (role ``system``) are the calling
    # application's own prompt and are not checked unless listed.
    roles: list[str] = attrs.field(
        factory=lambda: ["user", "tool", "function", "tools", "response_format"], validator=_roles
    )


@attrs.frozen(kw_only=True)
class SafetyFilterConfig(GuardConfig):
    check_toxicity: bool = True
    check_self_harm: bool = False
    apply_to: list[Phase] = attrs.field(factory=lambda: ["request", "response"], validator=_nonempty)


@attrs.frozen(kw_only=True)
class ContentFilterConfig(GuardConfig):
    categories: list[ContentCategory] = attrs.field(
        factory=lambda: ["hate_speech", "harassment", "self_harm", "sexual", "violence"], validator=_nonempty
    )
    apply_to: list[Phase] = attrs.field(factory=lambda: ["request", "response"], validator=_nonempty)

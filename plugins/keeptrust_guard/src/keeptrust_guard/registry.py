"""The detector classes that plugins registered through ``register_guard_detectors``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from keeptrust.plugins import Registry


def _check_detector(cls: type) -> list[str]:
    config_class = getattr(cls, "config_class", None)
    if config_class is None or not attrs.has(config_class):
        return ["has no 'config_class' (a frozen attrs class its detector_options are structured into)"]
    return []


def detector_classes(registry: Registry) -> dict[str, type]:
    """Every registered detector by name (collected once per registry, with the core's
    registration rules: a ``name``, a ``config_class``, one owner per name)."""
    return registry.extension("register_guard_detectors", check=_check_detector)

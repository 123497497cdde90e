"""Collecting the detector classes that plugins registered through ``register_guard_detectors``."""

from __future__ import annotations

from typing import Any

from keeptrust.errors import PluginError
from keeptrust_guard.heuristic import HeuristicDetector


def detector_classes(registry: Any) -> dict[str, type]:
    """Every registered detector by name. Called once per policy at start-up (cheap: a hook call)."""
    found: dict[str, type] = {}

    def register(cls: type) -> None:
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not name or not hasattr(cls, "config_class"):
            raise PluginError(f"a guard detector must have a 'name' and a 'config_class': {cls!r}")
        if name in found and found[name] is not cls:
            raise PluginError(f"two plugins register the guard detector '{name}'")
        found[name] = cls

    pm = getattr(registry, "pm", None)
    hook = getattr(pm.hook, "register_guard_detectors", None) if pm is not None else None
    if hook is not None:
        hook(register=register)
    else:
        # A registry built without this plugin's hookspec (e.g. policies constructed by hand).
        register(HeuristicDetector)
    return found

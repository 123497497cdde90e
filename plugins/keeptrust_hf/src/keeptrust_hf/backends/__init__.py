"""The backends keeptrust-hf itself registers, and the table of every registered backend."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from keeptrust.errors import PluginError
from keeptrust_hf.backend import Backend
from keeptrust_hf.backends.async_jobs import Replicate, WaveSpeed, ZaiOrg
from keeptrust_hf.backends.catalog import OPENAI_STYLE_BACKENDS
from keeptrust_hf.backends.hf_inference import HFInference

BUILTIN_BACKENDS: tuple[type[Backend], ...] = (*OPENAI_STYLE_BACKENDS, HFInference, Replicate, WaveSpeed, ZaiOrg)

# Backends the router serves that another distribution implements.
KNOWN_ELSEWHERE: Mapping[str, str] = {"fal-ai": "keeptrust-falai"}

# Backends the router no longer serves (removed from huggingface_hub 2.4.0 on 2026-07-01, PR #4447,
# "removed from the Hub inference routing layer"); seed 004 still names some of them.
RETIRED: frozenset[str] = frozenset({"black-forest-labs", "clarifai", "hyperbolic", "nebius", "nvidia", "sambanova"})


def collect_backends(pm: Any) -> dict[str, Backend]:
    """Call ``register_hf_backends`` on every plugin and instantiate what they register."""
    from keeptrust_hf.hookspecs import ensure_hookspecs

    ensure_hookspecs(pm)
    table: dict[str, Backend] = {}
    owners: dict[str, str] = {}

    def register(cls: type[Backend]) -> None:
        name = getattr(cls, "name", None)
        if not isinstance(cls, type) or not issubclass(cls, Backend) or not isinstance(name, str) or not name:
            raise PluginError(
                f"register_hf_backends: {cls!r} is not a keeptrust_hf.backend.Backend subclass with a name"
            )
        if name in table:
            raise PluginError(
                f"Hugging Face backend '{name}' is registered twice ({owners[name]} and "
                f"{cls.__module__}.{cls.__qualname__})"
            )
        table[name] = cls()
        owners[name] = f"{cls.__module__}.{cls.__qualname__}"

    pm.hook.register_hf_backends(register=register)
    return table


def backend_names(backends: Iterable[str]) -> str:
    return ", ".join(sorted(backends))

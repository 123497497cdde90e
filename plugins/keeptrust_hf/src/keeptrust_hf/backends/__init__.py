"""The backends keeptrust-hf itself registers, and the table of every registered backend."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from keeptrust_hf.backend import Backend
from keeptrust_hf.backends.async_jobs import Replicate, WaveSpeed, ZaiOrg
from keeptrust_hf.backends.catalog import OPENAI_STYLE_BACKENDS
from keeptrust_hf.backends.hf_inference import HFInference

if TYPE_CHECKING:
    from keeptrust.plugins import Registry

BUILTIN_BACKENDS: tuple[type[Backend], ...] = (*OPENAI_STYLE_BACKENDS, HFInference, Replicate, WaveSpeed, ZaiOrg)

# Backends the router serves that another distribution implements.
KNOWN_ELSEWHERE: Mapping[str, str] = {"fal-ai": "keeptrust-falai"}

# Backends the router no longer serves (removed from huggingface_hub 2.4.0 on 2026-07-01, PR #4447,
# "removed from the Hub inference routing layer"); older configs and other gateways' docs still name some of them.
RETIRED: frozenset[str] = frozenset({"black-forest-labs", "clarifai", "hyperbolic", "nebius", "nvidia", "sambanova"})


def _check_backend(cls: type) -> list[str]:
    if not isinstance(cls, type) or not issubclass(cls, Backend):
        return ["is not a keeptrust_hf.backend.Backend subclass"]
    return []


def collect_backends(registry: Registry) -> dict[str, Backend]:
    """Every backend registered through ``register_hf_backends`` (collected once per registry, with
    the core's registration rules), instantiated."""
    classes = registry.extension("register_hf_backends", check=_check_backend)
    return {name: cls() for name, cls in classes.items()}


def backend_names(backends: Iterable[str]) -> str:
    return ", ".join(sorted(backends))


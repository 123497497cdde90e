"""The keeptrust plugin: provider family ``huggingface`` and the built-in Inference Providers backends."""

from __future__ import annotations

from typing import Any

from keeptrust import hookimpl
from keeptrust_hf.backends import BUILTIN_BACKENDS
from keeptrust_hf.provider import HuggingFaceProvider

# Read by the core's plugin manager: adds ``register_hf_backends`` before plugins are checked.
KEEPTRUST_HOOKSPECS = "keeptrust_hf.hookspecs"


@hookimpl
def register_providers(register: Any) -> None:
    register(HuggingFaceProvider)


@hookimpl
def register_hf_backends(register: Any) -> None:
    for cls in BUILTIN_BACKENDS:
        register(cls)


@hookimpl
def register_routes(register: Any) -> None:
    # Hugging Face's native task API (InferenceClient pointed at the gateway), governed.
    from keeptrust_hf import task_api

    task_api.register_routes(register)

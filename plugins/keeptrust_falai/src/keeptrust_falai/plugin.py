"""keeptrust-falai's hook: registers the ``fal-ai`` backend with keeptrust-hf."""

from __future__ import annotations

from collections.abc import Callable

from keeptrust import hookimpl
from keeptrust_falai.backend import FalAI


@hookimpl
def register_hf_backends(register: Callable[[type], None]) -> None:
    register(FalAI)

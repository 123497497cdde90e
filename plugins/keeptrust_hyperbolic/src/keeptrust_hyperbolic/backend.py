"""Hugging Face backend ``hyperbolic`` for keeptrust-hf: Hyperbolic's own OpenAI-compatible chat
API, called with the user's Hyperbolic key.

The Inference Providers router stopped serving hyperbolic in 2026 (huggingface_hub PR #4447); its
wire shape is that of huggingface_hub before that change (``inference/_providers/hyperbolic.py``,
``HyperbolicTextGenerationTask``): OpenAI's chat completions at ``/v1/chat/completions``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from keeptrust import context as ops
from keeptrust_hf.backend import Backend


class HyperbolicBackend(Backend):
    name = "hyperbolic"
    operations = frozenset({ops.CHAT})
    routes: ClassVar[Mapping[str, str]] = {ops.CHAT: "/v1/chat/completions"}
    param_maps: ClassVar[Mapping[str, Mapping[str, str | None]]] = {
        ops.CHAT: {"max_completion_tokens": "max_tokens"},
    }
    direct_base_url = "https://api.hyperbolic.xyz"
    # Retired from the router: only a target's ``direct`` (the user's Hyperbolic key) reaches it.
    served_by_router = False

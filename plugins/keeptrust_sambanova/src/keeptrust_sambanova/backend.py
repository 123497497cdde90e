"""Hugging Face backend ``sambanova`` for keeptrust-hf: SambaNova Cloud's own OpenAI-compatible
API, called with the user's SambaNova key.

The Inference Providers router stopped serving sambanova in 2026 (huggingface_hub PR #4447); its
wire shapes are those of huggingface_hub before that change (``inference/_providers/sambanova.py``):
OpenAI's chat and embeddings, with a ``json_schema`` response format sent ``strict: false``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from keeptrust import context as ops
from keeptrust_hf.backend import RF_NON_STRICT, Backend


class SambanovaBackend(Backend):
    name = "sambanova"
    operations = frozenset({ops.CHAT, ops.EMBEDDINGS})
    routes: ClassVar[Mapping[str, str]] = {
        ops.CHAT: "/v1/chat/completions",
        ops.EMBEDDINGS: "/v1/embeddings",
    }
    param_maps: ClassVar[Mapping[str, Mapping[str, str | None]]] = {
        ops.CHAT: {"max_completion_tokens": "max_tokens"},
    }
    response_format_style = RF_NON_STRICT
    direct_base_url = "https://api.sambanova.ai"
    # Retired from the router: only a target's ``direct`` (the user's SambaNova key) reaches it.
    served_by_router = False

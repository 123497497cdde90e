"""Hugging Face backend ``nebius`` for keeptrust-hf: Nebius AI Studio's own OpenAI-compatible API,
called with the user's Nebius key.

The Inference Providers router stopped serving nebius in 2026 (huggingface_hub PR #4447); its wire
shapes are those of huggingface_hub before that change (``inference/_providers/nebius.py``): chat
and embeddings are OpenAI's, images are ``/v1/images/generations`` with ``response_format:
b64_json`` and without ``guidance_scale``, and a ``json_schema`` response format also goes as a
top-level ``guided_json``. keeptrust-hf does the rest (model names, keys, retries, ``/v1/responses``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from keeptrust import context as ops
from keeptrust_hf.backend import RF_GUIDED_JSON, Backend


class NebiusBackend(Backend):
    name = "nebius"
    operations = frozenset({ops.CHAT, ops.EMBEDDINGS, ops.IMAGES})
    routes: ClassVar[Mapping[str, str]] = {
        ops.CHAT: "/v1/chat/completions",
        ops.EMBEDDINGS: "/v1/embeddings",
        ops.IMAGES: "/v1/images/generations",
    }
    param_maps: ClassVar[Mapping[str, Mapping[str, str | None]]] = {
        ops.CHAT: {"max_completion_tokens": "max_tokens"},
        # Nebius' image API rejects it (huggingface_hub NebiusTextToImageTask drops it too).
        ops.IMAGES: {"guidance_scale": None},
    }
    response_format_style = RF_GUIDED_JSON
    direct_base_url = "https://api.studio.nebius.ai"
    # Retired from the router: only a target's ``direct`` (the user's Nebius key) reaches it.
    served_by_router = False

"""Hugging Face backend ``{{ cookiecutter.__name }}`` for keeptrust-hf: an Inference Providers backend that
speaks the OpenAI-compatible API.

keeptrust-hf does the Hugging Face part (the Hub mapping from a Hub model to this backend's own
model id, router or direct URLs, tokens, cold starts, retries, ``/v1/responses``); a backend is
mostly data saying where its routes are and how its parameters differ. See keeptrust-hf's
BACKEND_API.md for every attribute. Use it from ``policy-config.yaml``::

    providers:
      targets:
        - id: llama
          provider: huggingface
          backend: {{ cookiecutter.__name }}
          model: meta-llama/Llama-3.1-8B-Instruct
          secret_key_ref: {env: HF_TOKEN}

or name it per request on an open ``huggingface`` target: ``meta-llama/Llama-3.1-8B-Instruct:{{ cookiecutter.__name }}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from keeptrust import Result
from keeptrust import context as ops
from keeptrust_hf.backend import Backend, BackendCall


class {{ cookiecutter.__class }}Backend(Backend):
    # The provider name the Hub mapping API and the router use: {router}/{{ cookiecutter.__name }}/...
    name = "{{ cookiecutter.__name }}"
    operations = frozenset({ops.CHAT, ops.EMBEDDINGS})
    # Paths below the backend's root; ``{model}`` would be replaced by the quoted provider model id.
    routes: ClassVar[Mapping[str, str]] = {
        ops.CHAT: "/v1/chat/completions",
        ops.EMBEDDINGS: "/v1/embeddings",
    }
    # The endpoint predates ``max_completion_tokens``: send the limit the way it understands.
    param_maps: ClassVar[Mapping[str, Mapping[str, str | None]]] = {
        ops.CHAT: {"max_completion_tokens": "max_tokens"},
    }
    # With a provider key (not an ``hf_`` token) keeptrust-hf calls the backend directly here.
    direct_base_url = None

    async def execute(self, call: BackendCall) -> Result:
        # The default speaks the OpenAI-compatible dialect for every operation above. Override an
        # operation whose wire format differs here and leave the rest to it.
        return await super().execute(call)

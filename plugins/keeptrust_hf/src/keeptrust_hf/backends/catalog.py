"""The OpenAI-compatible router backends of huggingface_hub 2.4.0, as data (huggingface_hub
src/huggingface_hub/inference/_providers/<name>.py).

Differences are routes, direct hosts, ``response_format`` dialects and parameters a backend does
not take: never branches in code.
"""

from __future__ import annotations

from typing import Any

from keeptrust import context as ops
from keeptrust_hf.backend import RF_FLAT_JSON_SCHEMA, RF_JSON_OBJECT_SCHEMA, Backend

CHAT_ONLY = frozenset({ops.CHAT})
# Parameters every chat backend gets renamed: ``max_completion_tokens`` is newer than most
# OpenAI-compatible servers (bifrost chat.go does the same).
_CHAT_COMMON = {"max_completion_tokens": "max_tokens"}
# Strict OpenAI-compatible servers that reject the non-OpenAI ``top_k``.
_NO_TOP_K = {**_CHAT_COMMON, "top_k": None}


class Baseten(Backend):
    name = "baseten"
    operations = CHAT_ONLY
    direct_base_url = "https://inference.baseten.co"
    routes = {ops.CHAT: "/v1/chat/completions"}
    param_maps = {ops.CHAT: _CHAT_COMMON}


class Cerebras(Backend):
    name = "cerebras"
    operations = CHAT_ONLY
    direct_base_url = "https://api.cerebras.ai"
    routes = {ops.CHAT: "/v1/chat/completions"}
    param_maps = {ops.CHAT: _NO_TOP_K}


class Cohere(Backend):
    name = "cohere"
    operations = CHAT_ONLY
    direct_base_url = "https://api.cohere.com"
    routes = {ops.CHAT: "/compatibility/v1/chat/completions"}
    response_format_style = RF_JSON_OBJECT_SCHEMA
    param_maps = {ops.CHAT: _NO_TOP_K}


class DeepInfra(Backend):
    name = "deepinfra"
    operations = frozenset({ops.CHAT, ops.EMBEDDINGS, ops.SPEECH, ops.TRANSCRIPTION})
    direct_base_url = "https://api.deepinfra.com"
    routes = {
        ops.CHAT: "/v1/openai/chat/completions",
        ops.EMBEDDINGS: "/v1/openai/embeddings",
        ops.SPEECH: "/v1/openai/audio/speech",
        ops.TRANSCRIPTION: "/v1/openai/audio/transcriptions",
    }
    param_maps = {ops.CHAT: _CHAT_COMMON}


class Featherless(Backend):
    name = "featherless-ai"
    operations = CHAT_ONLY
    direct_base_url = "https://api.featherless.ai"
    routes = {ops.CHAT: "/v1/chat/completions"}
    param_maps = {ops.CHAT: _CHAT_COMMON}


class Fireworks(Backend):
    name = "fireworks-ai"
    operations = CHAT_ONLY
    direct_base_url = "https://api.fireworks.ai"
    routes = {ops.CHAT: "/inference/v1/chat/completions"}
    response_format_style = RF_JSON_OBJECT_SCHEMA
    param_maps = {ops.CHAT: _CHAT_COMMON}


class Groq(Backend):
    name = "groq"
    operations = CHAT_ONLY
    direct_base_url = "https://api.groq.com"
    routes = {ops.CHAT: "/openai/v1/chat/completions"}
    param_maps = {ops.CHAT: _NO_TOP_K}


class Novita(Backend):
    name = "novita"
    operations = CHAT_ONLY
    direct_base_url = "https://api.novita.ai"
    routes = {ops.CHAT: "/v3/openai/chat/completions"}
    param_maps = {ops.CHAT: _CHAT_COMMON}


class Nscale(Backend):
    name = "nscale"
    operations = frozenset({ops.CHAT, ops.IMAGES})
    direct_base_url = "https://inference.api.nscale.com"
    routes = {ops.CHAT: "/v1/chat/completions", ops.IMAGES: "/v1/images/generations"}
    # nscale takes ``size: "WxH"`` and drops steps/cfg (huggingface_hub nscale.py).
    param_maps = {
        ops.CHAT: _CHAT_COMMON,
        ops.IMAGES: {"num_inference_steps": None, "steps": None, "guidance_scale": None},
    }

    def map_params(self, operation: str, payload: dict[str, Any]) -> dict[str, Any]:
        super().map_params(operation, payload)
        if operation == ops.IMAGES and "width" in payload and "height" in payload:
            payload["size"] = f"{payload.pop('width')}x{payload.pop('height')}"
        return payload


class OVHcloud(Backend):
    name = "ovhcloud"
    operations = CHAT_ONLY
    direct_base_url = "https://oai.endpoints.kepler.ai.cloud.ovh.net"
    routes = {ops.CHAT: "/v1/chat/completions"}
    param_maps = {ops.CHAT: _NO_TOP_K}


class PublicAI(Backend):
    name = "publicai"
    operations = CHAT_ONLY
    direct_base_url = "https://api.publicai.co"
    routes = {ops.CHAT: "/v1/chat/completions"}
    param_maps = {ops.CHAT: _CHAT_COMMON}


class Scaleway(Backend):
    name = "scaleway"
    operations = frozenset({ops.CHAT, ops.EMBEDDINGS})
    direct_base_url = "https://api.scaleway.ai"
    routes = {ops.CHAT: "/v1/chat/completions", ops.EMBEDDINGS: "/v1/embeddings"}
    param_maps = {ops.CHAT: _CHAT_COMMON}


class Together(Backend):
    name = "together"
    operations = frozenset({ops.CHAT, ops.EMBEDDINGS, ops.IMAGES, ops.IMAGE_EDIT, ops.SPEECH})
    direct_base_url = "https://api.together.xyz"
    routes = {
        ops.CHAT: "/v1/chat/completions",
        ops.EMBEDDINGS: "/v1/embeddings",
        ops.IMAGES: "/v1/images/generations",
        ops.IMAGE_EDIT: "/v1/images/generations",
        ops.SPEECH: "/v1/audio/speech",
    }
    response_format_style = RF_FLAT_JSON_SCHEMA
    # together names steps ``steps`` and base64 output ``"base64"`` (huggingface_hub together.py).
    _image_params = {"num_inference_steps": "steps"}
    param_maps = {ops.CHAT: _CHAT_COMMON, ops.IMAGES: _image_params, ops.IMAGE_EDIT: _image_params}

    def map_params(self, operation: str, payload: dict[str, Any]) -> dict[str, Any]:
        super().map_params(operation, payload)
        if operation in (ops.IMAGES, ops.IMAGE_EDIT) and payload.get("response_format") == "b64_json":
            payload["response_format"] = "base64"
        return payload


OPENAI_STYLE_BACKENDS: tuple[type[Backend], ...] = (
    Baseten,
    Cerebras,
    Cohere,
    DeepInfra,
    Featherless,
    Fireworks,
    Groq,
    Novita,
    Nscale,
    OVHcloud,
    PublicAI,
    Scaleway,
    Together,
)

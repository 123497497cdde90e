"""The ``huggingface`` target: the common target keys plus ``backend``, ``bill_to``, ``format``, ..."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

import attrs

from keeptrust.config.model import TargetConfig
from keeptrust.downloads import DownloadSettings

DEFAULT_ROUTER_URL = "https://router.huggingface.co"
DEFAULT_HUB_URL = "https://huggingface.co"
SHORTHAND_KINDS = frozenset(
    {
        "chat",
        "embeddings",
        "images",
        "speech",
        "transcription",
        "text-generation",
        "feature-extraction",
        "text-to-image",
        "text-to-speech",
        "automatic-speech-recognition",
    }
)


@attrs.frozen(kw_only=True)
class HFTarget(TargetConfig):
    """A Hugging Face target. Without ``base_url`` it goes through the Inference Providers router."""

    # An Inference Providers backend (``groq``, ``hf-inference``, ...). None: the router picks.
    backend: str | None = None
    # ``huggingface``: the native ``inputs``/``parameters`` API for ``base_url``s without ``/v1``.
    format: Literal["openai", "huggingface"] = "openai"
    # Some configs name the family twice (``provider_type``); accepted, it must say ``huggingface``.
    provider_type: Literal["huggingface"] | None = None
    # Organisation billed for router calls (header ``X-HF-Bill-To``).
    bill_to: str | None = None
    # How long a Hub mapping answer is trusted.
    mapping_ttl_seconds: float = 300.0
    # Native API of a ``format: huggingface`` endpoint: detected with ``GET /info`` (``auto``),
    # TGI ``/generate``, or a plain pipeline (``POST /`` with ``inputs``).
    native_api: Literal["auto", "tgi", "pipeline"] = "auto"
    # A Jinja chat template for the native API, overriding the model's own.
    chat_template: str | None = None
    # Interval between polls of asynchronous backends (replicate, wavespeed, zai-org).
    poll_interval_seconds: float = 0.5
    # How result files (images, audio a backend answers with a URL) are fetched: public addresses
    # only unless ``allow_networks`` says otherwise, same-host redirects, ``max_bytes``.
    downloads: DownloadSettings = attrs.Factory(DownloadSettings)


def expand_shorthand(raw: dict[str, Any]) -> dict[str, Any]:
    """``provider: huggingface:chat:{org/model}`` → ``provider: huggingface`` + ``model``."""
    provider = raw.get("provider", "")
    if provider == "huggingface":
        return raw
    parts = provider.split(":", 2)
    if len(parts) != 3 or parts[0] != "huggingface" or not parts[2]:
        raise ValueError(f"expected 'huggingface' or 'huggingface:chat:{{org/model}}'; got {provider!r}")
    kind, model = parts[1], parts[2]
    if kind not in SHORTHAND_KINDS:
        raise ValueError(f"unknown kind {kind!r} in {provider!r} (use one of: {', '.join(sorted(SHORTHAND_KINDS))})")
    if raw.get("model") not in (None, model):
        raise ValueError(f"names model {model!r} but the target's 'model' is {raw['model']!r}")
    out = dict(raw)
    out["provider"] = "huggingface"
    out["model"] = model
    return out


def router_url(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return (env.get("KEEPTRUST_HF_ROUTER_URL") or DEFAULT_ROUTER_URL).rstrip("/")


def hub_url(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return (env.get("KEEPTRUST_HF_HUB_URL") or env.get("HF_ENDPOINT") or DEFAULT_HUB_URL).rstrip("/")

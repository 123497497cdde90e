"""The ``huggingface`` target: the common target keys plus ``backend``, ``bill_to``, ``format``, ..."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

import attrs

from keeptrust.config.model import SecretRef, TargetConfig
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
class DirectAccess:
    """Calling a backend's own API with the user's key for that provider, as huggingface_hub does
    when given a provider key instead of an ``hf_`` token (``_prepare_base_url``)."""

    # The provider's key (fal ``Key``, a together/groq/nebius bearer key). Default: the target's
    # own ``secret_key_ref``, which then goes to the Hub only if it is an ``hf_`` token.
    secret_key_ref: SecretRef | None = None
    # The backend's API root; default: the backend's public one (``https://fal.run``, ...). Set it
    # to go through an egress proxy or to reach a regional host.
    base_url: str | None = None


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
    # Call the backend's own API with a provider key (needs ``backend``).
    direct: DirectAccess | None = None
    # Options the backend reads (``BackendCall.options``), e.g. fal-ai's ``modes``; each backend
    # checks its own at start-up (``Backend.check_options``).
    backend_options: dict[str, Any] = attrs.Factory(dict)


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


def direct_access(config: HFTarget, backend: Any, env: Any) -> tuple[Any, str | None]:
    """The provider key and base URL of a target's ``direct`` block, checked at start-up."""
    from keeptrust.errors import ConfigError

    direct = config.direct
    if direct is None:
        return None, None
    if backend is None:
        raise ConfigError(f"target '{config.id}': direct needs 'backend' (the backend whose key it holds)")
    base = direct.base_url.rstrip("/") if direct.base_url else None
    if base is not None and not base.startswith(("https://", "http://")):
        raise ConfigError(f"target '{config.id}': direct.base_url must be an http(s) URL; got {direct.base_url!r}")
    if base is None and backend.direct_base_url is None:
        raise ConfigError(
            f"target '{config.id}': the backend '{backend.name}' has no public API of its own; "
            "set direct.base_url or use the router"
        )
    secret = env.secret
    if direct.secret_key_ref is not None:
        from keeptrust.secrets import Secret

        value = env.environ.get(direct.secret_key_ref.env)
        if not value:
            raise ConfigError(
                f"target '{config.id}': direct.secret_key_ref.env: environment variable "
                f"{direct.secret_key_ref.env} (the '{backend.name}' key) is not set"
            )
        env.redactor.add(value)
        secret = Secret(value, direct.secret_key_ref.env)
    if secret is None:
        raise ConfigError(
            f"target '{config.id}': direct needs the '{backend.name}' key: direct.secret_key_ref or secret_key_ref"
        )
    return secret, base


def expand_base_url(config: HFTarget) -> HFTarget:
    """A ``{model}`` placeholder in ``base_url`` (the serverless form
    ``https://api-inference.huggingface.co/models/{model}/v1/chat/completions``) filled with the
    target's ``model`` at start-up, so it is never sent literally; without a ``model``, a config
    error. (Other braces, such as the product documents' ``https://{unique-id}.<region>...``
    endpoint placeholders, are the operator's to replace: they are not keeptrust's.)"""
    from keeptrust.errors import ConfigError

    base = config.base_url
    if not base or "{model}" not in base:
        return config
    if not config.model:
        raise ConfigError(
            f"target '{config.id}': base_url has a {{model}} placeholder but the target names no 'model' to fill it"
        )
    from keeptrust_hf.backend import quote_path

    return attrs.evolve(config, base_url=base.replace("{model}", quote_path(config.model)))


def merge_extra_params(body: dict[str, Any]) -> dict[str, Any]:
    """``extra_params`` (an object of backend parameters such as ``seed``, ``num_inference_steps``,
    ``guidance_scale``, ``use_image_urls``) merged into the request body, where the backends read
    them. A key given both ways with different values is a 400."""
    from keeptrust.errors import RequestError

    extra = body.get("extra_params")
    if extra is None:
        return body
    if not isinstance(extra, dict):
        raise RequestError("'extra_params' must be an object", param="extra_params", code="invalid_type")
    out = {k: v for k, v in body.items() if k != "extra_params"}
    for key, value in extra.items():
        if key in ("model", "messages", "input", "prompt", "stream"):
            raise RequestError(
                f"'extra_params.{key}' is a request field; send it at the top level",
                param=f"extra_params.{key}",
                code="invalid_value",
            )
        if key in out and out[key] != value:
            raise RequestError(
                f"'{key}' is given both at the top level and in extra_params with different values",
                param=f"extra_params.{key}",
                code="invalid_value",
            )
        out[key] = value
    return out

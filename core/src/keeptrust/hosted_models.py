"""Models a policy calls over HTTP: Hugging Face task endpoints (a classifier, a token classifier).

A policy that delegates detection to a hosted model (keeptrust-guard's ``detector: huggingface``,
keeptrust-presidio's ``ner: {detector: huggingface}``) describes it with the fields of
``HostedModelOptions`` and talks to it through ``HostedModel``: the Inference Providers router's
``hf-inference`` route (``POST {router}/hf-inference/models/{model}``, as huggingface_hub 2.x's
``InferenceClient`` sends task requests to that provider) or a dedicated endpoint's ``url``; the token
from ``secret_key_ref``; keeptrust's upstream transport (pooling, timeouts, error mapping, the token
never in a log or an error); no retries, since a policy waits on the answer and has its own deadline.

Public module: plugins import it; the names in ``__all__`` are its API.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any, Literal

import attrs
import orjson

from keeptrust.config.model import SecretRef, TargetConfig
from keeptrust.errors import ConfigError
from keeptrust.secrets import Redactor
from keeptrust.transport import Upstream

DEFAULT_ROUTER_URL = "https://router.huggingface.co"
ROUTER_ENV = "KEEPTRUST_HF_ROUTER_URL"


def router_root(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The Inference Providers router: ``explicit``, else ``KEEPTRUST_HF_ROUTER_URL`` (the variable
    keeptrust-hf reads too), else https://router.huggingface.co."""
    env = os.environ if environ is None else environ
    return (explicit or env.get(ROUTER_ENV) or DEFAULT_ROUTER_URL).rstrip("/")


@attrs.frozen(kw_only=True)
class HostedModelOptions:
    """Where a hosted model is and how long a policy waits for it. Plugins subclass it (frozen
    attrs) to add their task's own fields."""

    model: str
    secret_key_ref: SecretRef | None = None
    # Router root (default: env KEEPTRUST_HF_ROUTER_URL, else https://router.huggingface.co).
    router_url: str | None = None
    # A full task URL (a dedicated Inference Endpoint); replaces router_url and the model route.
    url: str | None = None
    timeout_seconds: float = 3.0
    # When the model cannot answer in time (timeout, HTTP error, unexpected answer): `open` lets the
    # text through and records it, `closed` refuses the request with 503.
    fail_mode: Literal["open", "closed"] = "open"


class HostedModel:
    """One hosted model: ``await post(payload)`` sends a JSON task request and returns the parsed
    answer. Raises ``keeptrust.errors.GatewayError`` for transport and HTTP errors (their messages
    never hold the token) and ``orjson.JSONDecodeError`` for a body that is not JSON."""

    def __init__(
        self,
        options: HostedModelOptions,
        *,
        name: str,
        path: str,
        logger: logging.Logger,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        """``name`` identifies the caller in logs and errors (``guard:prompt-injection``); ``path`` is
        the options' place in the config (``policies.policy.pii-detector.ner``), for config errors."""
        env = os.environ if environ is None else environ
        token = None
        if options.secret_key_ref is not None:
            token = env.get(options.secret_key_ref.env)
            if not token:
                raise ConfigError(
                    f"{path}.secret_key_ref.env: environment variable {options.secret_key_ref.env} "
                    f"(the Hugging Face token of {name}) is not set"
                )
        self.options = options
        self.url = options.url or f"{router_root(options.router_url, env)}/hf-inference/models/{options.model}"
        target = TargetConfig(
            id=name,
            provider="huggingface",
            base_url=self.url,
            timeout_seconds=options.timeout_seconds,
            connect_timeout_seconds=min(options.timeout_seconds, 10.0),
            max_retries=0,
            max_connections=64,
        )
        self.upstream = Upstream(
            target,
            redactor=Redactor([token] if token else []),
            auth_header={"authorization": f"Bearer {token}"} if token else None,
            logger=logger,
        )

    async def post(self, payload: dict[str, Any]) -> Any:
        response = await self.upstream.request(
            None, "POST", self.url, json=payload, timeout=self.options.timeout_seconds, retries=0
        )
        return orjson.loads(response.content)

    async def aclose(self) -> None:
        await self.upstream.aclose()


__all__ = ["DEFAULT_ROUTER_URL", "HostedModel", "HostedModelOptions", "router_root"]

"""Provider family ``{{ cookiecutter.__name }}``: a model served behind an OpenAI-compatible API (vLLM,
TGI's Messages API, a Hugging Face Inference Endpoint, llama.cpp's server).

Configure a target in ``policy-config.yaml``::

    providers:
      targets:
        - id: my-model
          provider: {{ cookiecutter.__name }}
          base_url: http://localhost:8000/v1
          model: meta-llama/Llama-3.1-8B-Instruct
          secret_key_ref: {env: MY_ENDPOINT_TOKEN}   # optional: sent as "Authorization: Bearer ..."
          default_max_tokens: 512                    # optional
"""

from __future__ import annotations

from typing import Any

import attrs
from keeptrust import JSONResult, Provider, ProviderEnv, RequestContext, Result, TargetConfig
from keeptrust import context as ops
from keeptrust.errors import ConfigError

# The helpers keeptrust's own ``openai`` provider uses: they parse SSE, normalise chunks and map
# upstream errors to OpenAI-shaped gateway errors, so a family only decides URLs and payloads.
from keeptrust.openai_compat import chat_completion, post_json


@attrs.frozen(kw_only=True)
class {{ cookiecutter.__class }}Target(TargetConfig):
    """A ``providers.targets[]`` entry with ``provider: {{ cookiecutter.__name }}``. ``TargetConfig`` brings
    ``id``, ``model``, ``base_url``, ``secret_key_ref``, timeouts and retries."""

    # Sent as ``max_tokens`` when the client sets no limit: endpoints differ in their own default.
    default_max_tokens: int | None = None


class {{ cookiecutter.__class }}Provider(Provider):
    name = "{{ cookiecutter.__name }}"
    config_class = {{ cookiecutter.__class }}Target
    operations = frozenset({ops.CHAT, ops.EMBEDDINGS})

    def __init__(self, config: {{ cookiecutter.__class }}Target, env: ProviderEnv) -> None:
        super().__init__(config, env)
        if not config.base_url:
            raise ConfigError(
                f"target '{config.id}': provider '{self.name}' needs base_url (e.g. http://localhost:8000/v1)"
            )
        self.base = config.base_url.rstrip("/")

    def _payload(self, ctx: RequestContext) -> dict[str, Any]:
        payload = dict(ctx.body)
        # The router or model resolution may have picked an upstream name; else the target's own.
        model = ctx.upstream_model or self.config.model or ctx.model
        if model is not None:
            payload["model"] = model
        limit = self.config.default_max_tokens
        wants_limit = "max_tokens" not in payload and "max_completion_tokens" not in payload
        if ctx.operation == ops.CHAT and limit and wants_limit:
            payload["max_tokens"] = limit
        return payload

    async def execute(self, ctx: RequestContext) -> Result:
        payload = self._payload(ctx)
        if ctx.operation == ops.CHAT:
            # Streams when payload["stream"] is true; policies' stream filters run on the result.
            return await chat_completion(self.upstream, ctx, f"{self.base}/chat/completions", payload)
        if ctx.operation == ops.EMBEDDINGS:
            body, headers = await post_json(self.upstream, ctx, f"{self.base}/embeddings", payload)
            return JSONResult(body, headers=headers)
        # The core checks ``operations`` first; this answers 400 unsupported_operation anyway.
        return await super().execute(ctx)

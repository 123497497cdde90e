"""Provider ``openai``: any OpenAI-compatible server (vLLM, TGI's Messages API, llama.cpp, a local
fake). The core is usable and testable with it alone."""

from __future__ import annotations

from typing import Any

import attrs
import httpx

from keeptrust import context as ops
from keeptrust.config.model import TargetConfig
from keeptrust.context import RequestContext, UploadedFile
from keeptrust.errors import ConfigError
from keeptrust.hookspecs import hookimpl
from keeptrust.openai_compat import chat_completion, post_json, stream_chunks
from keeptrust.provider import Provider
from keeptrust.results import BinaryResult, JSONResult, Result
from keeptrust.transport import forwardable_headers, parse_json_response

_PATHS = {
    ops.CHAT: "/chat/completions",
    ops.EMBEDDINGS: "/embeddings",
    ops.RESPONSES: "/responses",
    ops.IMAGES: "/images/generations",
    ops.IMAGE_EDIT: "/images/edits",
    ops.SPEECH: "/audio/speech",
    ops.TRANSCRIPTION: "/audio/transcriptions",
}


@attrs.frozen(kw_only=True)
class OpenAITarget(TargetConfig):
    """``base_url`` is required: the upstream's OpenAI root, e.g. ``http://vllm:8000/v1``."""

    # When set, the client's ``model`` is passed through for targets without ``model`` (open target).
    allow_any_model: bool = False


class OpenAIProvider(Provider):
    name = "openai"
    config_class = OpenAITarget
    operations = frozenset(_PATHS)

    def __init__(self, config: OpenAITarget, env: Any) -> None:
        super().__init__(config, env)
        if not config.base_url:
            raise ConfigError(f"target '{config.id}': provider 'openai' needs base_url (e.g. http://localhost:8000/v1)")
        self.base = config.base_url.rstrip("/")
        self.naming_hint = f"target '{config.id}' accepts any model name" if config.allow_any_model else None

    def resolve_model(self, model: str) -> str | None:
        return model if self.config.allow_any_model else None

    def _model(self, ctx: RequestContext) -> str | None:
        return ctx.upstream_model or self.config.model or ctx.model

    async def execute(self, ctx: RequestContext) -> Result:
        url = self.base + _PATHS[ctx.operation]
        payload = dict(ctx.body)
        model = self._model(ctx)
        if model is not None:
            payload["model"] = model
        op = ctx.operation
        if op == ops.CHAT:
            return await chat_completion(self.upstream, ctx, url, payload)
        if op == ops.RESPONSES and payload.get("stream"):
            result = await stream_chunks(self.upstream, ctx, url, payload, normalize=False)
            result.event_names = True
            result.done_marker = False
            return result
        if op in (ops.IMAGE_EDIT, ops.TRANSCRIPTION):
            return await self._multipart(ctx, url, payload)
        if op == ops.SPEECH:
            response = await self.upstream.request(ctx, "POST", url, json=payload)
            ctype = response.headers.get("content-type", "application/octet-stream")
            return BinaryResult(response.content, ctype, headers=forwardable_headers(response.headers))
        body, fwd = await post_json(self.upstream, ctx, url, payload)
        return JSONResult(body, headers=fwd)

    async def _multipart(self, ctx: RequestContext, url: str, payload: dict[str, Any]) -> Result:
        files: list[tuple[str, tuple[str, bytes, str]]] = []
        data: dict[str, Any] = {}
        for key, value in payload.items():
            values = value if isinstance(value, list) else [value]
            for v in values:
                if isinstance(v, UploadedFile):
                    name = f"{key}[]" if isinstance(value, list) else key
                    files.append((name, (v.filename, v.data, v.content_type)))
                elif v is not None:
                    data.setdefault(key, []).append(str(v).lower() if isinstance(v, bool) else str(v))
        request = httpx.Request("POST", url, data=data, files=files)
        response = await self.upstream.request(
            ctx, "POST", url, content=request.read(), headers={"content-type": request.headers["content-type"]}
        )
        ctype = response.headers.get("content-type", "")
        if ctype.startswith("application/json"):
            return JSONResult(
                parse_json_response(response, self.config.id), headers=forwardable_headers(response.headers)
            )
        return BinaryResult(response.content, ctype or "text/plain", headers=forwardable_headers(response.headers))


@hookimpl
def register_providers(register: Any) -> None:
    register(OpenAIProvider)

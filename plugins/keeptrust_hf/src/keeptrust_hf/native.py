"""``format: huggingface`` endpoints without ``/v1``: TGI's ``/generate`` + ``/generate_stream`` or a
plain transformers pipeline (``POST /`` with ``inputs``), translated to and from chat completions
(TGI's API: https://huggingface.github.io/text-generation-inference/). Which of the two is
detected once, with ``GET /info``."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import orjson
import trio

from keeptrust import context as ops
from keeptrust import sse
from keeptrust.errors import RequestError, UpstreamError
from keeptrust.openai_compat import FINISH_REASONS
from keeptrust.results import JSONResult, Result, StreamResult
from keeptrust.transport import forwardable_headers, parse_json_response
from keeptrust_hf import embeddings
from keeptrust_hf.prompt import ChatTemplate
from keeptrust_hf.templates import load_template

if TYPE_CHECKING:
    from keeptrust.context import RequestContext
    from keeptrust_hf.config import HFTarget
    from keeptrust_hf.provider import HuggingFaceProvider

TGI = "tgi"
PIPELINE = "pipeline"
_UNUSED_KWARGS = re.compile(r"The following `model_kwargs` are not used by the model: \[(.*?)\]")


def tgi_parameters(body: dict[str, Any], stream: bool) -> dict[str, Any]:
    """OpenAI sampling parameters → TGI ``parameters`` (§4.2 constraints)."""
    params: dict[str, Any] = {"details": True, "return_full_text": False}
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None:
        params["max_new_tokens"] = max(int(max_tokens), 1)
    temperature = body.get("temperature")
    if temperature is not None:
        if temperature > 0:
            params["temperature"] = temperature
            params["do_sample"] = True
        else:
            params["do_sample"] = False  # TGI rejects 0: greedy decoding is what 0 means
    top_p = body.get("top_p")
    if top_p is not None and 0 < top_p < 1:
        params["top_p"] = top_p
        params["do_sample"] = True
    if body.get("top_k"):
        params["top_k"] = body["top_k"]
        params["do_sample"] = True
    for key in ("seed", "frequency_penalty", "repetition_penalty", "truncate", "typical_p"):
        if body.get(key) is not None:
            params[key] = body[key]
    stop = body.get("stop")
    if stop:
        params["stop"] = [stop] if isinstance(stop, str) else list(stop)
    rf = body.get("response_format")
    if isinstance(rf, dict) and rf.get("type") == "json_schema":
        params["grammar"] = {"type": "json", "value": (rf.get("json_schema") or {}).get("schema") or {}}
    elif isinstance(rf, dict) and rf.get("type") == "json_object":
        params["grammar"] = {"type": "json", "value": rf.get("schema") or {"type": "object"}}
    return params


class NativeEndpoint:
    """One native endpoint; remembers what it detected and its compiled chat template."""

    def __init__(self, provider: HuggingFaceProvider, config: HFTarget) -> None:
        self.provider = provider
        self.config = config
        self.base = (config.base_url or "").rstrip("/")
        self.kind: str | None = None if config.native_api == "auto" else config.native_api
        self.info: dict[str, Any] = {}
        self.template: ChatTemplate | None = None
        self._lock = trio.Lock()
        # Rendering a long conversation is CPU work: it runs in a worker thread, a few at a time.
        self._render_limiter = trio.CapacityLimiter(4)

    @property
    def upstream(self) -> Any:
        return self.provider.upstream

    async def _prepare(self, ctx: RequestContext) -> None:
        if self.kind is not None and self.template is not None:
            return
        async with self._lock:
            if self.kind is None or (self.kind == TGI and not self.info):
                response = await self.upstream.request(ctx, "GET", self.base + "/info", raise_for_status=False)
                info = None
                if response.status_code == 200:
                    try:
                        info = orjson.loads(response.content)
                    except orjson.JSONDecodeError:
                        info = None
                if isinstance(info, dict) and (
                    "model_id" in info or "max_input_tokens" in info or "max_input_length" in info
                ):
                    self.info = info
                    self.kind = self.kind or TGI
                else:
                    self.kind = self.kind or PIPELINE
                self.provider.logger.info("target '%s': native endpoint speaks %s", self.config.id, self.kind)
            if self.template is None:
                self.template = await load_template(self.provider, ctx, self.info)

    async def _prompt(self, ctx: RequestContext) -> str:
        assert self.template is not None
        messages = ctx.body["messages"]
        return await trio.to_thread.run_sync(self.template.render, messages, limiter=self._render_limiter)

    async def execute(self, ctx: RequestContext) -> Result:
        if ctx.operation == ops.EMBEDDINGS:
            return await self._embeddings(ctx)
        return await self.chat(ctx)

    async def chat(self, ctx: RequestContext) -> Result:
        body = ctx.body
        if body.get("tools"):
            raise RequestError(
                "tools need the endpoint's Messages API: set base_url to the endpoint's /v1 URL",
                param="tools",
                code="unsupported_parameter",
            )
        n = int(body.get("n") or 1)
        if n > 1 and ctx.stream:
            raise RequestError(
                "'n' > 1 cannot be streamed from a native text-generation endpoint",
                param="n",
                code="unsupported_parameter",
            )
        await self._prepare(ctx)
        prompt = await self._prompt(ctx)
        model = self.config.model or str(self.info.get("model_id") or "tgi")
        if self.kind == TGI and ctx.stream:
            return await self._tgi_stream(ctx, prompt, model)
        choices, usage, headers = [], {"prompt_tokens": 0, "completion_tokens": 0}, {}
        for i in range(n):
            text, reason, prompt_tokens, completion_tokens, headers = await self._generate(ctx, prompt)
            choices.append(
                {
                    "index": i,
                    "finish_reason": reason,
                    "logprobs": None,
                    "message": {"role": "assistant", "content": text},
                }
            )
            usage["prompt_tokens"] = prompt_tokens
            usage["completion_tokens"] += completion_tokens
        completion = {
            "id": "chatcmpl-" + ctx.request_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": choices,
            "usage": {**usage, "total_tokens": usage["prompt_tokens"] + usage["completion_tokens"]},
        }
        if ctx.stream:
            from keeptrust.openai_compat import completion_to_chunks

            chunks = completion_to_chunks(completion)
            if not (body.get("stream_options") or {}).get("include_usage"):
                chunks = [c for c in chunks if c.get("choices")]

            async def replay() -> AsyncIterator[dict[str, Any]]:
                for chunk in chunks:
                    yield chunk

            return StreamResult(replay(), headers=headers)
        return JSONResult(completion, headers=headers)

    async def _generate(self, ctx: RequestContext, prompt: str) -> tuple[str, str, int, int, dict[str, str]]:
        params = tgi_parameters(ctx.body, stream=False)
        if self.kind == TGI:
            response = await self.upstream.request(
                ctx, "POST", self.base + "/generate", json={"inputs": prompt, "parameters": params}
            )
            answer = parse_json_response(response, self.config.id)
            if not isinstance(answer, dict) or not isinstance(answer.get("generated_text"), str):
                raise UpstreamError(f"target '{self.config.id}': /generate answered without generated_text")
            details = answer.get("details") or {}
            reason = FINISH_REASONS.get(details.get("finish_reason"), details.get("finish_reason") or "stop")
            prompt_tokens = _int(response.headers.get("x-prompt-tokens"))
            completion_tokens = details.get("generated_tokens") or _int(response.headers.get("x-generated-tokens"))
            return (
                answer["generated_text"],
                reason,
                prompt_tokens,
                int(completion_tokens or 0),
                forwardable_headers(response.headers),
            )
        return await self._pipeline(ctx, prompt, params)

    async def _pipeline(
        self, ctx: RequestContext, prompt: str, params: dict[str, Any]
    ) -> tuple[str, str, int, int, dict[str, str]]:
        # ``details`` is TGI-only; a pipeline that rejects other kwargs says which (§4.7): drop
        # them and retry once, as the official client does.
        params = {k: v for k, v in params.items() if k != "details"}
        for attempt in (1, 2):
            payload = {"inputs": prompt, "parameters": params}
            response = await self.upstream.request(ctx, "POST", self.base, json=payload, raise_for_status=False)
            if response.status_code == 400 and attempt == 1:
                unused = _UNUSED_KWARGS.search(response.text)
                if unused:
                    names = {n.strip().strip("'\"") for n in unused.group(1).split(",")}
                    params = {k: v for k, v in params.items() if k not in names}
                    continue
            if response.status_code >= 400:
                raise self.upstream.error_for(response)
            break
        answer = parse_json_response(response, self.config.id)
        if isinstance(answer, list) and answer:
            answer = answer[0]
        if not isinstance(answer, dict) or not isinstance(answer.get("generated_text"), str):
            raise UpstreamError(f"target '{self.config.id}': the pipeline answered without generated_text")
        text = answer["generated_text"]
        if text.startswith(prompt):  # a pipeline that ignored return_full_text
            text = text[len(prompt) :]
        limit = params.get("max_new_tokens")
        words = len(text.split())
        reason = "length" if limit is not None and words >= limit else "stop"
        return text, reason, 0, words, forwardable_headers(response.headers)

    async def _tgi_stream(self, ctx: RequestContext, prompt: str, model: str) -> StreamResult:
        payload = {"inputs": prompt, "parameters": tgi_parameters(ctx.body, stream=True), "stream": True}
        response = await self.upstream.request(ctx, "POST", self.base + "/generate_stream", json=payload, stream=True)
        include_usage = bool((ctx.body.get("stream_options") or {}).get("include_usage"))
        base = {
            "id": "chatcmpl-" + ctx.request_id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }
        target_id = self.config.id

        def chunk(delta: dict[str, Any], reason: str | None = None) -> dict[str, Any]:
            return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": reason, "logprobs": None}]}

        async def chunks() -> AsyncIterator[dict[str, Any]]:
            yield chunk({"role": "assistant", "content": ""})
            generated = 0
            async for event in sse.iter_events(response.aiter_raw()):
                if event.data == "[DONE]":
                    break
                try:
                    data = orjson.loads(event.data)
                except orjson.JSONDecodeError:
                    raise UpstreamError(f"target '{target_id}': the endpoint sent an invalid stream event") from None
                if not isinstance(data, dict):
                    continue
                if "error" in data:
                    raise UpstreamError(
                        f"target '{target_id}': the endpoint failed mid-stream ({data.get('error_type') or 'error'})"
                    )
                token = data.get("token") or {}
                generated += 1
                if token.get("text") and not token.get("special"):
                    yield chunk({"content": token["text"]})
                if data.get("generated_text") is not None:
                    details = data.get("details") or {}
                    reason = details.get("finish_reason") or "stop"
                    yield chunk({}, FINISH_REASONS.get(reason, reason))
                    if include_usage:
                        completion = int(details.get("generated_tokens") or generated)
                        prompt_tokens = int(details.get("input_length") or 0)
                        yield {
                            **base,
                            "choices": [],
                            "usage": {
                                "prompt_tokens": prompt_tokens,
                                "completion_tokens": completion,
                                "total_tokens": prompt_tokens + completion,
                            },
                        }
                    return
            raise UpstreamError(f"target '{target_id}': the endpoint's stream ended before the final event")

        return StreamResult(chunks(), aclose=response.aclose, headers=forwardable_headers(response.headers))

    async def _embeddings(self, ctx: RequestContext) -> Result:
        await self._prepare(ctx)
        if self.kind == TGI:
            raise RequestError(
                f"target '{self.config.id}' is a text-generation endpoint; it cannot embed",
                param="model",
                code="unsupported_operation",
            )
        inputs = embeddings.input_texts(ctx.body, "endpoint")
        response = await self.upstream.request(ctx, "POST", self.base, json={"inputs": inputs})
        single = isinstance(inputs, str)
        vectors = embeddings.pool(parse_json_response(response, self.config.id), 1 if single else len(inputs), single)
        model = self.config.model or "endpoint"
        return JSONResult(embeddings.embeddings_result(vectors, model, ctx.body.get("encoding_format")))


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0

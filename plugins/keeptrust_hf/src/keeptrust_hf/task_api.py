"""Hugging Face's native task API, governed: the routes ``huggingface_hub.InferenceClient`` and
``@huggingface/inference`` call when pointed at the gateway.

- ``POST /hf-inference/models/{org}/{name}`` (the router path of the hf-inference backend), with the
  ``/pipeline/{task}`` suffix the clients add for feature-extraction and sentence-similarity;
- ``POST /models/{org}/{name}`` (the serverless path of the former Inference API).

The body is the official client's payload, unchanged (``{"inputs", "parameters"}``, raw image or
audio bytes, or ``{"inputs": <base64>, "parameters"}``: huggingface_hub 2.4.0
``inference/_providers/hf_inference.py``). The task is the model's hf-inference task from the Hub
mapping (or the ``/pipeline/{task}`` of the path); the request runs the policy chain as the
operation ``hf-task:{task}``, whose texts ``task_texts`` declares; the gateway's own Hugging Face
token goes upstream (the client's ``Authorization`` only authenticates it to the gateway); the
answer passes the response policies where it carries text; every call is audited.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import orjson

from keeptrust.context import UploadedFile
from keeptrust.errors import NotFound, RequestError, UpstreamError
from keeptrust.results import BinaryResult, JSONResult, Result
from keeptrust.transport import forwardable_headers
from keeptrust_hf import task_texts
from keeptrust_hf.backend import quote_path
from keeptrust_hf.model_ids import is_repo_id

if TYPE_CHECKING:
    from keeptrust_hf.provider import HuggingFaceProvider

# What ``register_routes`` handlers receive (``keeptrust.server.GatewayRequest``: ``body``,
# ``headers``, ``params``, ``ctx``, ``gateway``, ``parse_json``).
GatewayRequest = Any

ROUTES = ("/hf-inference/models/{org}/{name}{tail:path}", "/models/{org}/{name}{tail:path}")
# Tasks whose router URL names the pipeline (huggingface_hub HFInferenceTask._prepare_url): the
# models behind them serve several.
PIPELINE_IN_URL = frozenset({"feature-extraction", "sentence-similarity"})
_EQUIVALENT = {
    "feature-extraction": frozenset({"feature-extraction", "sentence-similarity"}),
    "sentence-similarity": frozenset({"feature-extraction", "sentence-similarity"}),
    "text-generation": frozenset({"text-generation", "conversational", "text2text-generation"}),
}
ACCEPT_KEY = "keeptrust_hf.accept"
# The conversational task: ``InferenceClient(model=<URL>).chat_completion`` posts to
# ``{URL}/v1/chat/completions`` (huggingface_hub HFInferenceConversational._prepare_url).
CHAT = "conversational"
BINARY_TYPES = (b"image/", b"audio/", b"video/", b"application/octet-stream")


def register_routes(register: Any) -> None:
    task_texts.register()
    for path in ROUTES:
        register("POST", path, handle, raw_body=True)


def _task_from_tail(tail: str) -> str | None:
    tail = tail.rstrip("/")
    if not tail:
        return None
    parts = tail.split("/")
    if len(parts) == 3 and parts[1] == "pipeline" and parts[2] in task_texts.TASKS:
        return parts[2]
    if tail in ("/v1/chat/completions", "/chat/completions"):
        return CHAT
    raise NotFound(
        f"no task route ...{tail[:80]}: use /models/{{org}}/{{name}} or .../pipeline/{{task}} with one of "
        + ", ".join(sorted(task_texts.TASKS)),
        code="route_not_found",
    )


def read_payload(request: GatewayRequest) -> tuple[dict[str, Any], str | None]:
    """The client's payload as the policies see it, and the content type of a binary body
    (``None``: JSON). Raw image/audio bytes become ``{"inputs": UploadedFile}``."""
    raw: bytes = request.body or b""
    ctype = request.headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    is_json = ctype == b"application/json" or ctype.endswith(b"+json") or (not ctype and raw[:1] == b"{")
    if not is_json and (ctype.startswith(BINARY_TYPES) or (raw and not ctype)):
        mime = ctype.decode("latin-1") or "application/octet-stream"
        return {"inputs": UploadedFile("inputs", mime, raw)}, mime
    if ctype and not is_json:
        raise RequestError(
            f"expected a JSON payload or raw image/audio bytes; got Content-Type {ctype.decode('latin-1')[:80]!r}",
            code="unsupported_media_type",
        )
    return request.parse_json(raw), None


def _provider(target: Any) -> HuggingFaceProvider:
    from keeptrust_hf.provider import HuggingFaceProvider

    provider = target.provider
    if not isinstance(provider, HuggingFaceProvider):
        raise RequestError(
            f"target '{target.id}' ({provider.name}) does not serve Hugging Face's task API; "
            "route these models to a 'huggingface' target",
            param="model",
            code="unsupported_operation",
        )
    return provider


async def handle(request: GatewayRequest) -> Result:
    ctx = request.ctx
    params = request.params
    hub_model = f"{params['org']}/{params['name']}"
    if not is_repo_id(hub_model):
        raise RequestError(
            f"'{hub_model[:200]}' is not a valid Hugging Face model id", param="model", code="invalid_model"
        )
    wanted = _task_from_tail(params.get("tail", ""))
    if wanted == CHAT:
        return await chat(request, hub_model)
    payload, binary_type = read_payload(request)
    gateway = request.gateway
    ctx.model = hub_model
    target, upstream_model = gateway.resolver.resolve(hub_model)
    task = wanted or await _provider(target).task_of(ctx, hub_model)
    if task not in task_texts.TASKS:
        raise RequestError(
            f"model '{hub_model}' is served by hf-inference for task '{task}', which the task API does not "
            "serve (chat models: POST /v1/chat/completions)",
            param="model",
            code="unsupported_operation",
        )
    ctx.operation = task_texts.operation_for(task)
    if binary_type is None:
        hold_media(task, payload)
    ctx.body = payload
    accept = request.headers.get(b"accept", b"").decode("latin-1")
    if accept and accept != "*/*" and len(accept) <= 200:
        # The client says which image type it wants (text-to-image sends image/png).
        ctx.extra[ACCEPT_KEY] = accept
    chain = gateway.chain
    if not chain.has("router"):
        ctx.target, ctx.upstream_model = target, upstream_model
    ctx.reached_chain = True
    await chain.on_request(ctx)
    if ctx.target is None:
        ctx.target, ctx.upstream_model = gateway.resolver.resolve(ctx.model)
    provider = _provider(ctx.target)
    return await provider.run_task(ctx, hub_model, task, binary_type)


async def chat(request: GatewayRequest, hub_model: str) -> Result:
    """Chat on the model's hf-inference route, as the gateway's own chat operation: the same
    validation, policies (streams included), target resolution and audit as /v1/chat/completions."""
    from keeptrust import context as ops
    from keeptrust.server.validate import validate

    ctx = request.ctx
    body, _ = read_payload(request)
    if _ is not None:
        raise RequestError("chat completions take a JSON body", code="unsupported_media_type")
    # The client sends ``model: "dummy"`` for a URL model: the path names the model.
    body["model"] = f"huggingface/{HF_INFERENCE}/{hub_model}"
    validate(ops.CHAT, body)
    ctx.operation, ctx.body, ctx.model = ops.CHAT, body, body["model"]
    ctx.stream = body.get("stream") is True
    gateway = request.gateway
    chain = gateway.chain
    if not chain.has("router"):
        ctx.target, ctx.upstream_model = gateway.resolver.resolve(ctx.model)
    ctx.extra["core.reached_chain"] = True
    await chain.on_request(ctx)
    if ctx.target is None:
        ctx.target, ctx.upstream_model = gateway.resolver.resolve(ctx.model)
    return await ctx.target.provider.execute(ctx)


def check_task(hub_model: str, served: str, wanted: str) -> None:
    if served == wanted or served in _EQUIVALENT.get(wanted, ()):
        return
    raise RequestError(
        f"model '{hub_model}' is served by hf-inference for task '{served}', not '{wanted}'",
        param="model",
        code="task_mismatch",
    )


def task_url(base: str, hub_model: str, task: str) -> str:
    url = f"{base.rstrip('/')}/models/{quote_path(hub_model)}"
    return url + f"/pipeline/{task}" if task in PIPELINE_IN_URL else url


# Where binary tasks carry base64 media in a JSON payload (HFInferenceBinaryInputTask with
# parameters; visual- and document-question-answering).
MEDIA_FIELDS: dict[str, tuple[tuple[str, ...], ...]] = {
    **{
        task: (("inputs",),)
        for task in (
            "automatic-speech-recognition",
            "audio-classification",
            "audio-to-audio",
            "image-classification",
            "image-segmentation",
            "image-to-text",
            "object-detection",
            "zero-shot-image-classification",
            "image-to-image",
        )
    },
    "visual-question-answering": (("inputs",), ("image",)),
    "document-question-answering": (("inputs", "image"),),
}


def hold_media(task: str, payload: dict[str, Any]) -> None:
    """Base64 media in a JSON payload become ``UploadedFile``s while the request is in the gateway,
    so policies never take them for text and the audit log keeps their size, not their bytes;
    ``upstream_body`` encodes them back."""
    for path in MEDIA_FIELDS.get(task, ()):
        container: Any = payload
        for key in path[:-1]:
            container = container.get(key) if isinstance(container, dict) else None
        value = container.get(path[-1]) if isinstance(container, dict) else None
        if isinstance(value, str) and not value.startswith(("http://", "https://")):
            try:
                data = base64.b64decode(value, validate=True)
            except ValueError:
                continue
            if base64.b64encode(data).decode("ascii") == value:  # re-encodes to the same text
                container[path[-1]] = UploadedFile(path[-1], "application/octet-stream", data)


def _encode_media(value: Any) -> Any:
    if isinstance(value, UploadedFile):
        return base64.b64encode(value.data).decode("ascii")
    if isinstance(value, dict):
        return {k: _encode_media(v) for k, v in value.items()}
    return value


def upstream_body(payload: dict[str, Any], binary_type: str | None) -> dict[str, Any]:
    """What goes upstream: the payload as the policies left it; raw bytes for a binary body."""
    if binary_type is not None:
        file = payload["inputs"]
        return {"content": file.data, "content_type": binary_type}
    return {"json": _encode_media(payload)}


async def execute(
    provider: HuggingFaceProvider, ctx: Any, url: str, payload: dict[str, Any], binary_type: str | None, headers: dict
) -> Result:
    """POST the task upstream and shape the answer: JSON (policies see it), or bytes as sent."""
    body = dict(payload)
    replay_stream = body.get("stream") is True
    if replay_stream:
        # Answers are checked whole by the response policies, then replayed in TGI's stream
        # format: a streamed answer could not be redacted before the client saw it.
        body["stream"] = False
        ctx.extra["keeptrust_hf.stream_replayed"] = True
    request = upstream_body(body, binary_type)
    send_headers = dict(headers)
    if ctx.extra.get(ACCEPT_KEY):
        send_headers["accept"] = ctx.extra[ACCEPT_KEY]
    if "content_type" in request:
        send_headers["content-type"] = request.pop("content_type")
    response = await provider.upstream.request(ctx, "POST", url, headers=send_headers, **request)
    fwd = forwardable_headers(response.headers)
    ctype = response.headers.get("content-type", "")
    if ctype.startswith("application/json") or (not ctype and response.content[:1] in (b"{", b"[")):
        try:
            answer = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise UpstreamError("hf-inference answered invalid JSON") from None
        if replay_stream:
            return JSONResult(answer, headers=fwd, render=tgi_stream)
        return JSONResult(answer, headers=fwd)
    return BinaryResult(response.content, ctype or "application/octet-stream", headers=fwd)


def tgi_stream(answer: Any) -> tuple[bytes, str]:
    """A whole text-generation answer as TGI's server-sent events (``token`` per word, the last
    event carrying ``generated_text``), what ``text_generation(stream=True)`` reads."""
    item = answer[0] if isinstance(answer, list) and answer else answer
    text = item.get("generated_text", "") if isinstance(item, dict) else ""
    words = text.split(" ") if text else [""]
    events = []
    for i, word in enumerate(words):
        piece = word if i == len(words) - 1 else word + " "
        last = i == len(words) - 1
        event = {
            "index": i,
            "token": {"id": i, "text": piece, "logprob": 0.0, "special": False},
            "generated_text": text if last else None,
            "details": {"finish_reason": "eos_token", "generated_tokens": len(words), "seed": None} if last else None,
        }
        events.append(b"data:" + orjson.dumps(event) + b"\n\n")
    return b"".join(events), "text/event-stream"


# ------------------------------------------------------------------------ on a huggingface target
HF_INFERENCE = "hf-inference"


def _check_target(provider: HuggingFaceProvider) -> None:
    from keeptrust_hf.provider import MESSAGES, ROUTER

    config = provider.config
    if provider.mode == MESSAGES:
        raise RequestError(
            f"target '{config.id}' is an OpenAI-compatible endpoint; Hugging Face's task API needs "
            "a router target or a 'format: huggingface' pipeline endpoint",
            param="model",
            code="unsupported_operation",
        )
    if provider.mode == ROUTER and provider.backend is not None and provider.backend.name != HF_INFERENCE:
        raise RequestError(
            f"target '{config.id}' is bound to the backend '{provider.backend.name}'; Hugging Face's task "
            "API is served by the backend 'hf-inference'",
            param="model",
            code="unsupported_backend",
        )


async def _entry(provider: HuggingFaceProvider, ctx: Any, hub_model: str) -> Any:
    entries = await provider.mapping.get(ctx, hub_model)
    entry = next((e for e in entries if e.provider == HF_INFERENCE), None)
    if entry is None:
        served = ", ".join(e.provider for e in entries) or "none"
        raise RequestError(
            f"model '{hub_model}' is not served by the Hugging Face backend 'hf-inference' (served by: {served}); "
            "other backends are reached through the OpenAI-compatible routes",
            param="model",
            code="model_not_supported",
        )
    if entry.status == "staging":
        raise RequestError(
            f"model '{hub_model}' is in staging on 'hf-inference' and cannot be used yet",
            param="model",
            code="model_staging",
        )
    return entry


async def task_of(provider: HuggingFaceProvider, ctx: Any, hub_model: str) -> str:
    """The hf-inference task of ``hub_model``: its mapping entry's task (router targets)."""
    from keeptrust_hf.provider import NATIVE

    _check_target(provider)
    if provider.mode == NATIVE:
        raise RequestError(
            f"target '{provider.config.id}' is a pipeline endpoint: name the task in the path "
            f"(.../models/{hub_model}/pipeline/{{task}})",
            param="model",
            code="task_required",
        )
    provider.require_hf_token("the Hugging Face backend 'hf-inference'")
    return str((await _entry(provider, ctx, hub_model)).task)


async def run_task(
    provider: HuggingFaceProvider, ctx: Any, hub_model: str, task: str, binary_type: str | None
) -> Result:
    """One task call, after the request policies: to hf-inference through the router, or to the
    target's own pipeline endpoint (``format: huggingface``)."""
    from keeptrust.errors import PermissionDenied
    from keeptrust_hf.provider import NATIVE, _gated

    _check_target(provider)
    if provider.mode == NATIVE:
        url = (provider.config.base_url or "").rstrip("/")
        return await execute(provider, ctx, url, ctx.body, binary_type, {})
    provider.require_hf_token("the Hugging Face backend 'hf-inference'")
    entry = await _entry(provider, ctx, hub_model)
    check_task(hub_model, entry.task, task)
    ctx.upstream_model = entry.provider_id
    url = task_url(f"{provider.router}/{HF_INFERENCE}", entry.provider_id, task)
    try:
        return await execute(provider, ctx, url, ctx.body, binary_type, provider.router_headers())
    except PermissionDenied as exc:
        raise _gated(hub_model, exc) from None

"""The OpenAI-compatible dialect most router backends speak (huggingface_hub _providers/_common.py): the
body is the OpenAI request with ``model`` = the backend's own id, on the backend's route."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import httpx

from keeptrust import context as ops
from keeptrust.openai_compat import chat_completion, post_json
from keeptrust.results import JSONResult, Result
from keeptrust.transport import forwardable_headers, parse_json_response
from keeptrust_hf import embeddings, media
from keeptrust_hf.backend import RF_FLAT_JSON_SCHEMA, RF_GUIDED_JSON, RF_JSON_OBJECT_SCHEMA, RF_NON_STRICT, RF_TGI

if TYPE_CHECKING:
    from keeptrust_hf.backend import Backend, BackendCall


async def execute(backend: Backend, call: BackendCall) -> Result:
    op = call.operation
    handler = _HANDLERS.get(op)
    if handler is None:
        raise backend.unsupported(op)
    return await handler(backend, call)


def rewrite_response_format(payload: dict[str, Any], style: str) -> None:
    """Per-backend ``response_format`` rewrites done by the official client (§8.4)."""
    rf = payload.get("response_format")
    if not isinstance(rf, dict) or rf.get("type") != "json_schema" or not isinstance(rf.get("json_schema"), dict):
        return
    schema = rf["json_schema"].get("schema")
    if style == RF_JSON_OBJECT_SCHEMA:
        payload["response_format"] = {"type": "json_object", "schema": schema}
    elif style == RF_FLAT_JSON_SCHEMA:
        payload["response_format"] = {"type": "json_schema", "schema": schema}
    elif style == RF_TGI:
        payload["response_format"] = {"type": "json_object", "value": schema}
    elif style == RF_GUIDED_JSON and schema is not None:
        payload["guided_json"] = schema
    elif style == RF_NON_STRICT and rf["json_schema"].get("strict") in (True, None):
        payload["response_format"] = {**rf, "json_schema": {**rf["json_schema"], "strict": False}}


def chat_payload(backend: Backend, call: BackendCall, model: str) -> dict[str, Any]:
    # ``model`` first: the official client does so that a proxy can pick the backend from a small
    # prefix of the body (_common.py BaseConversationalTask).
    payload = {"model": model, **{k: v for k, v in call.body.items() if k != "model"}}
    backend.map_params(ops.CHAT, payload)
    rewrite_response_format(payload, backend.response_format_style)
    return payload


async def chat(backend: Backend, call: BackendCall) -> Result:
    payload = chat_payload(backend, call, call.provider_model)
    url = call.url(backend.route(ops.CHAT, call.provider_model))
    if payload.get("stream") and not backend.chat_stream:
        # The backend cannot stream: ask for the whole answer, the core replays it as chunks.
        from keeptrust.openai_compat import completion_to_chunks, normalize_completion
        from keeptrust.results import StreamResult

        payload["stream"] = False
        payload.pop("stream_options", None)
        body, fwd = await post_json(call.upstream, call.ctx, url, payload, headers=call.headers)
        chunks = completion_to_chunks(normalize_completion(body, call.ctx))

        async def replay() -> Any:
            for chunk in chunks:
                yield chunk

        return StreamResult(replay(), headers=fwd)
    return await chat_completion(call.upstream, call.ctx, url, payload, headers=call.headers)


async def embed(backend: Backend, call: BackendCall) -> Result:
    body = call.body
    payload = {k: v for k, v in body.items() if k not in ("model", "encoding_format")}
    payload["input"] = embeddings.input_texts(body, backend.name) if backend.name != "openai" else body["input"]
    payload["model"] = call.provider_model
    backend.map_params(ops.EMBEDDINGS, payload)
    url = call.url(backend.route(ops.EMBEDDINGS, call.provider_model))
    answer, fwd = await post_json(call.upstream, call.ctx, url, payload, headers=call.headers)
    vectors, usage = embeddings.openai_vectors(answer)
    result = embeddings.embeddings_result(vectors, call.hub_model, body.get("encoding_format"), usage)
    return JSONResult(result, headers=fwd)


async def images(backend: Backend, call: BackendCall) -> Result:
    body = call.body
    payload: dict[str, Any] = {"prompt": body["prompt"], "model": call.provider_model}
    size = media.image_size(body)
    if size is not None:
        payload["width"], payload["height"] = size
    if body.get("n"):
        payload["n"] = body["n"]
    for key in ("seed", "negative_prompt", "steps", "guidance_scale", "num_inference_steps", "output_format"):
        if body.get(key) is not None:
            payload[key] = body[key]
    payload["response_format"] = "b64_json"
    backend.map_params(ops.IMAGES, payload)
    url = call.url(backend.route(ops.IMAGES, call.provider_model))
    answer, _ = await post_json(call.upstream, call.ctx, url, payload, headers=call.headers)
    return await media.images_result(_image_items(answer), body.get("response_format"), call.download)


def _image_items(answer: Any) -> list[media.ImageSource]:
    items = answer.get("data") if isinstance(answer, dict) else None
    out: list[media.ImageSource] = []
    for item in items or ():
        if isinstance(item, dict) and item.get("b64_json"):
            out.append(base64.b64decode(item["b64_json"]))
        elif isinstance(item, dict) and item.get("url"):
            out.append(str(item["url"]))
    return out


async def image_edit(backend: Backend, call: BackendCall) -> Result:
    """together's image-to-image: one JSON request with the image as a data URI (§8.2)."""
    body = call.body
    files = media.uploaded_files(body, "image")
    for f in files:
        media.check_upload(backend, f, "image")
    uris = [media.data_uri(f.data, media.upload_type(f, "image")) for f in files]
    payload: dict[str, Any] = {"prompt": body["prompt"], "model": call.provider_model}
    # FLUX.1 Kontext takes ``image_url``; other models ``reference_images`` (huggingface_hub together.py).
    lowered = call.provider_model.lower()
    if "kontext" in lowered and "flux.1" in lowered:
        payload["image_url"] = uris[0]
    else:
        payload["reference_images"] = uris
    size = media.image_size(body)
    if size is not None:
        payload["width"], payload["height"] = size
    if body.get("n"):
        payload["n"] = body["n"]
    payload["response_format"] = "b64_json"
    backend.map_params(ops.IMAGE_EDIT, payload)
    url = call.url(backend.route(ops.IMAGE_EDIT, call.provider_model))
    answer, _ = await post_json(call.upstream, call.ctx, url, payload, headers=call.headers)
    return await media.images_result(_image_items(answer), body.get("response_format"), call.download)


async def speech(backend: Backend, call: BackendCall) -> Result:
    body = call.body
    payload = {k: v for k, v in body.items() if k not in ("model", "stream_format")}
    payload["model"] = call.provider_model
    backend.map_params(ops.SPEECH, payload)
    url = call.url(backend.route(ops.SPEECH, call.provider_model))
    response = await call.upstream.request(call.ctx, "POST", url, json=payload, headers=call.headers)
    wanted = media.SPEECH_TYPES.get(str(body.get("response_format") or "mp3"))
    result = media.speech_result(response.content, response.headers.get("content-type") or wanted)
    result.headers = forwardable_headers(response.headers)
    return result


async def transcription(backend: Backend, call: BackendCall) -> Result:
    """deepinfra's OpenAI-compatible transcription route takes multipart, like OpenAI (§1.4)."""
    body = call.body
    file = media.uploaded_files(body, "file")[0]
    media.check_upload(backend, file)
    fields: dict[str, str] = {"model": call.provider_model}
    for key in ("language", "prompt", "temperature"):
        if body.get(key) is not None:
            fields[key] = str(body[key])
    # Ask for segments so every OpenAI response_format can be built from one answer.
    fields["response_format"] = "verbose_json"
    request = httpx.Request(
        "POST",
        "http://x",
        data=fields,
        files={"file": (file.filename or "audio", file.data, media.upload_type(file, "audio"))},
    )
    content = request.read()
    url = call.url(backend.route(ops.TRANSCRIPTION, call.provider_model))
    response = await call.upstream.request(
        call.ctx,
        "POST",
        url,
        content=content,
        headers={**call.headers, "content-type": request.headers["content-type"]},
    )
    answer = parse_json_response(response, call.upstream.config.id)
    text = answer.get("text") if isinstance(answer, dict) else None
    if not isinstance(text, str):
        from keeptrust.errors import UpstreamError

        raise UpstreamError(f"the Hugging Face backend '{backend.name}' answered a transcription without 'text'")
    chunks = [
        {"text": s.get("text", ""), "timestamp": [s.get("start"), s.get("end")]}
        for s in answer.get("segments") or ()
        if isinstance(s, dict)
    ]
    return media.transcription_result(text, chunks, body.get("response_format"))


_HANDLERS = {
    ops.CHAT: chat,
    ops.EMBEDDINGS: embed,
    ops.IMAGES: images,
    ops.IMAGE_EDIT: image_edit,
    ops.SPEECH: speech,
    ops.TRANSCRIPTION: transcription,
}

"""hf-inference, Hugging Face's own serverless backend behind the router (huggingface_hub
_providers/hf_inference.py): chat via TGI's Messages API, every other task via the
classic pipeline payload ``{"inputs", "parameters"}`` or raw bytes."""

from __future__ import annotations

import base64
from typing import Any

from keeptrust import context as ops
from keeptrust.errors import RequestError, UpstreamError
from keeptrust.results import JSONResult, Result
from keeptrust.transport import forwardable_headers, parse_json_response
from keeptrust_hf import embeddings, media
from keeptrust_hf.backend import RF_TGI, Backend, BackendCall

_MODEL = "/models/{model}"


class HFInference(Backend):
    name = "hf-inference"
    operations = frozenset({ops.CHAT, ops.EMBEDDINGS, ops.IMAGES, ops.IMAGE_EDIT, ops.SPEECH, ops.TRANSCRIPTION})
    direct_base_url = None  # reachable through the router only
    routes = {
        ops.CHAT: _MODEL + "/v1/chat/completions",
        # Parameters of these two pipelines sit at the body root; "/pipeline/{task}/{model}" (the
        # pre-2025-04 order) answers 404 (huggingface_hub #3038).
        ops.EMBEDDINGS: _MODEL + "/pipeline/feature-extraction",
        ops.IMAGES: _MODEL,
        ops.IMAGE_EDIT: _MODEL,
        ops.SPEECH: _MODEL,
        ops.TRANSCRIPTION: _MODEL,
    }
    response_format_style = RF_TGI
    param_maps = {ops.CHAT: {"max_completion_tokens": "max_tokens"}}

    async def execute(self, call: BackendCall) -> Result:
        op = call.operation
        if op == ops.EMBEDDINGS:
            return await self._embeddings(call)
        if op == ops.IMAGES:
            return await self._images(call)
        if op == ops.IMAGE_EDIT:
            return await self._image_edit(call)
        if op == ops.SPEECH:
            return await self._speech(call)
        if op == ops.TRANSCRIPTION:
            return await self._transcription(call)
        return await super().execute(call)

    async def _post(
        self,
        call: BackendCall,
        payload: Any = None,
        *,
        content: bytes | None = None,
        content_type: str | None = None,
        accept: str | None = None,
    ) -> Any:
        headers = dict(call.headers)
        if accept:
            headers["accept"] = accept
        if content_type:
            headers["content-type"] = content_type
        url = call.url(self.route(call.operation, call.provider_model))
        return await call.upstream.request(call.ctx, "POST", url, json=payload, content=content, headers=headers)

    async def _embeddings(self, call: BackendCall) -> Result:
        body = call.body
        if body.get("dimensions") is not None:
            raise RequestError(
                "'dimensions' is not supported by the Hugging Face backend 'hf-inference' "
                "(its feature-extraction pipeline has a fixed output size)",
                param="dimensions",
                code="unsupported_parameter",
            )
        inputs = embeddings.input_texts(body, self.name)
        payload: dict[str, Any] = {"inputs": inputs}
        for key in ("normalize", "truncate", "truncation_direction", "prompt_name"):
            if body.get(key) is not None:
                payload[key] = body[key]
        response = await self._post(call, payload)
        output = parse_json_response(response, call.upstream.config.id)
        single = isinstance(inputs, str)
        vectors = embeddings.pool(output, 1 if single else len(inputs), single)
        result = embeddings.embeddings_result(vectors, call.hub_model, body.get("encoding_format"))
        return JSONResult(result, headers=forwardable_headers(response.headers))

    async def _images(self, call: BackendCall) -> Result:
        body = call.body
        parameters: dict[str, Any] = {}
        size = media.image_size(body)
        if size is not None:
            parameters["width"], parameters["height"] = size
        for key in ("negative_prompt", "num_inference_steps", "guidance_scale", "seed", "scheduler"):
            if body.get(key) is not None:
                parameters[key] = body[key]
        # ``parameters`` even when empty, as huggingface_hub 2.4.0 sends it (HFInferenceTask).
        payload: dict[str, Any] = {"inputs": body["prompt"], "parameters": parameters}
        images: list[media.ImageSource] = []
        # The pipeline makes one image per call: ``n`` images are ``n`` calls.
        for _ in range(int(body.get("n") or 1)):
            response = await self._post(call, payload, accept="image/png")
            images.append((response.content, _image_type(response)))
        return await media.images_result(images, body.get("response_format"), call.download)

    async def _image_edit(self, call: BackendCall) -> Result:
        body = call.body
        file = media.uploaded_files(body, "image")[0]
        media.check_upload(self, file, "image")
        parameters: dict[str, Any] = {"prompt": body["prompt"]}
        size = media.image_size(body)
        if size is not None:
            parameters["target_size"] = {"width": size[0], "height": size[1]}
        for key in ("negative_prompt", "num_inference_steps", "guidance_scale", "seed"):
            if body.get(key) is not None:
                parameters[key] = body[key]
        # With parameters, binary inputs go base64 inside JSON (HFInferenceBinaryInputTask).
        payload = {"inputs": base64.b64encode(file.data).decode(), "parameters": parameters}
        response = await self._post(call, payload, accept="image/png")
        return await media.images_result(
            [(response.content, _image_type(response))], body.get("response_format"), call.download
        )

    async def _speech(self, call: BackendCall) -> Result:
        # ``parameters`` always present, as huggingface_hub 2.4.0 sends it (HFInferenceTask with the
        # None-valued generation parameters filtered out).
        payload: dict[str, Any] = {"inputs": call.body["input"], "parameters": {}}
        response = await self._post(call, payload)
        result = media.speech_result(response.content, response.headers.get("content-type"))
        result.headers = forwardable_headers(response.headers)
        return result

    async def _transcription(self, call: BackendCall) -> Result:
        body = call.body
        file = media.uploaded_files(body, "file")[0]
        media.check_upload(self, file)
        fmt = body.get("response_format")
        if fmt in ("verbose_json", "srt", "vtt"):
            payload = {"inputs": base64.b64encode(file.data).decode(), "parameters": {"return_timestamps": True}}
            response = await self._post(call, payload)
        else:
            # No parameters: the raw audio is the body, typed by its MIME type (§7.2).
            response = await self._post(call, content=file.data, content_type=media.upload_type(file, "audio"))
        answer = parse_json_response(response, call.upstream.config.id)
        if isinstance(answer, list) and answer:
            answer = answer[0]
        if not isinstance(answer, dict) or not isinstance(answer.get("text"), str):
            raise UpstreamError("the Hugging Face backend 'hf-inference' answered a transcription without 'text'")
        return media.transcription_result(answer["text"], answer.get("chunks"), fmt)


def _image_type(response: Any) -> str:
    ctype = response.headers.get("content-type", "")
    if ctype.startswith("image/"):
        return ctype.split(";")[0]
    if ctype.startswith("application/json"):
        raise UpstreamError("the Hugging Face backend 'hf-inference' answered JSON where an image was expected")
    return media.sniff_image_type(response.content)

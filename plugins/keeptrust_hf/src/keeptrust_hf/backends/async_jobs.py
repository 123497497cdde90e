"""Backends whose media tasks are jobs: submit, then poll until a result URL exists — replicate
(predictions, ``Prefer: wait``), wavespeed (``data.urls.get``) and zai-org (``async-result``).
Wire shapes: huggingface_hub _providers/{replicate,wavespeed,zai_org}.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import trio

from keeptrust import context as ops
from keeptrust.errors import UpstreamError, UpstreamTimeout
from keeptrust.results import Result
from keeptrust.transport import parse_json_response
from keeptrust_hf import media
from keeptrust_hf.backend import Backend, BackendCall


async def post_json(call: BackendCall, url: str, payload: dict[str, Any]) -> Any:
    response = await call.upstream.request(call.ctx, "POST", url, json=payload, headers=call.headers)
    return parse_json_response(response, call.upstream.config.id)


async def poll(call: BackendCall, url: str, done: Callable[[Any], Awaitable[Any] | Any]) -> Any:
    """GET ``url`` every ``call.poll_interval`` until ``done(answer)`` returns non-None, within the
    target's timeout (504 after it). ``done`` raises for a failed job."""
    try:
        with trio.fail_after(call.timeout):
            while True:
                await trio.sleep(call.poll_interval)
                response = await call.upstream.request(call.ctx, "GET", url, headers=call.headers)
                result = done(parse_json_response(response, call.upstream.config.id))
                if result is not None:
                    return result
    except trio.TooSlowError:
        raise UpstreamTimeout(f"the Hugging Face backend job did not finish within {call.timeout:g}s") from None


# ---------------------------------------------------------------------------------------- replicate
class Replicate(Backend):
    name = "replicate"
    operations = frozenset({ops.IMAGES, ops.IMAGE_EDIT, ops.SPEECH, ops.TRANSCRIPTION})
    direct_base_url = "https://api.replicate.com"
    routes = {op: "/v1/models/{model}/predictions" for op in operations}
    headers = {"prefer": "wait"}

    def route(self, operation: str, provider_model: str) -> str:
        # ``owner/name:version`` ids go to the version endpoint with ``version`` in the body.
        if ":" in provider_model:
            return "/v1/predictions"
        return super().route(operation, provider_model)

    async def execute(self, call: BackendCall) -> Result:
        body = call.body
        op = call.operation
        inputs: dict[str, Any] = {}
        if op in (ops.IMAGES, ops.IMAGE_EDIT):
            inputs["prompt"] = body["prompt"]
            size = media.image_size(body)
            if size is not None:
                inputs["width"], inputs["height"] = size
            if (body.get("n") or 1) > 1:
                inputs["num_outputs"] = body["n"]
            if call.mapping is not None and call.mapping.adapter_weights_path is not None:
                inputs["lora_weights"] = f"https://huggingface.co/{call.hub_model}"
        if op == ops.IMAGE_EDIT:
            file = media.uploaded_files(body, "image")[0]
            media.check_upload(self, file, "image")
            uri = media.data_uri(file.data, media.upload_type(file, "image"))
            # Models differ in the key they read (huggingface_hub ReplicateImageToImageTask).
            inputs.update(image=uri, images=[uri], input_image=uri, input_images=[uri])
        elif op == ops.SPEECH:
            inputs["text"] = body["input"]
            if body.get("voice"):
                inputs["voice"] = body["voice"]
        elif op == ops.TRANSCRIPTION:
            file = media.uploaded_files(body, "file")[0]
            media.check_upload(self, file)
            inputs["audio"] = media.data_uri(file.data, media.upload_type(file, "audio"))
            if body.get("language"):
                inputs["language"] = body["language"]
        payload: dict[str, Any] = {"input": inputs}
        if ":" in call.provider_model:
            payload["version"] = call.provider_model.split(":", 1)[1]
        prediction = await post_json(call, call.url(self.route(op, call.provider_model)), payload)
        output = await self._output(call, prediction)
        if op in (ops.IMAGES, ops.IMAGE_EDIT):
            urls = output if isinstance(output, list) else [output]
            return await media.images_result([str(u) for u in urls], body.get("response_format"), call.download)
        if op == ops.SPEECH:
            url = output[0] if isinstance(output, list) else output
            data, ctype = await call.download(str(url))
            return media.speech_result(data, ctype)
        return media.transcription_result(await self._transcript(call, output), None, body.get("response_format"))

    async def _output(self, call: BackendCall, prediction: Any) -> Any:
        def finished(p: Any) -> Any:
            if not isinstance(p, dict):
                raise UpstreamError("replicate answered a prediction that is not an object")
            status = p.get("status")
            if status in ("failed", "canceled", "aborted"):
                raise UpstreamError(f"the replicate prediction {status}: {str(p.get('error') or '')[:200]}")
            return p.get("output") if p.get("output") is not None else None

        output = finished(prediction)
        if output is not None:
            return output
        # ``Prefer: wait`` gave up (60 s): poll the prediction instead of failing as the official
        # client does, within the target's timeout.
        get_url = (prediction.get("urls") or {}).get("get")
        if not get_url:
            raise UpstreamError("replicate answered a pending prediction without urls.get")
        return await poll(call, call.with_router_host(get_url), finished)

    async def _transcript(self, call: BackendCall, output: Any) -> str:
        if isinstance(output, list) and output:
            output = output[0]
        if isinstance(output, str):
            return output
        if isinstance(output, dict):
            for key in ("transcription", "translation", "text"):
                if isinstance(output.get(key), str):
                    return output[key]
            if isinstance(output.get("txt_file"), str):
                data, _ = await call.download(output["txt_file"])
                return data.decode("utf-8", "replace")
        raise UpstreamError("replicate answered a transcription in an unknown shape")


# ---------------------------------------------------------------------------------------- wavespeed
class WaveSpeed(Backend):
    name = "wavespeed"
    operations = frozenset({ops.IMAGES, ops.IMAGE_EDIT})
    direct_base_url = "https://api.wavespeed.ai"
    routes = {ops.IMAGES: "/api/v3/{model}", ops.IMAGE_EDIT: "/api/v3/{model}"}

    async def execute(self, call: BackendCall) -> Result:
        body = call.body
        payload: dict[str, Any] = {"prompt": body["prompt"]}
        size = media.image_size(body)
        if size is not None:
            payload["width"], payload["height"] = size
        for key in ("seed", "negative_prompt", "guidance_scale", "num_inference_steps"):
            if body.get(key) is not None:
                payload[key] = body[key]
        if call.operation == ops.IMAGE_EDIT:
            file = media.uploaded_files(body, "image")[0]
            media.check_upload(self, file, "image")
            payload["image"] = media.data_uri(file.data, media.upload_type(file, "image"))
        url = call.url(self.route(call.operation, call.provider_model))
        images: list[media.ImageSource] = []
        for _ in range(int(body.get("n") or 1)):
            submitted = await post_json(call, url, payload)
            data = submitted.get("data") if isinstance(submitted, dict) else None
            result_url = ((data or {}).get("urls") or {}).get("get") if isinstance(data, dict) else None
            if not result_url:
                raise UpstreamError("wavespeed answered without a result URL (data.urls.get)")

            def finished(answer: Any) -> Any:
                data = answer.get("data") if isinstance(answer, dict) else None
                status = data.get("status") if isinstance(data, dict) else None
                if status == "completed":
                    outputs = data.get("outputs") or []
                    if not outputs:
                        raise UpstreamError("wavespeed completed without an output URL")
                    return outputs[0]
                if status == "failed":
                    raise UpstreamError(f"the wavespeed task failed: {str(data.get('error') or '')[:200]}")
                return None

            images.append(str(await poll(call, call.with_router_host(result_url), finished)))
        return await media.images_result(images, body.get("response_format"), call.download)


# ---------------------------------------------------------------------------------------- zai-org
class ZaiOrg(Backend):
    name = "zai-org"
    operations = frozenset({ops.CHAT, ops.IMAGES})
    direct_base_url = "https://api.z.ai"
    routes = {ops.CHAT: "/api/paas/v4/chat/completions", ops.IMAGES: "/api/paas/v4/async/images/generations"}
    headers = {"accept-language": "en-US,en", "x-source-channel": "hugging_face"}
    param_maps = {ops.CHAT: {"max_completion_tokens": "max_tokens"}}

    async def execute(self, call: BackendCall) -> Result:
        if call.operation != ops.IMAGES:
            return await super().execute(call)
        body = call.body
        payload: dict[str, Any] = {"model": call.provider_model, "prompt": body["prompt"]}
        size = media.image_size(body)
        if size is not None:
            payload["size"] = f"{size[0]}x{size[1]}"
        images: list[media.ImageSource] = []
        for _ in range(int(body.get("n") or 1)):
            task = await post_json(call, call.url(self.routes[ops.IMAGES]), payload)
            images.append(await self._result(call, task))
        return await media.images_result(images, body.get("response_format"), call.download)

    async def _result(self, call: BackendCall, task: Any) -> str:
        def finished(answer: Any) -> Any:
            status = answer.get("task_status") if isinstance(answer, dict) else None
            if status == "FAIL":
                raise UpstreamError("the zai-org image generation failed")
            if status == "SUCCESS" or (status is None and isinstance(answer, dict) and answer.get("image_result")):
                results = answer.get("image_result") or []
                if not results or not results[0].get("url"):
                    raise UpstreamError("zai-org answered without an image URL")
                return results[0]["url"]
            return None

        done = finished(task)
        if done is not None:
            return str(done)
        task_id = task.get("id") if isinstance(task, dict) else None
        if not isinstance(task_id, str) or not task_id.replace("-", "").replace("_", "").isalnum():
            raise UpstreamError("zai-org answered an image task without a usable id")
        return str(await poll(call, call.url(f"/api/paas/v4/async-result/{task_id}"), finished))

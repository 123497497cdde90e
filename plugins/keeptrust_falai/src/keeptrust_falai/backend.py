"""The ``fal-ai`` backend of keeptrust-hf: images, image edits, speech and transcription.

fal is not OpenAI-compatible: every model is an app at ``/{owner}/{app}[/{path}]`` taking its own
JSON input, run either synchronously or through the queue (submit, poll, fetch, cancel). This class
picks the call style per operation (``modes``), and leaves the translations to the pure modules
``images`` and ``audio``."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

import trio

from keeptrust import context as ops
from keeptrust.errors import UpstreamError
from keeptrust.results import BinaryResult, JSONResult, Result
from keeptrust.transport import parse_json_response
from keeptrust_falai import audio, media
from keeptrust_falai import images as image_map
from keeptrust_falai.endpoints import FalEndpoints
from keeptrust_falai.queue import FalQueue
from keeptrust_falai.stream import ImageStream, stream_result
from keeptrust_hf.backend import Backend, BackendCall

# Where this backend notes what it did for the audit log (``ctx.extra`` is keyed by plugin name).
EXTRA_KEY = "falai"
SYNC = "sync"
QUEUE = "queue"

# The router limits request bodies to 2 MB (it answers 413 above) and audio travels base64-encoded
# (4/3 larger) inside JSON, so this is the largest audio file that fits through it.
ROUTER_BODY_LIMIT = 2_000_000
ROUTER_MAX_AUDIO_BYTES = (ROUTER_BODY_LIMIT - 64 * 1024) * 3 // 4
# fal documents no limit for data URIs; OpenAI's own transcription limit is the one clients know.
DIRECT_MAX_AUDIO_BYTES = 25 * 1024 * 1024

# fal's LoRA runner needs the base model named (huggingface_hub fal_ai.py does the same).
LORA_BASE_MODELS = MappingProxyType({"fal-ai/lora": "stabilityai/stable-diffusion-xl-base-1.0"})


class FalAI(Backend):
    name = "fal-ai"
    operations = frozenset({ops.IMAGES, ops.IMAGE_EDIT, ops.SPEECH, ops.TRANSCRIPTION})
    direct_base_url = "https://fal.run"
    direct_auth_scheme = "Key"
    routes = MappingProxyType({op: "/{model}" for op in operations})
    # This backend enforces its own, per-path audio limit (``transcription_limit``).
    max_upload_bytes = None
    # As huggingface_hub 2.4.0 calls fal (inference/_providers/fal_ai.py): text-to-image, speech
    # and transcription run synchronously (``FalAITask``); image-to-image goes through the queue
    # (``FalAIQueueTask``). A target may override per operation with ``backend_options.modes``.
    modes: ClassVar[Mapping[str, str]] = MappingProxyType(
        {ops.IMAGES: SYNC, ops.IMAGE_EDIT: QUEUE, ops.SPEECH: SYNC, ops.TRANSCRIPTION: SYNC}
    )

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> None:
        """``modes``: operation (``images``, ``image_edit``, ``speech``, ``transcription``) →
        ``sync`` or ``queue``, overriding the defaults for one target."""
        unknown = set(options) - {"modes"}
        if unknown:
            raise ValueError(f"unknown option(s) {', '.join(sorted(unknown))} (fal-ai takes: modes)")
        modes = options.get("modes", {})
        if not isinstance(modes, Mapping):
            raise ValueError("modes must map operations to 'sync' or 'queue'")
        for op, mode in modes.items():
            if op not in cls.operations:
                raise ValueError(f"modes.{op}: not a fal-ai operation ({', '.join(sorted(cls.operations))})")
            if mode not in (SYNC, QUEUE):
                raise ValueError(f"modes.{op}: expected 'sync' or 'queue'; got {mode!r}")

    def mode_for(self, call: BackendCall) -> str:
        override = (call.options or {}).get("modes", {}).get(call.operation)
        return override or self.modes.get(call.operation, QUEUE)

    async def execute(self, call: BackendCall) -> Result:
        if not self.supports(call.operation):
            raise self.unsupported(call.operation)
        endpoints = FalEndpoints.for_base(call.base_url, call.via_router)
        if call.operation in (ops.IMAGES, ops.IMAGE_EDIT):
            return await self.images(call, endpoints)
        if call.operation == ops.SPEECH:
            return await self.speech(call, endpoints)
        return await self.transcription(call, endpoints)

    # ------------------------------------------------------------------ calls
    async def run(self, call: BackendCall, endpoints: FalEndpoints, payload: dict[str, Any]) -> Any:
        """One fal call in the operation's mode; returns the model's result JSON."""
        mode = self.mode_for(call)
        info = call.ctx.extra.setdefault(EXTRA_KEY, {})
        info["mode"] = mode
        if mode == SYNC:
            response = await call.upstream.request(
                call.ctx,
                "POST",
                endpoints.run(call.provider_model),
                json=payload,
                headers=call.headers,
                timeout=call.timeout,
            )
            return parse_json_response(response, call.ctx.target.id if call.ctx.target else "fal-ai")
        queue = FalQueue(
            ctx=call.ctx,
            upstream=call.upstream,
            endpoints=endpoints,
            headers=call.headers,
            timeout=call.timeout,
            poll_interval=call.poll_interval,
            logger=call.logger,
        )
        return await queue.run(call.provider_model, payload)

    # ------------------------------------------------------------------ images
    def _lora(self, call: BackendCall, payload: dict[str, Any]) -> None:
        entry = call.mapping
        if entry is None or entry.adapter != "lora" or not entry.adapter_weights_path:
            return
        repo = entry.hf_model_id or call.hub_model
        weights = f"https://huggingface.co/{repo}/resolve/main/{entry.adapter_weights_path}"
        payload.setdefault("loras", [{"path": weights, "scale": 1}])
        base = LORA_BASE_MODELS.get(call.provider_model)
        if base is not None:
            payload.setdefault("model_name", base)

    async def images(self, call: BackendCall, endpoints: FalEndpoints) -> Result:
        edit = call.operation == ops.IMAGE_EDIT
        streaming = call.body.get("stream") is True
        build = image_map.edit_request if edit else image_map.generation_request
        request = build(call.body, streaming=streaming)
        self._lora(call, request.payload)
        info = call.ctx.extra.setdefault(EXTRA_KEY, {})
        info["images_in"] = request.input_images
        if streaming:
            info["mode"] = "stream"
            response = await call.upstream.request(
                call.ctx,
                "POST",
                endpoints.stream(call.provider_model),
                json=request.payload,
                headers={**call.headers, "accept": "text/event-stream"},
                stream=True,
            )
            kind = "image_edit" if edit else "image_generation"
            return stream_result(ImageStream(response, request, kind, call.download, call.upstream.redact))
        result = await self.run(call, endpoints, request.payload)
        found = image_map.result_images(result)
        if not found:
            raise UpstreamError("fal-ai returned no image")
        data: list[dict[str, Any]] = [{} for _ in found]

        async def fill(i: int, image: dict[str, Any]) -> None:
            data[i] = await self._image_item(call, image, request.response_format)

        # b64_json answers may need one download per image: fetch them side by side.
        async with trio.open_nursery() as nursery:
            for i, image in enumerate(found):
                nursery.start_soon(fill, i, image)
        revised = image_map.revised_prompt(result)
        if revised is not None:
            for item in data:
                item["revised_prompt"] = revised
        info["images_out"] = len(data)
        return JSONResult(image_map.openai_answer(result, data, request))

    async def _image_item(self, call: BackendCall, image: dict[str, Any], response_format: str) -> dict[str, Any]:
        url = image["url"]
        if response_format == "url":
            return {"url": url}
        if media.is_data_uri(url):
            return {"b64_json": media.data_uri_base64(url)}
        # The model ignored sync_mode and gave a CDN link: fetch it (without credentials).
        raw, _ = await call.download(url)
        return {"b64_json": base64.b64encode(raw).decode("ascii")}

    # ------------------------------------------------------------------ speech
    async def speech(self, call: BackendCall, endpoints: FalEndpoints) -> Result:
        request = audio.speech_request(call.body)
        result = await self.run(call, endpoints, request.payload)
        output = audio.speech_output(result)
        fallback = audio.SPEECH_CONTENT_TYPES[request.response_format]
        if media.is_data_uri(output.url):
            mime, data = media.decode_data_uri(output.url)
            return BinaryResult(data, mime if mime.startswith("audio/") else (output.content_type or fallback))
        download = await call.downloads.open(output.url, what="fal-ai's result file")
        types = (output.content_type, download.content_type)
        ctype = next((t for t in types if t and t.startswith("audio/")), fallback)
        # The bytes reach the client as the CDN sends them; ``aclose`` runs when the answer ends.
        parts, aclose = download.relay()
        return BinaryResult(parts, ctype, aclose=aclose)

    # ------------------------------------------------------------------ transcription
    def transcription_limit(self, call: BackendCall) -> tuple[int, str]:
        if call.via_router:
            return ROUTER_MAX_AUDIO_BYTES, (
                "the Hugging Face router takes request bodies up to 2 MB, audio base64-encoded"
            )
        return DIRECT_MAX_AUDIO_BYTES, "fal's direct API, audio sent base64-encoded"

    async def transcription(self, call: BackendCall, endpoints: FalEndpoints) -> Result:
        limit, reason = self.transcription_limit(call)
        request = audio.transcription_request(call.body, max_audio_bytes=limit, limit_reason=reason)
        result = await self.run(call, endpoints, request.payload)
        answer = audio.transcription_answer(result, request, call.body)
        # text/srt/vtt travel as JSON through the response policies and are rendered after them.
        return JSONResult(answer, render=audio.text_renderer(request.response_format))

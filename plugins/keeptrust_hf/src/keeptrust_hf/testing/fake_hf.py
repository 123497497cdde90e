"""A fake Hugging Face: the Hub API (mapping, listing, tokenizer configs) and the Inference
Providers router (auto-router, per-backend routes, async jobs, result files), in one ASGI app,
faithful to what huggingface_hub's clients send and receive."""

from __future__ import annotations

import base64
import re
import time
from typing import Any

import trio

from keeptrust_hf.testing.asgi import FLAC, MP3, PNG, FakeApp, FakeRequest, FakeResponse, Handler, hf_error, sse
from keeptrust_hf.testing.fake_tasks import task_answer

OPENAI_STYLE = re.compile(r"/(chat/completions|embeddings|images/generations|audio/speech|audio/transcriptions)$")
POLICIES = {"fastest", "cheapest", "preferred"}


def _last_user(messages: Any) -> str:
    for message in reversed(messages or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
            return str(content or "")
    return ""


def vector(text: str, dim: int = 8) -> list[float]:
    """A deterministic embedding for a text (tests compare them)."""
    seed = sum(text.encode()) or 1
    return [round(((seed * (i + 3)) % 97) / 97.0, 6) for i in range(dim)]


class FakeHF(FakeApp):
    """``token``: the HF token the router and Hub require (None: any). Tests add models with
    ``add_mapping`` and may register extra routes (``add_route``) for backends of other packages."""

    def __init__(self, token: str | None = None) -> None:
        super().__init__()
        self.token = token
        self.mappings: dict[str, dict[str, dict[str, Any]]] = {}
        self.pipeline_tags: dict[str, str] = {}
        self.backend_models: dict[str, set[str]] = {}
        self.gated: set[str] = set()
        self.without_mapping: set[str] = set()
        self.hub_gated: set[str] = set()  # the Hub itself refuses these (403 GatedRepo)
        self.tokenizers: dict[str, dict[str, Any]] = {}
        self.routes: list[tuple[str, str, Handler]] = []
        self.files: dict[str, tuple[bytes, str]] = {"image.png": (PNG, "image/png"), "speech.mp3": (MP3, "audio/mpeg")}
        self.token_level_embeddings = False  # hf-inference answers [tokens][hidden] for one input
        self.tgi_quirks = True  # hf-inference chat answers like TGI (stop_sequence, empty id, object args)
        self.pending_polls = 1  # how many polls an async job stays pending
        self.replicate_pending = False  # Prefer: wait gave up: output null, poll urls.get
        self.reply: str | None = None
        self.hub_delay = 0.0  # seconds the Hub API takes to answer (concurrency tests)
        self._polls: dict[str, int] = {}
        self._kinds: dict[str, str] = {}

    # ------------------------------------------------------------------ test controls
    def add_mapping(
        self,
        hub_model: str,
        provider: str,
        provider_id: str | None = None,
        task: str = "conversational",
        status: str = "live",
        **extra: Any,
    ) -> None:
        entry = {
            "status": status,
            "providerId": provider_id or hub_model,
            "task": task,
            "isModelAuthor": False,
            **extra,
        }
        self.mappings.setdefault(hub_model, {})[provider] = entry
        self.pipeline_tags.setdefault(hub_model, "text-generation" if task == "conversational" else task)

    def add_route(self, method: str, prefix: str, handler: Handler) -> None:
        """Serve ``method`` requests whose path starts with ``prefix`` with ``handler`` (checked first)."""
        self.routes.append((method.upper(), prefix, handler))

    def add_backend_model(self, provider: str, model_id: str) -> None:
        """A model a backend serves under its own id with no Hub mapping (a backend the router no
        longer serves, reached with its own key)."""
        self.backend_models.setdefault(provider, set()).add(model_id)

    def provider_ids(self, provider: str) -> set[str]:
        mapped = {m[provider]["providerId"] for m in self.mappings.values() if provider in m}
        return mapped | self.backend_models.get(provider, set())

    def file_url(self, request: FakeRequest, name: str) -> str:
        return f"{request.base_url}/files/{name}"

    # ------------------------------------------------------------------ routing
    async def route(self, request: FakeRequest) -> FakeResponse:
        for method, prefix, handler in self.routes:
            if request.method == method and request.path.startswith(prefix):
                return await handler(request)
        path = request.path
        if path.startswith("/files/"):
            data, ctype = self.files.get(path[len("/files/") :], (b"", ""))
            return FakeResponse(200 if data else 404, data or {"error": "no file"}, content_type=ctype or None)
        if path.startswith("/api/"):
            if self.hub_delay:
                await trio.sleep(self.hub_delay)
            return self.hub(request)
        if path.endswith("/resolve/main/tokenizer_config.json"):
            model = path[1 : -len("/resolve/main/tokenizer_config.json")]
            if model in self.tokenizers:
                return FakeResponse(200, self.tokenizers[model])
            return hf_error(404, "Entry not found", **{"x-error-code": "EntryNotFound"})
        if self.token is not None and request.header("authorization") != f"Bearer {self.token}":
            return hf_error(401, "Invalid credentials in Authorization header")
        if path in ("/v1/chat/completions", "/v1/responses", "/v1/models"):
            return await self.auto_router(request)
        provider, _, rest = path[1:].partition("/")
        return await self.backend(request, provider, "/" + rest)

    # ------------------------------------------------------------------ Hub API
    def hub(self, request: FakeRequest) -> FakeResponse:
        path = request.path
        if path == "/api/models":
            provider = (request.query.get("inference_provider") or [""])[0]
            models = [
                {
                    "id": m,
                    "modelId": m,
                    "pipeline_tag": self.pipeline_tags.get(m),
                    "likes": 1,
                    "createdAt": "2025-01-01T00:00:00.000Z",
                }
                for m, entries in self.mappings.items()
                if provider in entries
            ]
            return FakeResponse(200, models)
        model = path[len("/api/models/") :]
        if model in self.hub_gated:
            return hf_error(403, f"Access to model {model} is restricted.", **{"x-error-code": "GatedRepo"})
        if model not in self.mappings and model not in self.without_mapping:
            return hf_error(404, "Repository not found", **{"x-error-code": "RepoNotFound"})
        body: dict[str, Any] = {"_id": "0" * 24, "id": model, "pipeline_tag": self.pipeline_tags.get(model)}
        if model not in self.without_mapping and "inferenceProviderMapping" in str(request.query):
            body["inferenceProviderMapping"] = self.mappings[model]
        return FakeResponse(200, body)

    # ------------------------------------------------------------------ /v1 auto-router
    async def auto_router(self, request: FakeRequest) -> FakeResponse:
        if request.path == "/v1/models":
            return FakeResponse(
                200,
                {
                    "object": "list",
                    "data": [
                        {"id": m, "object": "model", "created": 0, "owned_by": m.split("/")[0]} for m in self.mappings
                    ],
                },
            )
        body = request.json or {}
        model, _, suffix = str(body.get("model", "")).partition(":")
        if suffix == "auto" or (
            suffix and suffix not in POLICIES and not any(suffix in entries for entries in self.mappings.values())
        ):
            return FakeResponse(
                400,
                {
                    "error": {
                        "message": f"the provider you attempted to explicitly specify '{suffix}' "
                        "is not a valid provider.",
                        "type": "invalid_request_error",
                        "param": "model",
                        "code": "model_not_supported",
                    }
                },
            )
        if model in self.gated:
            return hf_error(403, f"Access to model {model} is restricted. You must have access to it.")
        if not any(e["task"] == "conversational" for e in self.mappings.get(model, {}).values()):
            return FakeResponse(
                400,
                {
                    "error": {
                        "message": f"The requested model '{model}' is not supported by any provider you have enabled.",
                        "type": "invalid_request_error",
                        "param": "model",
                        "code": "model_not_supported",
                    }
                },
            )
        if request.path == "/v1/responses":
            return self.responses(body)
        return self.chat(body, tgi=False)

    def responses(self, body: dict[str, Any]) -> FakeResponse:
        text = "You said: " + (body["input"] if isinstance(body.get("input"), str) else "...")
        response = {
            "id": "resp_fake",
            "object": "response",
            "created_at": int(time.time()),
            "status": "completed",
            "model": body.get("model"),
            "output": [
                {
                    "type": "message",
                    "id": "msg_fake",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": text, "annotations": []}],
                }
            ],
            "usage": {"input_tokens": 3, "output_tokens": 3, "total_tokens": 6},
        }
        if not body.get("stream"):
            return FakeResponse(200, response)
        events = [
            {
                "type": "response.created",
                "sequence_number": 0,
                "response": {**response, "status": "in_progress", "output": []},
            },
            {
                "type": "response.output_text.delta",
                "sequence_number": 1,
                "item_id": "msg_fake",
                "output_index": 0,
                "content_index": 0,
                "delta": text,
            },
            {"type": "response.completed", "sequence_number": 2, "response": response},
        ]
        return FakeResponse(200, sse(events, done=False))

    def chat(self, body: dict[str, Any], tgi: bool) -> FakeResponse:
        return chat_response(body, tgi, self.reply)

    # ------------------------------------------------------------------ per-backend routes
    async def backend(self, request: FakeRequest, provider: str, rest: str) -> FakeResponse:
        if provider == "hf-inference":
            return self.hf_inference(request, rest)
        if provider == "replicate":
            return self.replicate(request, rest)
        if provider == "wavespeed":
            return self.wavespeed(request, rest)
        if provider == "zai-org" and "/async" in rest:
            return self.zai_images(request, rest)
        match = OPENAI_STYLE.search(rest)
        if match is None:
            return hf_error(404, f"no route {request.method} /{provider}{rest}")
        if rest.endswith("/audio/transcriptions"):
            return FakeResponse(
                200, {"text": "hello world", "segments": [{"id": 0, "start": 0.0, "end": 1.5, "text": "hello world"}]}
            )
        body = request.json or {}
        if body.get("model") not in self.provider_ids(provider):
            return hf_error(404, f"Model {body.get('model')} not found")
        kind = match.group(1)
        if kind == "chat/completions":
            return self.chat(body, tgi=False)
        if kind == "embeddings":
            inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
            return FakeResponse(
                200,
                {
                    "object": "list",
                    "data": [{"object": "embedding", "index": i, "embedding": vector(t)} for i, t in enumerate(inputs)],
                    "model": body["model"],
                    "usage": {"prompt_tokens": 4, "total_tokens": 4},
                },
            )
        if kind == "images/generations":
            item = {"b64_json": base64.b64encode(PNG).decode()}
            return FakeResponse(200, {"id": "img", "data": [item] * int(body.get("n") or 1)})
        return FakeResponse(200, MP3, content_type="audio/mpeg")

    def _hf_model(self, rest: str) -> tuple[str, str]:
        parts = rest.split("/")  # "", "models", org, name, tail...
        return "/".join(parts[2:4]), "/".join(parts[4:])

    def hf_inference(self, request: FakeRequest, rest: str) -> FakeResponse:
        model, tail = self._hf_model(rest)
        entry = self.mappings.get(model, {}).get("hf-inference")
        if entry is None:
            return hf_error(404, f"Model {model} does not exist")
        if model in self.gated:
            return hf_error(403, f"Access to model {model} is restricted.")
        body = request.json
        if tail == "v1/chat/completions":
            return self.chat(body or {}, tgi=self.tgi_quirks)
        if tail == "pipeline/feature-extraction":
            inputs = body["inputs"]
            if isinstance(inputs, str):
                if self.token_level_embeddings:
                    return FakeResponse(200, [vector(w) for w in inputs.split()])
                return FakeResponse(200, vector(inputs))
            return FakeResponse(200, [vector(t) for t in inputs])
        task = entry["task"]
        if tail.startswith("pipeline/"):
            task = tail[len("pipeline/") :]
        answer = task_answer(task, request)
        if answer is not None:
            return answer
        if task in ("text-to-image", "image-to-image"):
            return FakeResponse(200, PNG, content_type="image/png")
        if task == "text-to-speech":
            return FakeResponse(200, FLAC, content_type="audio/flac")
        if task == "automatic-speech-recognition":
            if isinstance(body, dict) and (body.get("parameters") or {}).get("return_timestamps"):
                return FakeResponse(
                    200,
                    {
                        "text": "hello world",
                        "chunks": [
                            {"text": "hello", "timestamp": [0.0, 0.5]},
                            {"text": " world", "timestamp": [0.5, 1.0]},
                        ],
                    },
                )
            return FakeResponse(200, {"text": "hello world"})
        return hf_error(400, f"task {task} is not served by this fake")

    def _poll_ready(self, job: str) -> bool:
        count = self._polls.get(job, 0) + 1
        self._polls[job] = count
        return count > self.pending_polls

    def replicate(self, request: FakeRequest, rest: str) -> FakeResponse:
        if request.method == "GET":
            job = rest.rsplit("/", 1)[-1]
            done = self._poll_ready(job)
            return FakeResponse(
                200,
                {
                    "id": job,
                    "status": "succeeded" if done else "processing",
                    "output": self._replicate_output(request, job) if done else None,
                },
            )
        body = request.json or {}
        model = rest[len("/v1/models/") : -len("/predictions")] if rest.startswith("/v1/models/") else None
        if model is None and body.get("version"):
            model = next((p for p in self.provider_ids("replicate") if p.endswith(":" + body["version"])), None)
        if model not in self.provider_ids("replicate"):
            return hf_error(404, "The requested resource could not be found.")
        job = f"pred{len(self.requests)}"
        self._polls[job] = 0
        self._kinds[job] = (
            "speech" if "text" in body.get("input", {}) else ("asr" if "audio" in body.get("input", {}) else "image")
        )
        if self.replicate_pending:
            return FakeResponse(
                201,
                {
                    "id": job,
                    "status": "starting",
                    "output": None,
                    "urls": {"get": f"https://api.replicate.com/v1/predictions/{job}"},
                },
            )
        return FakeResponse(201, {"id": job, "status": "succeeded", "output": self._replicate_output(request, job)})

    def _replicate_output(self, request: FakeRequest, job: str) -> Any:
        kind = self._kinds.get(job, "image")
        if kind == "speech":
            return self.file_url(request, "speech.mp3")
        if kind == "asr":
            return {"transcription": "hello world"}
        return [self.file_url(request, "image.png")]

    def wavespeed(self, request: FakeRequest, rest: str) -> FakeResponse:
        if request.method == "GET":
            job = rest.split("/")[-2]
            if not self._poll_ready(job):
                return FakeResponse(200, {"code": 200, "data": {"id": job, "status": "processing", "outputs": []}})
            return FakeResponse(
                200,
                {
                    "code": 200,
                    "data": {"id": job, "status": "completed", "outputs": [self.file_url(request, "image.png")]},
                },
            )
        model = rest[len("/api/v3/") :]
        if model not in self.provider_ids("wavespeed"):
            return hf_error(404, "model not found")
        job = f"ws{len(self.requests)}"
        self._polls[job] = 0
        return FakeResponse(
            200,
            {
                "code": 200,
                "data": {
                    "id": job,
                    "status": "created",
                    "urls": {"get": f"https://api.wavespeed.ai/api/v3/predictions/{job}/result"},
                },
            },
        )

    def zai_images(self, request: FakeRequest, rest: str) -> FakeResponse:
        if request.method == "GET":
            job = rest.rsplit("/", 1)[-1]
            if not self._poll_ready(job):
                return FakeResponse(200, {"id": job, "task_status": "PROCESSING"})
            return FakeResponse(
                200,
                {"id": job, "task_status": "SUCCESS", "image_result": [{"url": self.file_url(request, "image.png")}]},
            )
        body = request.json or {}
        if body.get("model") not in self.provider_ids("zai-org"):
            return hf_error(404, "model not found")
        job = f"zai{len(self.requests)}"
        self._polls[job] = 0
        return FakeResponse(200, {"id": job, "task_status": "PROCESSING", "model": body["model"]})


def chat_response(body: dict[str, Any], tgi: bool, reply: str | None = None) -> FakeResponse:
    """An OpenAI chat answer echoing the last user message; ``tgi`` adds TGI's quirks (§4.6, §9.3)."""
    text = reply if reply is not None else "You said: " + _last_user(body.get("messages"))
    model = body.get("model")
    usage = {"prompt_tokens": 5, "completion_tokens": len(text.split()), "total_tokens": 5 + len(text.split())}
    cid = "" if tgi else "chatcmpl-fake"
    finish = "stop_sequence" if tgi and body.get("stop") else ("eos_token" if tgi else "stop")
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if body.get("tools") and body.get("tool_choice") != "none":
        fn = body["tools"][0]["function"]["name"]
        args: Any = {"q": _last_user(body.get("messages"))}
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "" if tgi else "call_1",
                    "type": "function",
                    "function": {"name": fn, "arguments": args if tgi else '{{"q": "{}"}}'.format(args["q"])},
                }
            ],
        }
    if not body.get("stream"):
        return FakeResponse(
            200,
            {
                "id": cid,
                "object": "chat.completion",
                "created": 1,
                "model": model,
                "choices": [
                    {"index": i, "finish_reason": finish, "message": message} for i in range(body.get("n") or 1)
                ],
                "usage": usage,
            },
        )
    base = {"id": cid, "object": "chat.completion.chunk", "created": 1, "model": model}
    events = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
    events += [
        {**base, "choices": [{"index": 0, "delta": {"content": w + " "}, "finish_reason": None}]}
        for w in text.split(" ")
    ]
    events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    if (body.get("stream_options") or {}).get("include_usage"):
        events.append({**base, "choices": [], "usage": usage})
    return FakeResponse(200, sse(events, space=not tgi))

"""A fake Dedicated Endpoint: TGI (``/info``, ``/generate``, ``/generate_stream``, the Messages API)
or a plain transformers pipeline (``POST /`` only), faithful to TGI's API (https://huggingface.github.io/text-generation-inference/)."""

from __future__ import annotations

from typing import Any

from keeptrust_hf.testing.asgi import FakeApp, FakeRequest, FakeResponse, hf_error, sse


class FakeTGI(FakeApp):
    """``mode``: ``tgi`` or ``pipeline``. ``reply`` is the generated text (default: echo the prompt's
    last line). ``chat_template``, when set, is reported by ``/info``. ``loading`` answers 503 +
    ``estimated_time`` that many times first (a cold or scaled-to-zero endpoint)."""

    def __init__(
        self,
        mode: str = "tgi",
        reply: str | None = None,
        chat_template: str | None = None,
        model_id: str = "fake/model",
        unused_kwargs: tuple[str, ...] = (),
    ) -> None:
        super().__init__()
        self.mode = mode
        self.reply = reply
        self.chat_template = chat_template
        self.model_id = model_id
        self.unused_kwargs = unused_kwargs
        self.loading = 0
        self.mid_stream_error = False
        self.prefix = ""  # served under this path (the serverless ``/models/{model}`` form)

    def _text(self, prompt: str) -> str:
        if self.reply is not None:
            return self.reply
        lines = [line for line in prompt.splitlines() if line.strip() and not line.startswith("<|")]
        return "echo: " + (lines[-1].replace("</s>", "") if lines else "")

    async def route(self, request: FakeRequest) -> FakeResponse:
        if self.loading > 0 and request.method == "POST":
            self.loading -= 1
            return FakeResponse(503, {"error": f"Model {self.model_id} is currently loading", "estimated_time": 0.2})
        path, body = request.path, request.json or {}
        if self.prefix and path.startswith(self.prefix):
            path = path[len(self.prefix) :] or "/"
        if self.mode == "pipeline":
            if request.method == "POST" and path == "/":
                return self.pipeline(body)
            return hf_error(404, "Not Found")
        if path == "/info" and request.method == "GET":
            info: dict[str, Any] = {
                "model_id": self.model_id,
                "max_concurrent_requests": 128,
                "max_best_of": 2,
                "max_stop_sequences": 4,
                "max_input_tokens": 4095,
                "max_total_tokens": 4096,
                "validation_workers": 2,
                "max_client_batch_size": 4,
                "router": "text-generation-router",
                "version": "3.3.6",
            }
            if self.chat_template is not None:
                info["chat_template"] = self.chat_template
            return FakeResponse(200, info)
        if path == "/generate":
            return self.generate(body)
        if path == "/generate_stream":
            return self.generate_stream(body)
        if path == "/v1/chat/completions":
            from keeptrust_hf.testing.fake_hf import chat_response

            return chat_response(body, tgi=True, reply=self.reply)  # the Messages API with TGI's quirks
        return hf_error(404, "Not Found")

    def _validate(self, params: dict[str, Any]) -> FakeResponse | None:
        if "temperature" in params and not params["temperature"] > 0:
            return FakeResponse(
                422,
                {
                    "error": "Input validation error: `temperature` must be strictly positive",
                    "error_type": "validation",
                },
            )
        if "top_p" in params and not 0 < params["top_p"] < 1:
            return FakeResponse(
                422, {"error": "Input validation error: `top_p` must be > 0.0 and < 1.0", "error_type": "validation"}
            )
        return None

    def generate(self, body: dict[str, Any]) -> FakeResponse:
        params = body.get("parameters") or {}
        invalid = self._validate(params)
        if invalid is not None:
            return invalid
        text = self._text(body.get("inputs", ""))
        words = text.split(" ")
        limit = params.get("max_new_tokens")
        reason = "eos_token"
        if limit is not None and len(words) > limit:
            words, reason = words[:limit], "length"
        elif params.get("stop"):
            reason = "stop_sequence"
        out = {"generated_text": " ".join(words)}
        if params.get("details"):
            out["details"] = {
                "finish_reason": reason,
                "generated_tokens": len(words),
                "seed": params.get("seed"),
                "prefill": [],
                "tokens": [],
            }
        return FakeResponse(
            200,
            out,
            {"x-prompt-tokens": str(len(body.get("inputs", "").split())), "x-generated-tokens": str(len(words))},
        )

    def generate_stream(self, body: dict[str, Any]) -> FakeResponse:
        params = body.get("parameters") or {}
        invalid = self._validate(params)
        if invalid is not None:
            return invalid
        text = self._text(body.get("inputs", ""))
        words = text.split(" ")
        events: list[Any] = []
        for i, word in enumerate(words, 1):
            piece = word if i == 1 else " " + word
            events.append(
                {
                    "index": i,
                    "token": {"id": i, "text": piece, "logprob": -0.1, "special": False},
                    "top_tokens": None,
                    "generated_text": None,
                    "details": None,
                }
            )
            if self.mid_stream_error and i == 2:
                events.append(
                    {"error": "Request failed during generation: Server error: CUDA OOM", "error_type": "generation"}
                )
                return FakeResponse(200, sse(events, space=False, done=False))
        end = len(words) + 1
        events.append(
            {
                "index": end,
                "token": {"id": 2, "text": "</s>", "logprob": -0.01, "special": True},
                "top_tokens": None,
                "generated_text": text,
                "details": {
                    "finish_reason": "eos_token",
                    "generated_tokens": end,
                    "seed": None,
                    "input_length": len(body.get("inputs", "").split()),
                },
            }
        )
        return FakeResponse(200, sse(events, space=False, done=False))

    def pipeline(self, body: dict[str, Any]) -> FakeResponse:
        params = body.get("parameters") or {}
        rejected = [k for k in params if k in self.unused_kwargs]
        if rejected:
            names = ", ".join(f"'{k}'" for k in rejected)
            message = (
                f"The following `model_kwargs` are not used by the model: [{names}] "
                "(note: typos in the generate arguments will also show up in this list)"
            )
            return FakeResponse(400, {"error": message})
        inputs = body.get("inputs")
        if isinstance(inputs, list) or (isinstance(inputs, str) and not params):
            from keeptrust_hf.testing.fake_hf import vector

            items = inputs if isinstance(inputs, list) else [inputs]
            if all(isinstance(i, str) for i in items) and not str(items[0]).startswith("<|"):
                return FakeResponse(200, [vector(i) for i in items] if isinstance(inputs, list) else vector(inputs))
        text = self._text(inputs or "")
        full = text if params.get("return_full_text") is False else str(inputs) + text
        return FakeResponse(200, [{"generated_text": full}])

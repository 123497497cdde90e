"""OpenAI's legacy ``POST /v1/completions`` as a dialect of the chat operation.

Each prompt becomes a user message, so every target (chat-only Hugging Face backends included)
answers it, and the policies read every prompt as they read chat: the body they see has one user
message per prompt. The gateway then asks the target once per prompt (one after the other) and merges the
answers into one ``text_completion``, with choices numbered as OpenAI numbers them (prompt ``i``,
sample ``j`` → index ``i * n + j``) and usage summed.

Refused with a 400 naming the parameter, because a chat upstream cannot honour them: ``echo``,
``suffix``, ``logprobs``, ``best_of`` other than ``n``, token-id prompts, and streaming several
prompts at once.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import orjson

from keeptrust import sse
from keeptrust.context import CHAT
from keeptrust.errors import RequestError
from keeptrust.results import JSONResult, StreamResult

if TYPE_CHECKING:
    from keeptrust.context import RequestContext
    from keeptrust.dialects import ProviderCall
    from keeptrust.errors import GatewayError, PolicyViolation
    from keeptrust.results import Result
    from keeptrust.server.gateway import Gateway

# Parameters passed to the chat request unchanged.
_PASSED = (
    "model",
    "max_tokens",
    "temperature",
    "top_p",
    "n",
    "stop",
    "presence_penalty",
    "frequency_penalty",
    "seed",
    "user",
    "logit_bias",
    "stream",
    "stream_options",
)
_REFUSED = {
    "echo": "echoing the prompt",
    "suffix": "suffix (insertion) completions",
    "logprobs": "log probabilities",
}


def _bad(field: str, message: str, code: str = "invalid_request") -> RequestError:
    return RequestError(message, param=field, code=code)


def _prompts(body: dict[str, Any]) -> list[str]:
    if "prompt" not in body:
        raise _bad("prompt", "'prompt' is required", "missing_required_parameter")
    prompt = body["prompt"]
    if isinstance(prompt, str):
        return [prompt]
    if isinstance(prompt, list) and prompt and all(isinstance(p, str) for p in prompt):
        return list(prompt)
    if isinstance(prompt, list) and prompt and all(isinstance(p, (int, list)) for p in prompt):
        raise _bad(
            "prompt",
            "token-id prompts are not supported on this gateway; send the prompt as text",
            "unsupported_parameter",
        )
    raise _bad("prompt", "'prompt' must be a string or a non-empty list of strings", "invalid_type")


def to_chat(body: dict[str, Any]) -> dict[str, Any]:
    prompts = _prompts(body)
    for field, what in _REFUSED.items():
        value = body.get(field)
        if value not in (None, False, 0, ""):
            raise _bad(
                field,
                f"'{field}' ({what}) is not supported: completions are served by chat targets",
                "unsupported_parameter",
            )
    n = body.get("n")
    best_of = body.get("best_of")
    if best_of is not None and best_of != (n or 1):
        raise _bad("best_of", "'best_of' other than 'n' is not supported on this gateway", "unsupported_parameter")
    if body.get("stream") is True and len(prompts) > 1:
        raise _bad(
            "prompt",
            "streaming several prompts at once is not supported; send one request per prompt",
            "unsupported_parameter",
        )
    chat = {k: body[k] for k in _PASSED if k in body and body[k] is not None}
    chat["messages"] = [{"role": "user", "content": p} for p in prompts]
    return chat


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def to_text_completion(body: Any, ctx: RequestContext) -> dict[str, Any]:
    body = body if isinstance(body, dict) else {}
    choices = []
    for choice in body.get("choices") or ():
        if isinstance(choice, dict):
            choices.append(
                {
                    "text": _text(choice.get("message") or {}),
                    "index": choice.get("index", 0),
                    "logprobs": None,
                    "finish_reason": choice.get("finish_reason") or "stop",
                }
            )
    out = {
        "id": "cmpl-" + ctx.request_id.removeprefix("req_"),
        "object": "text_completion",
        "created": body.get("created") or int(time.time()),
        "model": ctx.model or body.get("model") or "",
        "choices": choices,
    }
    if isinstance(body.get("usage"), dict):
        out["usage"] = body["usage"]
    return out


class CompletionsStream:
    """Encodes filtered chat chunks as ``text_completion`` stream events."""

    def __init__(self, ctx: RequestContext) -> None:
        self.ctx = ctx
        self.id = "cmpl-" + ctx.request_id.removeprefix("req_")
        self.created = int(time.time())

    def _event(self, chunk: dict[str, Any], choices: list[dict[str, Any]]) -> bytes:
        out: dict[str, Any] = {
            "id": self.id,
            "object": "text_completion",
            "created": self.created,
            "model": self.ctx.model or chunk.get("model") or "",
            "choices": choices,
        }
        if isinstance(chunk.get("usage"), dict):
            out["usage"] = chunk["usage"]
        return sse.encode(out)

    def chunk(self, chunk: dict[str, Any]) -> bytes:
        choices = []
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta") or {}
            text = delta.get("content") if isinstance(delta.get("content"), str) else ""
            if text or choice.get("finish_reason"):
                choices.append(
                    {
                        "text": text,
                        "index": choice.get("index", 0),
                        "logprobs": None,
                        "finish_reason": choice.get("finish_reason"),
                    }
                )
        if not choices and not isinstance(chunk.get("usage"), dict):
            return b""
        return self._event(chunk, choices)

    def end(self) -> bytes:
        return sse.DONE

    def blocked(self, exc: PolicyViolation) -> bytes:
        end = self._event({}, [{"text": "", "index": 0, "logprobs": None, "finish_reason": "content_filter"}])
        return end + sse.encode(exc.to_dict()) + sse.DONE

    def failed(self, exc: GatewayError) -> bytes:
        return sse.encode(exc.to_dict())


class CompletionsDialect:
    name = "openai-completions"
    operation = CHAT

    def request(self, body: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        return to_chat(body)

    async def execute(self, ctx: RequestContext, call: ProviderCall) -> Result:
        messages = ctx.body["messages"]
        if len(messages) == 1:
            return await call(ctx)
        # One upstream call per prompt, in turn: providers read the request from the context, so
        # the calls cannot share it concurrently.
        whole = ctx.body
        n = whole.get("n") or 1
        answers: list[Any] = []
        try:
            for message in messages:
                ctx.body = {**whole, "messages": [message]}
                result = await call(ctx)
                answers.append(result.body if isinstance(result, JSONResult) else {})
        finally:
            ctx.body = whole
        merged: dict[str, Any] = {
            "choices": [],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        }
        for i, answer in enumerate(answers):
            for choice in (answer or {}).get("choices") or ():
                merged["choices"].append({**choice, "index": i * n + choice.get("index", 0)})
            for key, value in ((answer or {}).get("usage") or {}).items():
                if key in merged["usage"] and isinstance(value, int):
                    merged["usage"][key] += value
            merged.setdefault("created", (answer or {}).get("created"))
        return JSONResult(merged)

    def result(self, ctx: RequestContext, result: Result) -> Result:
        if isinstance(result, StreamResult):
            result.encoder = CompletionsStream(ctx)
        elif isinstance(result, JSONResult) and result.status < 400:
            result.render = lambda body: (orjson.dumps(to_text_completion(body, ctx)), "application/json")
        return result

    def error(self, exc: GatewayError, request_id: str | None) -> tuple[int, bytes]:
        return exc.status, exc.body()

    async def local(self, ctx: RequestContext, gateway: Gateway) -> Result | None:
        return None


COMPLETIONS = CompletionsDialect()

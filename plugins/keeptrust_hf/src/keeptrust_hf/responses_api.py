"""``/v1/responses`` for chat backends: the router's own Responses API when the
router picks the backend, otherwise translated to chat completions the way huggingface/responses.js
does (requests to chat, answers and stream events back)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson

from keeptrust import context as ops
from keeptrust.errors import RequestError
from keeptrust.openai_compat import post_json, stream_chunks
from keeptrust.results import JSONResult, Result, StreamResult

if TYPE_CHECKING:
    from keeptrust.context import RequestContext
    from keeptrust_hf.model_ids import ModelRef
    from keeptrust_hf.provider import HuggingFaceProvider

# The router's /v1/responses refuses bodies above 100 KiB (huggingface/responses.js #55): larger
# requests are translated to chat completions instead.
ROUTER_RESPONSES_LIMIT = 100 * 1024
ChatFn = Callable[["RequestContext"], Awaitable[Result]]


async def execute(provider: HuggingFaceProvider, ctx: RequestContext, ref: ModelRef) -> Result:
    if ref.backend is None and (ctx.request_size or 0) < ROUTER_RESPONSES_LIMIT:
        provider.require_hf_token("the router's Responses API")
        payload = {"model": ref.router_model(), **{k: v for k, v in ctx.body.items() if k != "model"}}
        url = provider.router + "/v1/responses"
        if payload.get("stream"):
            result = await stream_chunks(
                provider.upstream, ctx, url, payload, headers=provider.router_headers(), normalize=False
            )
            result.event_names = True
            result.done_marker = False
            return result
        body, fwd = await post_json(provider.upstream, ctx, url, payload, headers=provider.router_headers())
        return JSONResult(body, headers=fwd)

    async def chat(c: RequestContext) -> Result:
        if ref.backend is None:
            return await provider.auto_chat(c, ref)
        return await provider.run_backend(c, ref, ops.CHAT)

    return await via_chat(provider, ctx, chat)


async def via_chat(provider: HuggingFaceProvider, ctx: RequestContext, chat: ChatFn) -> Result:
    request = ctx.body
    ctx.body = to_chat_request(request)
    try:
        result = await chat(ctx)
    finally:
        ctx.body = request
    model = str(request.get("model") or "")
    if isinstance(result, JSONResult):
        return JSONResult(to_response(result.body, request, model), headers=result.headers)
    if isinstance(result, StreamResult):
        return StreamResult(
            stream_events(result.chunks, request, model),
            aclose=result.aclose,
            headers=result.headers,
            event_names=True,
            done_marker=False,
        )
    return result


def _content_text(content: Any) -> Any:
    if isinstance(content, str) or content is None:
        return content or ""
    parts = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("input_text", "output_text", "text"):
            parts.append({"type": "text", "text": part.get("text", "")})
        elif kind == "input_image":
            url = part.get("image_url") or (part.get("file_id") and "")
            if url:
                parts.append({"type": "image_url", "image_url": {"url": url}})
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def to_chat_request(body: dict[str, Any]) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    if body.get("instructions"):
        messages.append({"role": "system", "content": body["instructions"]})
    items = body["input"]
    if isinstance(items, str):
        messages.append({"role": "user", "content": items})
    else:
        for item in items:
            if not isinstance(item, dict):
                raise RequestError("'input' items must be objects", param="input", code="invalid_type")
            kind = item.get("type", "message")
            if kind == "message":
                role = "system" if item.get("role") == "developer" else item.get("role", "user")
                messages.append({"role": role, "content": _content_text(item.get("content"))})
            elif kind == "function_call":
                messages.append(
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": item.get("call_id"),
                                "type": "function",
                                "function": {"name": item.get("name"), "arguments": item.get("arguments", "")},
                            }
                        ],
                    }
                )
            elif kind == "function_call_output":
                output = item.get("output")
                messages.append(
                    {
                        "role": "tool",
                        "tool_call_id": item.get("call_id"),
                        "content": output if isinstance(output, str) else orjson.dumps(output).decode(),
                    }
                )
    chat: dict[str, Any] = {"model": body.get("model"), "messages": messages}
    for src, dst in (
        ("max_output_tokens", "max_tokens"),
        ("temperature", "temperature"),
        ("top_p", "top_p"),
        ("seed", "seed"),
        ("user", "user"),
        ("parallel_tool_calls", "parallel_tool_calls"),
    ):
        if body.get(src) is not None:
            chat[dst] = body[src]
    tools = [t for t in body.get("tools") or () if isinstance(t, dict) and t.get("type") == "function"]
    if tools:
        chat["tools"] = [
            {"type": "function", "function": {k: t[k] for k in ("name", "description", "parameters") if k in t}}
            for t in tools
        ]
    choice = body.get("tool_choice")
    if isinstance(choice, str):
        chat["tool_choice"] = choice
    elif isinstance(choice, dict) and choice.get("name"):
        chat["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
    fmt = (body.get("text") or {}).get("format") if isinstance(body.get("text"), dict) else None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        chat["response_format"] = {
            "type": "json_schema",
            "json_schema": {k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt},
        }
    elif isinstance(fmt, dict) and fmt.get("type") == "json_object":
        chat["response_format"] = {"type": "json_object"}
    if body.get("stream"):
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    return chat


def _usage(usage: Any) -> dict[str, Any] | None:
    if not isinstance(usage, dict):
        return None
    prompt, completion = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + completion,
    }


def _response(
    rid: str, request: dict[str, Any], model: str, status: str, output: list[Any], usage: Any = None
) -> dict[str, Any]:
    return {
        "id": rid,
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "model": model,
        "output": output,
        "usage": _usage(usage),
        "error": None,
        "incomplete_details": None,
        "instructions": request.get("instructions"),
        "tools": request.get("tools") or [],
        "tool_choice": request.get("tool_choice", "auto"),
        "temperature": request.get("temperature"),
        "top_p": request.get("top_p"),
        "parallel_tool_calls": request.get("parallel_tool_calls", True),
        "metadata": request.get("metadata") or {},
    }


def _message_item(item_id: str, text: str, status: str = "completed") -> dict[str, Any]:
    return {
        "type": "message",
        "id": item_id,
        "role": "assistant",
        "status": status,
        "content": [{"type": "output_text", "text": text, "annotations": []}] if status == "completed" else [],
    }


def to_response(completion: Any, request: dict[str, Any], model: str) -> dict[str, Any]:
    base = str(completion.get("id") or "resp")
    choice = (completion.get("choices") or [{}])[0]
    message = choice.get("message") or {}
    output: list[dict[str, Any]] = []
    if message.get("content"):
        output.append(_message_item("msg_" + base, message["content"]))
    for i, call in enumerate(message.get("tool_calls") or ()):
        fn = call.get("function") or {}
        output.append(
            {
                "type": "function_call",
                "id": f"fc_{base}_{i}",
                "call_id": call.get("id"),
                "name": fn.get("name"),
                "arguments": fn.get("arguments", ""),
                "status": "completed",
            }
        )
    status = "incomplete" if choice.get("finish_reason") == "length" else "completed"
    body = _response("resp_" + base, request, model, status, output, completion.get("usage"))
    if status == "incomplete":
        body["incomplete_details"] = {"reason": "max_output_tokens"}
    return body


async def stream_events(
    chunks: AsyncIterator[dict[str, Any]], request: dict[str, Any], model: str
) -> AsyncIterator[dict[str, Any]]:
    """Chat chunks → Responses stream events (text and function calls), numbered in order."""
    seq = 0
    rid, msg_id = "resp_stream", "msg_stream"
    text_parts: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    usage: Any = None
    finish = None
    started = False

    def event(kind: str, **fields: Any) -> dict[str, Any]:
        nonlocal seq
        seq += 1
        return {"type": kind, "sequence_number": seq - 1, **fields}

    async for chunk in chunks:
        if not started:
            rid, msg_id = "resp_" + str(chunk.get("id") or "stream"), "msg_" + str(chunk.get("id") or "stream")
            response = _response(rid, request, model, "in_progress", [])
            yield event("response.created", response=response)
            yield event("response.in_progress", response=response)
            started = True
        if chunk.get("usage"):
            usage = chunk["usage"]
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            if delta.get("content"):
                if not text_parts:
                    yield event(
                        "response.output_item.added", output_index=0, item=_message_item(msg_id, "", "in_progress")
                    )
                    yield event(
                        "response.content_part.added",
                        item_id=msg_id,
                        output_index=0,
                        content_index=0,
                        part={"type": "output_text", "text": "", "annotations": []},
                    )
                text_parts.append(delta["content"])
                yield event(
                    "response.output_text.delta",
                    item_id=msg_id,
                    output_index=0,
                    content_index=0,
                    delta=delta["content"],
                )
            for call in delta.get("tool_calls") or ():
                slot = calls.setdefault(int(call.get("index", 0)), {"id": None, "name": None, "arguments": ""})
                slot["id"] = slot["id"] or call.get("id")
                fn = call.get("function") or {}
                slot["name"] = slot["name"] or fn.get("name")
                slot["arguments"] += fn.get("arguments") or ""
            if choice.get("finish_reason"):
                finish = choice["finish_reason"]
    if not started:
        yield event("response.created", response=_response(rid, request, model, "in_progress", []))
    output: list[dict[str, Any]] = []
    if text_parts:
        text = "".join(text_parts)
        item = _message_item(msg_id, text)
        yield event("response.output_text.done", item_id=msg_id, output_index=0, content_index=0, text=text)
        yield event(
            "response.content_part.done", item_id=msg_id, output_index=0, content_index=0, part=item["content"][0]
        )
        yield event("response.output_item.done", output_index=0, item=item)
        output.append(item)
    for index in sorted(calls):
        slot = calls[index]
        position = len(output)
        item = {
            "type": "function_call",
            "id": f"fc_{rid}_{index}",
            "call_id": slot["id"],
            "name": slot["name"],
            "arguments": slot["arguments"],
            "status": "completed",
        }
        yield event(
            "response.output_item.added", output_index=position, item={**item, "arguments": "", "status": "in_progress"}
        )
        yield event(
            "response.function_call_arguments.delta", item_id=item["id"], output_index=position, delta=slot["arguments"]
        )
        yield event(
            "response.function_call_arguments.done",
            item_id=item["id"],
            output_index=position,
            arguments=slot["arguments"],
        )
        yield event("response.output_item.done", output_index=position, item=item)
        output.append(item)
    status = "incomplete" if finish == "length" else "completed"
    final = _response(rid, request, model, status, output, usage)
    yield event("response.incomplete" if status == "incomplete" else "response.completed", response=final)

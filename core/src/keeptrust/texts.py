"""Where the text is in each operation's request and answer, so that every policy reads (and
rewrites) the same places: message contents and parts, names, tool calls and results, embeddings
inputs, Responses API input, image and speech prompts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs

from keeptrust import context as ops


@attrs.define(eq=False)
class TextRef:
    """One text in a body. ``set`` writes a new value back in place."""

    container: Any
    key: Any
    role: str
    where: str

    @property
    def text(self) -> str:
        return self.container[self.key]

    def set(self, value: str) -> None:
        self.container[self.key] = value


_TEXT_PART_TYPES = frozenset({"text", "input_text", "output_text"})


def _content(container: Any, key: Any, role: str, where: str) -> Iterator[TextRef]:
    value = container.get(key) if isinstance(container, dict) else None
    if isinstance(value, str):
        yield TextRef(container, key, role, where)
    elif isinstance(value, list):
        for j, part in enumerate(value):
            if isinstance(part, dict) and part.get("type") in _TEXT_PART_TYPES and isinstance(part.get("text"), str):
                yield TextRef(part, "text", role, f"{where}[{j}].text")
            elif isinstance(part, str):
                yield TextRef(value, j, role, f"{where}[{j}]")


def _tool_calls(message: dict[str, Any], role: str, where: str) -> Iterator[TextRef]:
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        for k, call in enumerate(calls):
            fn = call.get("function") if isinstance(call, dict) else None
            if isinstance(fn, dict) and isinstance(fn.get("arguments"), str):
                yield TextRef(fn, "arguments", role, f"{where}.tool_calls[{k}].function.arguments")


def _messages(messages: Any, where: str) -> Iterator[TextRef]:
    if not isinstance(messages, list):
        return
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            continue
        role = message.get("role") if isinstance(message.get("role"), str) else "user"
        path = f"{where}[{i}]"
        yield from _content(message, "content", role, f"{path}.content")
        if isinstance(message.get("name"), str):
            yield TextRef(message, "name", role, f"{path}.name")
        yield from _tool_calls(message, role, path)


def _responses_input(body: dict[str, Any]) -> Iterator[TextRef]:
    if isinstance(body.get("instructions"), str):
        yield TextRef(body, "instructions", "system", "instructions")
    value = body.get("input")
    if isinstance(value, str):
        yield TextRef(body, "input", "user", "input")
        return
    if not isinstance(value, list):
        return
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            continue
        path = f"input[{i}]"
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role") if isinstance(item.get("role"), str) else "user"
            yield from _content(item, "content", role, f"{path}.content")
        elif kind == "function_call_output" and isinstance(item.get("output"), str):
            yield TextRef(item, "output", "tool", f"{path}.output")
        elif kind == "function_call" and isinstance(item.get("arguments"), str):
            yield TextRef(item, "arguments", "assistant", f"{path}.arguments")


def request_texts(operation: str, body: dict[str, Any]) -> list[TextRef]:
    """Every text the client sent, in the order a reader meets it."""
    if operation == ops.CHAT:
        return list(_messages(body.get("messages"), "messages"))
    if operation == ops.EMBEDDINGS:
        value = body.get("input")
        if isinstance(value, str):
            return [TextRef(body, "input", "user", "input")]
        if isinstance(value, list):
            return [TextRef(value, i, "user", f"input[{i}]") for i, v in enumerate(value) if isinstance(v, str)]
        return []
    if operation == ops.RESPONSES:
        return list(_responses_input(body))
    if operation in (ops.IMAGES, ops.IMAGE_EDIT, ops.TRANSCRIPTION):
        return [TextRef(body, "prompt", "user", "prompt")] if isinstance(body.get("prompt"), str) else []
    if operation == ops.SPEECH:
        out = [TextRef(body, "input", "user", "input")] if isinstance(body.get("input"), str) else []
        if isinstance(body.get("instructions"), str):
            out.append(TextRef(body, "instructions", "user", "instructions"))
        return out
    return []


def response_texts(operation: str, body: Any) -> list[TextRef]:
    """Every text in a whole (non-stream) answer."""
    if not isinstance(body, dict):
        return []
    out: list[TextRef] = []
    if operation == ops.CHAT:
        for i, choice in enumerate(body.get("choices") or []):
            message = choice.get("message") if isinstance(choice, dict) else None
            if isinstance(message, dict):
                path = f"choices[{i}].message"
                out.extend(_content(message, "content", "assistant", f"{path}.content"))
                if isinstance(message.get("reasoning_content"), str):
                    out.append(TextRef(message, "reasoning_content", "assistant", f"{path}.reasoning_content"))
                out.extend(_tool_calls(message, "assistant", path))
    elif operation == ops.RESPONSES:
        for i, item in enumerate(body.get("output") or []):
            if isinstance(item, dict):
                if item.get("type") == "message":
                    out.extend(_content(item, "content", "assistant", f"output[{i}].content"))
                elif item.get("type") == "function_call" and isinstance(item.get("arguments"), str):
                    out.append(TextRef(item, "arguments", "assistant", f"output[{i}].arguments"))
        if isinstance(body.get("output_text"), str):
            out.append(TextRef(body, "output_text", "assistant", "output_text"))
    elif operation == ops.TRANSCRIPTION:
        if isinstance(body.get("text"), str):
            out.append(TextRef(body, "text", "assistant", "text"))
        for i, seg in enumerate(body.get("segments") or []):
            if isinstance(seg, dict) and isinstance(seg.get("text"), str):
                out.append(TextRef(seg, "text", "assistant", f"segments[{i}].text"))
    return out

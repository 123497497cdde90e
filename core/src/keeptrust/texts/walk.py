"""The walk over request and answer bodies: every text of every operation, with its role and path."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from keeptrust import context as ops
from keeptrust.texts.declared import declared
from keeptrust.texts.fields import (
    NOT_TEXT,
    REQUEST_NOT_TEXT,
    RESPONSE_FORMAT,
    SCHEMA_KEYS,
    SCHEMA_NOT_TEXT,
    TOOLS,
)
from keeptrust.texts.refs import FileNameRef, TextRef, TokensRef


def _path(where: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else str(key)


def first_step(where: str) -> str:
    """The top-level key a path starts with."""
    end = len(where)
    for mark in ".[":
        at = where.find(mark)
        if at != -1:
            end = min(end, at)
    return where[:end]


def walk(value: Any, role: str, where: str) -> Iterator[TextRef]:
    """Every string under ``value`` except under ``NOT_TEXT`` keys (media is skipped by its key, never
    by what the value looks like, so no text passes by looking like a data URL); JSON schemas
    (tool parameters, output formats) are walked as schemas, logprobs as the text they spell."""
    if isinstance(value, dict):
        for key in value:
            yield from _field(value, key, role, where)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            path = f"{where}[{i}]"
            if isinstance(item, str):
                yield TextRef(value, i, role, path)
            elif isinstance(item, (dict, list)):
                yield from walk(item, role, path)


def _field(container: dict[str, Any], key: str, role: str, where: str) -> Iterator[TextRef]:
    if key in NOT_TEXT:
        return
    value = container[key]
    path = _path(where, key)
    if isinstance(value, str):
        yield TextRef(container, key, role, path)
    elif key in SCHEMA_KEYS and isinstance(value, dict):
        yield from schema_texts(value, role, path)
    elif key in ("tools", "functions") and isinstance(value, list):
        yield from _definitions(value, path)
    elif key == "logprobs" and isinstance(value, (dict, list)):
        yield from logprob_refs(container, role, where)
    elif isinstance(value, (dict, list)):
        yield from walk(value, role, path)


def schema_texts(schema: Any, role: str, where: str) -> Iterator[TextRef]:
    """Descriptions, titles, examples, defaults and enum values of a JSON schema: the model reads
    them as instructions. Structure (types, patterns, references, property names) is not text."""
    if isinstance(schema, dict):
        for key, item in schema.items():
            if key in SCHEMA_NOT_TEXT:
                continue
            path = _path(where, key)
            if isinstance(item, str):
                yield TextRef(schema, key, role, path)
            elif isinstance(item, (dict, list)):
                yield from schema_texts(item, role, path)
    elif isinstance(schema, list):
        for i, item in enumerate(schema):
            if isinstance(item, str):
                yield TextRef(schema, i, role, f"{where}[{i}]")
            elif isinstance(item, (dict, list)):
                yield from schema_texts(item, role, f"{where}[{i}]")


def _definitions(tools: list[Any], where: str) -> Iterator[TextRef]:
    yield from walk(tools, TOOLS, where)


def logprob_refs(container: dict[str, Any], role: str, where: str) -> Iterator[TextRef]:
    """Chat's ``logprobs: {content: [...], refusal: [...]}`` or the Responses ``logprobs: [...]``."""
    value = container.get("logprobs")
    if isinstance(value, list) and value:
        yield TokensRef(container, "logprobs", role, _path(where, "logprobs"))
    elif isinstance(value, dict):
        for key, entries in value.items():
            if isinstance(entries, list) and entries:
                yield TokensRef(value, key, role, f"{_path(where, 'logprobs')}.{key}")


def _messages(messages: Any, where: str) -> Iterator[TextRef]:
    if not isinstance(messages, list):
        return
    for i, message in enumerate(messages):
        if isinstance(message, dict):
            role = message.get("role") if isinstance(message.get("role"), str) else "user"
            yield from walk(message, role, f"{where}[{i}]")


# Roles of Responses input and output items other than messages. Outputs of tools are what a
# tool said; calls are what the model said; MCP tool listings are tool definitions.
_ITEM_ROLES = {
    "mcp_list_tools": TOOLS,
    "mcp_approval_response": "user",
    "item_reference": "user",
}
# Fields of call items that carry what the tool answered.
_TOOL_ANSWER_FIELDS = frozenset({"output", "outputs", "results", "error"})


def item_role(item: dict[str, Any]) -> str:
    kind = item.get("type")
    if not isinstance(kind, str) or kind == "message":
        role = item.get("role")
        return role if isinstance(role, str) else "user"
    if kind in _ITEM_ROLES:
        return _ITEM_ROLES[kind]
    if kind.endswith("_output"):
        return "tool"
    return "assistant"


def responses_items(items: Any, where: str) -> Iterator[TextRef]:
    """Texts of Responses input or output items, each with the role its item speaks in."""
    if not isinstance(items, list):
        return
    for i, item in enumerate(items):
        path = f"{where}[{i}]"
        if isinstance(item, str):
            yield TextRef(items, i, "user", path)
        elif isinstance(item, dict):
            yield from responses_item(item, path)


def responses_item(item: dict[str, Any], where: str) -> Iterator[TextRef]:
    role = item_role(item)
    if role == "assistant":
        # A call item: its arguments are the model's, its results the tool's.
        for key in item:
            if key in _TOOL_ANSWER_FIELDS:
                yield from _field(item, key, "tool", where)
            else:
                yield from _field(item, key, role, where)
    else:
        yield from walk(item, role, where)


def _top_level(operation: str, body: dict[str, Any], handled: frozenset[str]) -> Iterator[TextRef]:
    """Fields an operation's walk does not know by name: extra parameters (``negative_prompt``,
    provider-specific options, multipart fields) are texts unless listed as not text."""
    skip = REQUEST_NOT_TEXT.get(operation, {})
    for key, value in body.items():
        if key in handled:
            continue
        # Uploaded files' names are read whatever field carries them (the upstream and often the
        # model see them); the files' bytes are not text.
        if isinstance(value, ops.UploadedFile):
            yield FileNameRef(body, key, "user", f"{key}.filename")
        elif isinstance(value, list) and any(isinstance(v, ops.UploadedFile) for v in value):
            for i, v in enumerate(value):
                if isinstance(v, ops.UploadedFile):
                    yield FileNameRef(value, i, "user", f"{key}[{i}].filename")
                elif isinstance(v, str) and key not in skip:
                    yield TextRef(value, i, "user", f"{key}[{i}]")
        elif key not in skip:
            yield from _field(body, key, "user", "")


_CHAT_KEYS = frozenset({"messages", "tools", "functions", "response_format"})
_RESPONSES_KEYS = frozenset({"instructions", "input", "tools", "text", "prompt"})


def _chat_request(body: dict[str, Any]) -> Iterator[TextRef]:
    yield from _messages(body.get("messages"), "messages")
    for key in ("tools", "functions"):
        if isinstance(body.get(key), list):
            yield from _definitions(body[key], key)
    fmt = body.get("response_format")
    if isinstance(fmt, dict):
        yield from walk(fmt, RESPONSE_FORMAT, "response_format")
    yield from _top_level(ops.CHAT, body, _CHAT_KEYS)


def _responses_request(body: dict[str, Any]) -> Iterator[TextRef]:
    if isinstance(body.get("instructions"), str):
        yield TextRef(body, "instructions", "system", "instructions")
    elif isinstance(body.get("instructions"), list):
        yield from responses_items(body["instructions"], "instructions")
    value = body.get("input")
    if isinstance(value, str):
        yield TextRef(body, "input", "user", "input")
    else:
        yield from responses_items(value, "input")
    if isinstance(body.get("tools"), list):
        yield from _definitions(body["tools"], "tools")
    text = body.get("text")
    if isinstance(text, dict):
        yield from walk(text, RESPONSE_FORMAT, "text")
    prompt = body.get("prompt")
    if isinstance(prompt, dict) and isinstance(prompt.get("variables"), dict):
        # A stored prompt's template variables are substituted into what the model reads.
        yield from walk(prompt["variables"], "user", "prompt.variables")
    yield from _top_level(ops.RESPONSES, body, _RESPONSES_KEYS)


def _embeddings_request(body: dict[str, Any]) -> Iterator[TextRef]:
    value = body.get("input")
    if isinstance(value, str):
        yield TextRef(body, "input", "user", "input")
    elif isinstance(value, list):
        yield from (TextRef(value, i, "user", f"input[{i}]") for i, v in enumerate(value) if isinstance(v, str))
    yield from _top_level(ops.EMBEDDINGS, body, frozenset({"input"}))


def request_texts(operation: str, body: dict[str, Any]) -> list[TextRef]:
    """Every text the client sent that a model (or the upstream's pipeline) reads, in body order
    within each part. Policies may rewrite them in place with ``TextRef.set``."""
    locators = declared(operation)
    if locators is not None:
        return locators[0](body)
    if not isinstance(body, dict):
        return []
    if operation == ops.CHAT:
        return list(_chat_request(body))
    if operation == ops.RESPONSES:
        return list(_responses_request(body))
    if operation == ops.EMBEDDINGS:
        return list(_embeddings_request(body))
    if operation == ops.MODELS:
        return []
    # Images, image edits, speech, transcriptions and any operation added later: every field not
    # known to be a setting is text (prompt, negative_prompt, instructions, file names, ...).
    return list(_top_level(operation, body, frozenset()))


def response_texts(operation: str, body: Any) -> list[TextRef]:
    """Every text in a whole (non-stream) answer the client will read."""
    locators = declared(operation)
    if locators is not None:
        return locators[1](body)
    if not isinstance(body, dict):
        return []
    out: list[TextRef] = []
    if operation == ops.CHAT:
        for i, choice in enumerate(body.get("choices") or []):
            if not isinstance(choice, dict):
                continue
            where = f"choices[{i}]"
            if isinstance(choice.get("message"), dict):
                out.extend(walk(choice["message"], "assistant", f"{where}.message"))
            out.extend(logprob_refs(choice, "assistant", where))
    elif operation == ops.RESPONSES:
        out.extend(responses_items(body.get("output"), "output"))
        if isinstance(body.get("output_text"), str):
            out.append(TextRef(body, "output_text", "assistant", "output_text"))
    elif operation == ops.TRANSCRIPTION:
        if isinstance(body.get("text"), str):
            out.append(TextRef(body, "text", "assistant", "text"))
        for i, seg in enumerate(body.get("segments") or []):
            if isinstance(seg, dict) and isinstance(seg.get("text"), str):
                out.append(TextRef(seg, "text", "assistant", f"segments[{i}].text"))
        for i, word in enumerate(body.get("words") or []):
            if isinstance(word, dict) and isinstance(word.get("word"), str):
                out.append(TextRef(word, "word", "assistant", f"words[{i}].word"))
    elif operation == ops.IMAGES or operation == ops.IMAGE_EDIT:
        for i, image in enumerate(body.get("data") or []):
            if isinstance(image, dict) and isinstance(image.get("revised_prompt"), str):
                out.append(TextRef(image, "revised_prompt", "assistant", f"data[{i}].revised_prompt"))
    return out

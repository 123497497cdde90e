"""An Anthropic Messages request, validated and translated to a chat-completions body.

What maps to what (field names as in ``anthropic.types.MessageCreateParams``):

- ``system`` (a string or text blocks) → a leading ``system`` message (blocks joined by newlines);
- ``messages[]``: text blocks → text parts, ``image`` blocks (``base64`` or ``url`` source) →
  ``image_url`` parts (base64 as a ``data:`` URI), a plain-text ``document`` → a text part;
  assistant ``tool_use`` blocks → ``tool_calls`` (``input`` as JSON ``arguments``); user
  ``tool_result`` blocks → ``tool`` messages placed before the rest of that turn (their images
  follow in a user message, since chat tool messages carry text only; ``is_error: true`` prefixes
  the text with ``Error:``); ``thinking`` blocks are dropped (no chat upstream accepts them back);
- ``tools`` → ``function`` tools (``input_schema`` → ``parameters``); ``tool_choice`` ``auto`` /
  ``any`` / ``tool`` / ``none`` → ``auto`` / ``required`` / the named function / ``none``, and
  ``disable_parallel_tool_use`` → ``parallel_tool_calls: false``;
- ``max_tokens``, ``temperature``, ``top_p``, ``top_k``, ``stop_sequences`` → ``max_tokens``,
  ``temperature``, ``top_p``, ``top_k``, ``stop``; ``metadata.user_id`` → ``user``;
- ``stream`` → ``stream`` with ``stream_options.include_usage`` (usage ends the stream).

``cache_control`` markers are accepted and dropped: chat upstreams have no prompt-cache API.
Server tools (web search, code execution, ...) and ``document`` blocks that are not plain text are
refused with a 400 naming the field, rather than silently ignored.
"""

from __future__ import annotations

from typing import Any

import orjson

from keeptrust.errors import RequestError

_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
_ROLES = frozenset({"user", "assistant"})


def _bad(where: str, message: str) -> RequestError:
    return RequestError(f"{where}: {message}", param=where, code="invalid_request")


def _need(body: dict[str, Any], field: str, ok: bool, expected: str) -> None:
    if field not in body:
        raise _bad(field, "Field required")
    if not ok:
        raise _bad(field, f"expected {expected}")


def _text(block: dict[str, Any], where: str) -> str:
    text = block.get("text")
    if not isinstance(text, str):
        raise _bad(f"{where}.text", "expected a string")
    return text


def _image(block: dict[str, Any], where: str) -> dict[str, Any]:
    source = block.get("source")
    if not isinstance(source, dict):
        raise _bad(f"{where}.source", "expected an object with type 'base64' or 'url'")
    kind = source.get("type")
    if kind == "base64":
        media = source.get("media_type")
        data = source.get("data")
        if media not in _IMAGE_TYPES:
            raise _bad(f"{where}.source.media_type", "expected one of " + ", ".join(sorted(_IMAGE_TYPES)))
        if not isinstance(data, str) or not data:
            raise _bad(f"{where}.source.data", "expected base64 image data")
        return {"type": "image_url", "image_url": {"url": f"data:{media};base64,{data}"}}
    if kind == "url":
        url = source.get("url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise _bad(f"{where}.source.url", "expected an http(s) URL")
        return {"type": "image_url", "image_url": {"url": url}}
    raise _bad(f"{where}.source.type", f"image sources of type {kind!r} are not supported (use 'base64' or 'url')")


def _document(block: dict[str, Any], where: str) -> dict[str, Any]:
    source = block.get("source")
    if isinstance(source, dict) and source.get("type") == "text" and isinstance(source.get("data"), str):
        return {"type": "text", "text": source["data"]}
    raise _bad(f"{where}.source", "only plain-text documents (source type 'text') can be sent to chat targets")


def _blocks(content: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise _bad(where, "expected a string or a list of content blocks")
    for j, block in enumerate(content):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise _bad(f"{where}.{j}", "expected a content block with a 'type'")
    return content


def _tool_result(block: dict[str, Any], where: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A ``tool`` message, and the images of the result (sent after it in a user message)."""
    call_id = block.get("tool_use_id")
    if not isinstance(call_id, str) or not call_id:
        raise _bad(f"{where}.tool_use_id", "expected a string")
    content = block.get("content", "")
    texts: list[str] = []
    images: list[dict[str, Any]] = []
    if isinstance(content, str):
        texts.append(content)
    elif isinstance(content, list):
        for k, part in enumerate(content):
            path = f"{where}.content.{k}"
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text":
                texts.append(_text(part, path))
            elif kind == "image":
                images.append(_image(part, path))
            elif kind == "document":
                texts.append(_document(part, path)["text"])
            else:
                raise _bad(f"{path}.type", f"tool results may hold text, image or document blocks; got {kind!r}")
    elif content is not None:
        raise _bad(f"{where}.content", "expected a string or a list of content blocks")
    text = "\n".join(texts)
    if block.get("is_error") is True:
        text = f"Error: {text}" if text else "Error"
    return {"role": "tool", "tool_call_id": call_id, "content": text}, images


def _user(content: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    tool_messages: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for j, block in enumerate(_blocks(content, where)):
        path = f"{where}.{j}"
        kind = block["type"]
        if kind == "text":
            parts.append({"type": "text", "text": _text(block, path)})
        elif kind == "image":
            parts.append(_image(block, path))
        elif kind == "document":
            parts.append(_document(block, path))
        elif kind == "tool_result":
            message, images = _tool_result(block, path)
            tool_messages.append(message)
            parts[:0] = images
        elif kind in ("thinking", "redacted_thinking"):
            continue
        else:
            raise _bad(f"{path}.type", f"a user turn cannot hold {kind!r} blocks on this gateway")
    out = list(tool_messages)
    if parts:
        if all(p["type"] == "text" for p in parts) and len(parts) == 1:
            out.append({"role": "user", "content": parts[0]["text"]})
        else:
            out.append({"role": "user", "content": parts})
    return out


def _assistant(content: Any, where: str) -> dict[str, Any]:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for j, block in enumerate(_blocks(content, where)):
        path = f"{where}.{j}"
        kind = block["type"]
        if kind == "text":
            texts.append(_text(block, path))
        elif kind == "tool_use":
            call_id, name, args = block.get("id"), block.get("name"), block.get("input", {})
            if not isinstance(call_id, str) or not call_id:
                raise _bad(f"{path}.id", "expected a string")
            if not isinstance(name, str) or not name:
                raise _bad(f"{path}.name", "expected a string")
            if not isinstance(args, dict):
                raise _bad(f"{path}.input", "expected an object")
            calls.append(
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": name, "arguments": orjson.dumps(args).decode()},
                }
            )
        elif kind in ("thinking", "redacted_thinking"):
            continue
        else:
            raise _bad(f"{path}.type", f"an assistant turn cannot hold {kind!r} blocks on this gateway")
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts or not calls else None}
    if calls:
        message["tool_calls"] = calls
    return message


def _system(system: Any) -> str:
    if isinstance(system, str):
        return system
    if not isinstance(system, list):
        raise _bad("system", "expected a string or a list of text blocks")
    texts = []
    for j, block in enumerate(system):
        if not isinstance(block, dict) or block.get("type") != "text":
            raise _bad(f"system.{j}", "expected a text block")
        texts.append(_text(block, f"system.{j}"))
    return "\n".join(texts)


def _tools(tools: Any) -> list[dict[str, Any]]:
    if not isinstance(tools, list):
        raise _bad("tools", "expected a list of tools")
    out = []
    for i, tool in enumerate(tools):
        where = f"tools.{i}"
        if not isinstance(tool, dict):
            raise _bad(where, "expected an object")
        kind = tool.get("type")
        if kind not in (None, "custom"):
            raise _bad(f"{where}.type", f"server tool {kind!r} is not available through this gateway")
        name, schema = tool.get("name"), tool.get("input_schema")
        if not isinstance(name, str) or not name:
            raise _bad(f"{where}.name", "Field required")
        if not isinstance(schema, dict):
            raise _bad(f"{where}.input_schema", "expected a JSON schema object")
        function: dict[str, Any] = {"name": name, "parameters": schema}
        if isinstance(tool.get("description"), str):
            function["description"] = tool["description"]
        if tool.get("strict") is True:
            function["strict"] = True
        out.append({"type": "function", "function": function})
    return out


def _tool_choice(choice: Any, body: dict[str, Any]) -> None:
    if not isinstance(choice, dict):
        raise _bad("tool_choice", "expected an object with a 'type'")
    kind = choice.get("type")
    if kind == "auto":
        body["tool_choice"] = "auto"
    elif kind == "any":
        body["tool_choice"] = "required"
    elif kind == "none":
        body["tool_choice"] = "none"
    elif kind == "tool":
        name = choice.get("name")
        if not isinstance(name, str) or not name:
            raise _bad("tool_choice.name", "Field required")
        body["tool_choice"] = {"type": "function", "function": {"name": name}}
    else:
        raise _bad("tool_choice.type", "expected one of auto, any, tool, none")
    if choice.get("disable_parallel_tool_use") is True and kind != "none":
        body["parallel_tool_calls"] = False


def _number(body: dict[str, Any], field: str, low: float, high: float | None) -> float | None:
    value = body.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(field, "expected a number")
    if value < low or (high is not None and value > high):
        bound = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
        raise _bad(field, f"must be {bound}")
    return value


def validate_shape(body: dict[str, Any]) -> None:
    """The checks ``count_tokens`` shares with ``messages``: model and messages."""
    _need(body, "model", isinstance(body.get("model"), str) and body.get("model") != "", "a model name")
    messages = body.get("messages")
    _need(body, "messages", isinstance(messages, list) and len(messages) > 0, "a non-empty list of messages")
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise _bad(f"messages.{i}", "expected an object with role and content")
        if message.get("role") not in _ROLES:
            raise _bad(f"messages.{i}.role", "expected 'user' or 'assistant'")
        if "content" not in message:
            raise _bad(f"messages.{i}.content", "Field required")


def to_chat(body: dict[str, Any]) -> dict[str, Any]:
    """The chat-completions body for an Anthropic Messages request. Raises ``RequestError`` (400)
    naming the field, in Anthropic's dotted style (``messages.0.content.1.source``)."""
    validate_shape(body)
    max_tokens = body.get("max_tokens")
    _need(
        body,
        "max_tokens",
        isinstance(max_tokens, int) and not isinstance(max_tokens, bool) and max_tokens >= 1,
        "an integer of at least 1",
    )
    chat: dict[str, Any] = {"model": body["model"]}
    messages: list[dict[str, Any]] = []
    if body.get("system") is not None:
        system = _system(body["system"])
        if system:
            messages.append({"role": "system", "content": system})
    for i, message in enumerate(body["messages"]):
        where = f"messages.{i}.content"
        if message["role"] == "user":
            messages.extend(_user(message["content"], where))
        else:
            messages.append(_assistant(message["content"], where))
    chat["messages"] = messages
    chat["max_tokens"] = max_tokens
    for field, low, high in (("temperature", 0.0, 1.0), ("top_p", 0.0, 1.0)):
        value = _number(body, field, low, high)
        if value is not None:
            chat[field] = value
    top_k = body.get("top_k")
    if top_k is not None:
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0:
            raise _bad("top_k", "expected a non-negative integer")
        chat["top_k"] = top_k
    stops = body.get("stop_sequences")
    if stops is not None:
        if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
            raise _bad("stop_sequences", "expected a list of strings")
        if stops:
            chat["stop"] = list(stops)
    if body.get("tools") is not None:
        tools = _tools(body["tools"])
        if tools:
            chat["tools"] = tools
    if body.get("tool_choice") is not None:
        _tool_choice(body["tool_choice"], chat)
        if chat.get("tool_choice") not in (None, "none") and not chat.get("tools"):
            raise _bad("tool_choice", "a tool choice needs 'tools'")
    metadata = body.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise _bad("metadata", "expected an object")
        user = metadata.get("user_id")
        if user is not None and not isinstance(user, str):
            raise _bad("metadata.user_id", "expected a string")
        if user:
            chat["user"] = user
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise _bad("stream", "expected a boolean")
    if stream:
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    return chat

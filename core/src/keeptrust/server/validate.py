"""Edge validation of request bodies: required fields and types, per operation. Past this point
the body is trusted to have the shape the OpenAI API documents."""

from __future__ import annotations

from typing import Any

from keeptrust import context as ops
from keeptrust.context import UploadedFile
from keeptrust.errors import RequestError
from keeptrust.texts import MESSAGE_ROLES

_NUMBER = (int, float)

# field -> (accepted python types, readable expectation)
_COMMON: dict[str, tuple[tuple[type, ...], str]] = {
    "model": ((str,), "a string"),
    "stream": ((bool,), "a boolean"),
    "temperature": (_NUMBER, "a number"),
    "top_p": (_NUMBER, "a number"),
    "n": ((int,), "an integer"),
    "max_tokens": ((int,), "an integer"),
    "max_completion_tokens": ((int,), "an integer"),
    "max_output_tokens": ((int,), "an integer"),
    "seed": ((int,), "an integer"),
    "user": ((str,), "a string"),
    "stop": ((str, list), "a string or a list of strings"),
    "tools": ((list,), "a list"),
    "response_format": ((dict, str), "an object"),
    "stream_options": ((dict,), "an object"),
    "size": ((str,), "a string such as '1024x1024'"),
    "voice": ((str, dict), "a string"),
    "speed": (_NUMBER, "a number"),
    "prompt": ((str,), "a string"),
    "language": ((str,), "a string"),
}

# multipart sends every field as text: these are converted before the type check.
_FORM_NUMBERS = {"n": int, "temperature": float, "seed": int, "speed": float}
_FORM_BOOLS = {"stream"}


def _bad(field: str, expected: str, value: Any) -> RequestError:
    got = type(value).__name__ if value is not None else "null"
    return RequestError(f"'{field}' must be {expected}; got {got}", param=field, code="invalid_type")


def _check_types(body: dict[str, Any]) -> None:
    for field, (types, expected) in _COMMON.items():
        if field not in body:
            continue
        value = body[field]
        if value is None:
            continue
        if isinstance(value, bool) and bool not in types:
            raise _bad(field, expected, value)
        if not isinstance(value, types):
            raise _bad(field, expected, value)
    stop = body.get("stop")
    if isinstance(stop, list) and not all(isinstance(s, str) for s in stop):
        raise _bad("stop", "a string or a list of strings", stop)


def coerce_form(fields: dict[str, Any]) -> dict[str, Any]:
    for name, kind in _FORM_NUMBERS.items():
        if isinstance(fields.get(name), str):
            try:
                fields[name] = kind(fields[name])
            except ValueError:
                raise RequestError(
                    f"'{name}' must be a number; got {fields[name][:40]!r}", param=name, code="invalid_type"
                ) from None
    for name in _FORM_BOOLS:
        if isinstance(fields.get(name), str):
            fields[name] = fields[name].lower() in ("true", "1", "yes")
    return fields


def _require(body: dict[str, Any], field: str, expected: str, ok: bool) -> None:
    if field not in body:
        raise RequestError(f"'{field}' is required", param=field, code="missing_required_parameter")
    if not ok:
        raise _bad(field, expected, body[field])


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _is_tokens(value: Any) -> bool:
    if not isinstance(value, list) or not value:
        return False
    if all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return True
    return all(isinstance(v, list) and all(isinstance(t, int) for t in v) for v in value)


def validate(operation: str, body: dict[str, Any]) -> None:
    """Raise ``RequestError`` (400, naming the field) when the body cannot be a valid request.
    Message roles are normalised here (case, surrounding whitespace), so every policy after the
    edge sees one spelling."""
    _check_types(body)
    if operation == ops.CHAT:
        messages = body.get("messages")
        _require(body, "messages", "a non-empty list of messages", isinstance(messages, list) and len(messages) > 0)
        for i, message in enumerate(messages):
            chat_message(message, f"messages[{i}]")
        n = body.get("n")
        if isinstance(n, int) and not 1 <= n <= 128:
            raise RequestError("'n' must be between 1 and 128", param="n", code="invalid_value")
        _tool_definitions(body.get("tools"), "tools")
        _function_definitions(body.get("functions"), "functions")
        _response_format(body.get("response_format"))
    elif operation == ops.EMBEDDINGS:
        value = body.get("input")
        ok = (isinstance(value, str) and value != "") or (_is_str_list(value) and len(value) > 0) or _is_tokens(value)
        _require(body, "input", "a string, a list of strings or token ids", ok)
        fmt = body.get("encoding_format")
        if fmt is not None and fmt not in ("float", "base64"):
            raise RequestError(
                "'encoding_format' must be 'float' or 'base64'", param="encoding_format", code="invalid_value"
            )
    elif operation == ops.RESPONSES:
        value = body.get("input")
        _require(body, "input", "a string or a list of input items", isinstance(value, (str, list)))
        if isinstance(value, list):
            for i, item in enumerate(value):
                responses_item(item, f"input[{i}]")
        if body.get("instructions") is not None and not isinstance(body["instructions"], (str, list)):
            raise _bad("instructions", "a string", body["instructions"])
        _responses_tools(body.get("tools"))
    elif operation in (ops.IMAGES, ops.IMAGE_EDIT):
        _require(body, "prompt", "a non-empty string", isinstance(body.get("prompt"), str) and body["prompt"] != "")
        if operation == ops.IMAGE_EDIT:
            image = body.get("image")
            files = image if isinstance(image, list) else [image]
            ok = image is not None and all(isinstance(f, (UploadedFile, str)) for f in files)
            _require(body, "image", "one or more image files", ok)
        n = body.get("n")
        if isinstance(n, int) and not 1 <= n <= 10:
            raise RequestError("'n' must be between 1 and 10", param="n", code="invalid_value")
    elif operation == ops.SPEECH:
        _require(body, "input", "a non-empty string", isinstance(body.get("input"), str) and body["input"] != "")
    elif operation == ops.TRANSCRIPTION:
        _require(body, "file", "an audio file", isinstance(body.get("file"), UploadedFile))


# -- chat messages, as the OpenAI API accepts them -------------------------------------------------

# Content part types each role may send (OpenAI's ChatCompletion*MessageParam types).
CHAT_PART_TYPES: dict[str, tuple[str, ...]] = {
    "system": ("text",),
    "developer": ("text",),
    "user": ("text", "image_url", "input_audio", "file"),
    "assistant": ("text", "refusal"),
    "tool": ("text",),
    "function": (),
}
# The field each part type carries its payload in, and the payload's expected Python type.
_PART_FIELDS: dict[str, tuple[str, type, str]] = {
    "text": ("text", str, "a string"),
    "refusal": ("refusal", str, "a string"),
    "image_url": ("image_url", dict, "an object with a 'url'"),
    "input_audio": ("input_audio", dict, "an object with 'data' and 'format'"),
    "file": ("file", dict, "an object with 'file_data', 'file_id' or 'filename'"),
    "input_text": ("text", str, "a string"),
    "output_text": ("text", str, "a string"),
    "input_image": ("image_url", object, "an image URL or a file id"),
    "input_file": ("file_id", object, "a file"),
}


def _one_of(values: tuple[str, ...]) -> str:
    quoted = [f"'{v}'" for v in values]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _invalid(param: str, message: str, code: str = "invalid_value") -> RequestError:
    return RequestError(f"'{param}': {message}", param=param, code=code)


def _role(message: dict[str, Any], where: str, allowed: tuple[str, ...]) -> str:
    role = message.get("role")
    param = f"{where}.role"
    if not isinstance(role, str):
        raise RequestError(f"'{param}' is required and must be a string", param=param, code="invalid_type")
    normal = role.strip().lower()
    if normal not in allowed:
        raise _invalid(param, f"unknown role {role[:40]!r}; expected {_one_of(allowed)}")
    message["role"] = normal
    return normal


def _string(container: dict[str, Any], key: str, where: str, *, required: bool = True) -> None:
    value = container.get(key)
    param = f"{where}.{key}"
    if value is None:
        if required:
            raise RequestError(f"'{param}' is required", param=param, code="missing_required_parameter")
        return
    if not isinstance(value, str):
        raise RequestError(f"'{param}' must be a string; got {type(value).__name__}", param=param, code="invalid_type")


def _object(value: Any, param: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        got = type(value).__name__ if value is not None else "null"
        raise RequestError(f"'{param}' must be an object; got {got}", param=param, code="invalid_type")
    return value


def content_parts(content: Any, where: str, role: str, allowed: tuple[str, ...]) -> None:
    """A message's ``content``: a string, or a list of typed parts the role may send."""
    if content is None or isinstance(content, str):
        return
    if not isinstance(content, list):
        raise RequestError(f"'{where}' must be a string or a list of content parts", param=where, code="invalid_type")
    for j, part in enumerate(content):
        path = f"{where}[{j}]"
        _object(part, path)
        kind = part.get("type")
        if not isinstance(kind, str):
            raise RequestError(
                f"'{path}.type' is required and must be a string",
                param=f"{path}.type",
                code="missing_required_parameter" if kind is None else "invalid_type",
            )
        if kind not in allowed:
            expected = f"expected {_one_of(allowed)}" if allowed else "this role takes text content only"
            raise _invalid(f"{path}.type", f"a {role} message cannot contain a '{kind[:40]}' part; {expected}")
        field, cls, expected = _PART_FIELDS[kind]
        value = part.get(field)
        if value is None and kind in ("input_image", "input_file"):
            continue
        if not isinstance(value, cls):
            code = "missing_required_parameter" if value is None else "invalid_type"
            raise RequestError(f"'{path}.{field}' must be {expected}", param=f"{path}.{field}", code=code)
        if kind == "image_url":
            _string(value, "url", f"{path}.image_url")
        elif kind == "input_audio":
            _string(value, "data", f"{path}.input_audio")
            _string(value, "format", f"{path}.input_audio")


def _tool_call(call: Any, where: str) -> None:
    _object(call, where)
    kind = call.get("type", "function")
    if kind not in ("function", "custom"):
        raise _invalid(f"{where}.type", f"unknown tool call type {str(kind)[:40]!r}; expected 'function' or 'custom'")
    _string(call, "id", where)
    payload = _object(call.get(kind), f"{where}.{kind}")
    _string(payload, "name", f"{where}.{kind}")
    _string(payload, "arguments" if kind == "function" else "input", f"{where}.{kind}")


def chat_message(message: Any, where: str) -> None:
    """One chat message: role (normalised), content parts the role may send, tool-call shapes."""
    _object(message, where)
    role = _role(message, where, MESSAGE_ROLES)
    content = message.get("content")
    calls = message.get("tool_calls")
    if role == "assistant":
        if content is None and not calls and message.get("function_call") is None:
            raise RequestError(
                f"'{where}.content' is required unless the assistant message has 'tool_calls'",
                param=f"{where}.content",
                code="missing_required_parameter",
            )
        if calls is not None:
            if not isinstance(calls, list):
                raise RequestError(
                    f"'{where}.tool_calls' must be a list", param=f"{where}.tool_calls", code="invalid_type"
                )
            for k, call in enumerate(calls):
                _tool_call(call, f"{where}.tool_calls[{k}]")
        if message.get("function_call") is not None:
            fn = _object(message["function_call"], f"{where}.function_call")
            _string(fn, "name", f"{where}.function_call")
            _string(fn, "arguments", f"{where}.function_call")
    else:
        if calls is not None:
            raise _invalid(f"{where}.tool_calls", f"only assistant messages carry tool calls, not {role} messages")
        if content is None and role != "function":
            raise RequestError(
                f"'{where}.content' is required", param=f"{where}.content", code="missing_required_parameter"
            )
    if role == "tool":
        _string(message, "tool_call_id", where)
    elif role == "function":
        _string(message, "name", where)
        if content is not None and not isinstance(content, str):
            raise RequestError(f"'{where}.content' must be a string", param=f"{where}.content", code="invalid_type")
    _string(message, "name", where, required=False)
    content_parts(content, f"{where}.content", role, CHAT_PART_TYPES[role])


def _definition(fn: dict[str, Any], where: str) -> None:
    _string(fn, "name", where)
    _string(fn, "description", where, required=False)
    if fn.get("parameters") is not None:
        _object(fn["parameters"], f"{where}.parameters")


def _tool_definitions(tools: Any, where: str) -> None:
    if not isinstance(tools, list):
        return
    for k, tool in enumerate(tools):
        path = f"{where}[{k}]"
        _object(tool, path)
        kind = tool.get("type", "function")
        if kind not in ("function", "custom"):
            raise _invalid(f"{path}.type", f"unknown tool type {str(kind)[:40]!r}; expected 'function' or 'custom'")
        _definition(_object(tool.get(kind), f"{path}.{kind}"), f"{path}.{kind}")


def _function_definitions(functions: Any, where: str) -> None:
    if functions is None:
        return
    if not isinstance(functions, list):
        raise _bad(where, "a list", functions)
    for k, fn in enumerate(functions):
        _definition(_object(fn, f"{where}[{k}]"), f"{where}[{k}]")


def _response_format(fmt: Any) -> None:
    if not isinstance(fmt, dict):
        return
    kind = fmt.get("type")
    allowed = ("text", "json_object", "json_schema")
    if kind not in allowed:
        raise _invalid("response_format.type", f"unknown format {str(kind)[:40]!r}; expected {_one_of(allowed)}")
    if kind == "json_schema":
        schema = _object(fmt.get("json_schema"), "response_format.json_schema")
        _string(schema, "name", "response_format.json_schema")


# -- Responses API input items ---------------------------------------------------------------------

RESPONSES_PART_TYPES: dict[str, tuple[str, ...]] = {
    "user": ("input_text", "input_image", "input_file", "input_audio"),
    "system": ("input_text",),
    "developer": ("input_text",),
    "assistant": ("output_text", "refusal", "input_text"),
}


def responses_item(item: Any, where: str) -> None:
    """One Responses input item. Messages get their roles normalised and their parts checked; the
    call items the gateway's policies read get their shapes checked; other item kinds go upstream."""
    if isinstance(item, str):
        return
    _object(item, where)
    kind = item.get("type")
    if kind is not None and not isinstance(kind, str):
        raise RequestError(f"'{where}.type' must be a string", param=f"{where}.type", code="invalid_type")
    if kind in (None, "message"):
        role = _role(item, where, tuple(RESPONSES_PART_TYPES))
        content = item.get("content")
        if content is None:
            raise RequestError(
                f"'{where}.content' is required", param=f"{where}.content", code="missing_required_parameter"
            )
        content_parts(content, f"{where}.content", role, RESPONSES_PART_TYPES[role])
    elif kind in ("function_call_output", "custom_tool_call_output"):
        _string(item, "call_id", where)
        output = item.get("output")
        if not isinstance(output, (str, list)):
            raise RequestError(
                f"'{where}.output' must be a string or a list of content parts",
                param=f"{where}.output",
                code="invalid_type" if output is not None else "missing_required_parameter",
            )
        if isinstance(output, list):
            content_parts(output, f"{where}.output", "tool", ("input_text", "input_image", "input_file"))
    elif kind == "function_call":
        _string(item, "call_id", where)
        _string(item, "name", where)
        _string(item, "arguments", where)
    elif kind == "custom_tool_call":
        _string(item, "call_id", where)
        _string(item, "name", where)
        _string(item, "input", where)


def _responses_tools(tools: Any) -> None:
    if not isinstance(tools, list):
        return
    for k, tool in enumerate(tools):
        path = f"tools[{k}]"
        _object(tool, path)
        kind = tool.get("type")
        if not isinstance(kind, str):
            raise RequestError(f"'{path}.type' is required", param=f"{path}.type", code="missing_required_parameter")
        if kind in ("function", "custom"):
            _definition(tool, path)


__all__ = ["validate"]

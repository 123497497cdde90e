"""Edge validation of request bodies: required fields and types, per operation. Past this point
the body is trusted to have the shape the OpenAI API documents."""

from __future__ import annotations

from typing import Any

from keeptrust import context as ops
from keeptrust.context import UploadedFile
from keeptrust.errors import RequestError

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
    """Raise ``RequestError`` (400, naming the field) when the body cannot be a valid request."""
    _check_types(body)
    if operation == ops.CHAT:
        messages = body.get("messages")
        _require(body, "messages", "a non-empty list of messages", isinstance(messages, list) and len(messages) > 0)
        for i, message in enumerate(messages):
            if not isinstance(message, dict):
                raise RequestError(f"'messages[{i}]' must be an object", param=f"messages[{i}]", code="invalid_type")
            role = message.get("role")
            if not isinstance(role, str):
                raise RequestError(
                    f"'messages[{i}].role' is required and must be a string",
                    param=f"messages[{i}].role",
                    code="invalid_type",
                )
            content = message.get("content")
            if content is not None and not isinstance(content, (str, list)):
                raise RequestError(
                    f"'messages[{i}].content' must be a string or a list of content parts",
                    param=f"messages[{i}].content",
                    code="invalid_type",
                )
        n = body.get("n")
        if isinstance(n, int) and not 1 <= n <= 128:
            raise RequestError("'n' must be between 1 and 128", param="n", code="invalid_value")
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

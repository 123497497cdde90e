"""Upstream answers checked against their operation's shape before any policy or client sees them.

A backend that answers 200 with something else (an error object, an HTML page parsed as JSON, a
different API's schema) must not reach the client as a success: it is a 502 naming the target. The
checks read the parsed JSON once, only the fields clients index into, so they cost next to nothing on
the hot path; anything else a backend adds passes untouched.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from keeptrust import context as ops
from keeptrust.errors import UpstreamError
from keeptrust.results import JSONResult, Result, StreamResult

__all__ = ["check_result", "shape_problem"]


def _items(body: Any, key: str) -> list[Any] | str:
    if not isinstance(body, dict):
        return f"not a JSON object ({type(body).__name__})"
    value = body.get(key)
    if not isinstance(value, list):
        return f"`{key}` is missing" if value is None else f"`{key}` is not a list"
    return value


def _each(items: list[Any], key: str, check: Callable[[dict[str, Any]], str | None]) -> str | None:
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            return f"`{key}[{i}]` is not an object"
        problem = check(item)
        if problem:
            return f"`{key}[{i}]` {problem}"
    return None


def _message(choice: dict[str, Any]) -> str | None:
    message = choice.get("message")
    if not isinstance(message, dict):
        return "has no `message` object"
    content = message.get("content")
    if content is not None and not isinstance(content, (str, list)):
        return "has a `message.content` that is not text"
    return None


def _delta(choice: dict[str, Any]) -> str | None:
    delta = choice.get("delta")
    if delta is not None and not isinstance(delta, dict):
        return "has a `delta` that is not an object"
    content = delta.get("content") if delta else None
    if content is not None and not isinstance(content, str):
        return "has a `delta.content` that is not text"
    return None


def _embedding(item: dict[str, Any]) -> str | None:
    vector = item.get("embedding")
    if isinstance(vector, str):  # encoding_format=base64
        return None
    if not isinstance(vector, list) or (vector and not isinstance(vector[0], (int, float))):
        return "has no `embedding` vector"
    return None


def _image(item: dict[str, Any]) -> str | None:
    if isinstance(item.get("url"), str) or isinstance(item.get("b64_json"), str):
        return None
    return "has neither `url` nor `b64_json`"


def _text_choice(choice: dict[str, Any]) -> str | None:
    return None if isinstance(choice.get("text"), str) else "has no `text`"


def _choices(check: Callable[[dict[str, Any]], str | None]) -> Callable[[Any], str | None]:
    def checker(body: Any) -> str | None:
        choices = _items(body, "choices")
        if isinstance(choices, str):
            return choices
        return _each(choices, "choices", check) if choices else "`choices` is empty"

    return checker


def _list_of(key: str, check: Callable[[dict[str, Any]], str | None]) -> Callable[[Any], str | None]:
    def checker(body: Any) -> str | None:
        items = _items(body, key)
        return items if isinstance(items, str) else _each(items, key, check)

    return checker


def _transcription(body: Any) -> str | None:
    if not isinstance(body, dict):
        return f"not a JSON object ({type(body).__name__})"
    return None if isinstance(body.get("text"), str) else "`text` is missing"


def _response(body: Any) -> str | None:
    output = _items(body, "output")
    return output if isinstance(output, str) else None


def _chunk(chunk: Any) -> str | None:
    choices = _items(chunk, "choices")
    if isinstance(choices, str):
        return choices
    return _each(choices, "choices", _delta)


def _event(event: Any) -> str | None:
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return "an event without a `type`"
    return None


# operation -> (what it is called, the whole-answer check)
_ANSWERS: dict[str, tuple[str, Callable[[Any], str | None]]] = {
    ops.CHAT: ("chat completion", _choices(_message)),
    "completions": ("completion", _choices(_text_choice)),
    ops.EMBEDDINGS: ("embeddings list", _list_of("data", _embedding)),
    ops.IMAGES: ("images answer", _list_of("data", _image)),
    ops.IMAGE_EDIT: ("images answer", _list_of("data", _image)),
    ops.TRANSCRIPTION: ("transcription", _transcription),
    ops.RESPONSES: ("response object", _response),
}


def shape_problem(operation: str, body: Any) -> str | None:
    """What is wrong with a whole answer for ``operation`` (None: nothing we check)."""
    entry = _ANSWERS.get(operation)
    return entry[1](body) if entry else None


def _bad(target_id: str, what: str, problem: str) -> UpstreamError:
    return UpstreamError(f"target '{target_id}': the upstream's answer is not a valid {what}: {problem}")


def check_result(operation: str, result: Result, target_id: str) -> Result:
    """``result`` unchanged when its shape fits ``operation``; else an ``UpstreamError`` (502). A
    stream is checked chunk by chunk as it is relayed."""
    if isinstance(result, JSONResult):
        entry = _ANSWERS.get(operation)
        if entry is not None and 200 <= result.status < 300:
            problem = entry[1](result.body)
            if problem:
                raise _bad(target_id, entry[0], problem)
        return result
    if isinstance(result, StreamResult):
        if result.event_names:
            check, what = _event, "event stream"
        elif operation in (ops.CHAT, "completions"):
            check, what = _chunk, "chat completion stream"
        else:
            return result
        result.chunks = _checked(result.chunks, check, target_id, what)
    return result


async def _checked(
    chunks: AsyncIterator[dict[str, Any]], check: Callable[[Any], str | None], target_id: str, what: str
) -> AsyncIterator[dict[str, Any]]:
    async for chunk in chunks:
        problem = check(chunk)
        if problem:
            raise _bad(target_id, what, problem)
        yield chunk

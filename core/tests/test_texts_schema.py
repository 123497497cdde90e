"""Every string field of the OpenAI API, as the official ``openai`` SDK types it, is either yielded
by ``keeptrust.texts`` (so every policy reads it) or listed there as not text, with a reason.

The request TypedDicts and answer models are turned into sample bodies (one per union variant, so
every message role, content part, input item, tool and output item appears), each free string set
to a unique marker. A field the API adds in a later SDK fails here until it is read or listed.
"""

from __future__ import annotations

import collections.abc
import itertools
import re
import types
import typing
from typing import Any

import orjson
import pydantic
import pytest
import trio
import typing_extensions
from openai.types import embedding_create_params, image_edit_params, image_generate_params
from openai.types.audio import speech_create_params, transcription_create_params
from openai.types.chat import ChatCompletion, ChatCompletionChunk, completion_create_params
from openai.types.responses import Response, ResponseStreamEvent, response_create_params

from keeptrust import context as ops
from keeptrust import texts
from keeptrust.server.responses_stream import MEDIA_DELTAS, ResponsesEvents

MARK = re.compile(r"mk\d+x")
_counter = itertools.count()


def _strip(tp: Any) -> Any:
    while True:
        origin = typing_extensions.get_origin(tp)
        if origin in (typing_extensions.Required, typing_extensions.NotRequired, typing_extensions.Annotated):
            tp = typing_extensions.get_args(tp)[0]
        elif origin is typing.Annotated:
            tp = tp.__origin__
        else:
            return tp


class Samples:
    """Sample values of a type, covering each union alternative at least once. Free strings become
    markers; ``paths`` maps each marker to the field names leading to it."""

    def __init__(self) -> None:
        self.paths: dict[str, tuple[str, ...]] = {}
        self.markers: dict[tuple[str, ...], str] = {}

    def marker(self, path: tuple[str, ...]) -> str:
        if path not in self.markers:
            m = f"mk{next(_counter)}x"
            self.markers[path] = m
            self.paths[m] = path
        return self.markers[path]

    def of(self, tp: Any, path: tuple[str, ...], depth: int = 0) -> list[Any]:
        tp = _strip(tp)
        if depth > 14:
            return [None]
        origin = typing_extensions.get_origin(tp)
        args = typing_extensions.get_args(tp)
        if tp is str:
            return [self.marker(path)]
        if origin in (typing.Literal, typing_extensions.Literal):
            return [args[0]]
        if tp is bool:
            return [True]
        if tp is int:
            return [1]
        if tp is float:
            return [0.5]
        if tp is type(None):
            return [None]
        if origin in (typing.Union, types.UnionType):
            out: list[Any] = []
            for arg in args:
                if arg is not type(None):
                    out.extend(self.of(arg, path, depth + 1))
            return out or [None]
        if origin in (list, collections.abc.Iterable, collections.abc.Sequence, tuple) or (
            origin is not None and getattr(origin, "__name__", "") == "SequenceNotStr"
        ):
            return [[v] for v in self.of(args[0], path, depth + 1)] if args else [[]]
        if origin in (dict, collections.abc.Mapping):
            return [{"key": v} for v in self.of(args[1], (*path, "key"), depth + 1)] if args else [{}]
        if typing_extensions.is_typeddict(tp):
            hints = typing_extensions.get_type_hints(tp, include_extras=True)
            return self._fields(tp.__name__, {k: (k, h) for k, h in hints.items()}, path, depth)
        if isinstance(tp, type) and issubclass(tp, pydantic.BaseModel):
            fields = {n: (f.alias or n, f.annotation) for n, f in tp.model_fields.items()}
            return self._fields(tp.__name__, fields, path, depth)
        return [None]  # files, binary inputs, object: not strings

    def _fields(self, owner: str, fields: dict[str, tuple[str, Any]], path: tuple[str, ...], depth: int) -> list[Any]:
        base: dict[str, Any] = {}
        alternatives: dict[str, list[Any]] = {}
        for _name, (key, hint) in fields.items():
            values = self.of(hint, (*path, key), depth + 1)
            base[key] = values[0]
            alternatives[key] = values[1:]
        out = [base]
        for key, values in alternatives.items():
            out.extend({**base, key: v} for v in values)
        return out


def _excused(path: tuple[str, ...], top_level: dict[str, str]) -> bool:
    if path[:1] == ("response",) and top_level is _STREAM_EVENT_NOT_TEXT:
        path = path[1:]  # the response object a response.* event carries
    if path and path[0] in top_level:
        return True
    return any(step in texts.NOT_TEXT for step in path)


def _unread(body: Any, samples: Samples, refs: list[texts.TextRef], top_level: dict[str, str]) -> set[tuple[str, ...]]:
    """Marker paths present in ``body`` that no ref yields and no list excuses; also checks that
    writing through every ref reaches the body."""
    present = set(MARK.findall(orjson.dumps(body, default=str).decode()))
    read = {m for ref in refs for m in MARK.findall(ref.text)}
    for ref in refs:
        ref.set(ref.text.upper())
    left = set(MARK.findall(orjson.dumps(body, default=str).decode()))
    assert not (left & read), f"rewrites through TextRef did not reach the body: {sorted(left & read)}"
    return {samples.paths[m] for m in present - read if not _excused(samples.paths[m], top_level)}


REQUESTS = [
    (ops.CHAT, completion_create_params.CompletionCreateParamsBase),
    (ops.RESPONSES, response_create_params.ResponseCreateParamsBase),
    (ops.EMBEDDINGS, embedding_create_params.EmbeddingCreateParams),
    (ops.IMAGES, image_generate_params.ImageGenerateParamsBase),
    (ops.IMAGE_EDIT, image_edit_params.ImageEditParamsBase),
    (ops.SPEECH, speech_create_params.SpeechCreateParams),
    (ops.TRANSCRIPTION, transcription_create_params.TranscriptionCreateParamsBase),
]


@pytest.mark.parametrize(("operation", "params"), REQUESTS, ids=[op for op, _ in REQUESTS])
def test_every_request_string_is_read_or_listed(operation: str, params: Any) -> None:
    samples = Samples()
    bodies = samples.of(params, ())
    assert len(bodies) > 1 or operation in (ops.EMBEDDINGS, ops.SPEECH)
    unread: set[tuple[str, ...]] = set()
    for body in bodies:
        unread |= _unread(body, samples, texts.request_texts(operation, body), texts.REQUEST_NOT_TEXT[operation])
    assert not unread, f"{operation}: string fields no policy reads: {sorted(unread)}"


ANSWERS = [(ops.CHAT, ChatCompletion), (ops.RESPONSES, Response)]


@pytest.mark.parametrize(("operation", "model"), ANSWERS, ids=[op for op, _ in ANSWERS])
def test_every_answer_string_is_read_or_listed(operation: str, model: Any) -> None:
    samples = Samples()
    unread: set[tuple[str, ...]] = set()
    for body in samples.of(model, ()):
        top = texts.RESPONSE_NOT_TEXT[operation]
        unread |= _unread(body, samples, texts.response_texts(operation, body), top)
    # A choice's finish reason and index are not text; its message and logprobs are.
    unread = {p for p in unread if p[:2] != ("choices", "finish_reason")}
    assert not unread, f"{operation}: answer string fields no policy reads: {sorted(unread)}"


def test_every_chat_chunk_string_is_read_or_listed() -> None:
    samples = Samples()
    unread: set[tuple[str, ...]] = set()
    for body in samples.of(ChatCompletionChunk, ()):
        refs = [d.ref for d in texts.chunk_texts(body)]
        unread |= _unread(body, samples, refs, texts.RESPONSE_NOT_TEXT[ops.CHAT])
    assert not unread, f"chat chunk string fields no stream filter sees: {sorted(unread)}"


class _Upper:
    """Stands in for the chain's stream filters: upper-cases what it is fed, holds nothing."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    async def feed(self, key: Any, text: str) -> str:
        self.seen.add(str(key))
        return text.upper()

    async def flush(self, key: Any) -> str:
        return ""


def test_every_responses_stream_event_string_is_filtered() -> None:
    samples = Samples()
    events = samples.of(ResponseStreamEvent, ())
    kinds = {e.get("type") for e in events if isinstance(e, dict)}
    assert len(kinds) > 40  # every event type of the Responses stream
    unread: set[tuple[str, ...]] = set()

    async def main() -> None:
        nonlocal unread
        handler = ResponsesEvents(_Upper(), lambda *_: None, ops_ctx())  # type: ignore[arg-type]
        for event in events:
            if event.get("type") in MEDIA_DELTAS:
                continue  # base64 audio
            out = await handler.process(event)
            left = set(MARK.findall(orjson.dumps(out, default=str).decode()))
            unread |= {samples.paths[m] for m in left if not _excused(samples.paths[m], _STREAM_EVENT_NOT_TEXT)}

    trio.run(main)
    assert not unread, f"Responses stream string fields no stream filter sees: {sorted(unread)}"


_STREAM_EVENT_NOT_TEXT = {
    **texts.RESPONSE_NOT_TEXT[ops.RESPONSES],
    "item_id": "an identifier",
}


def ops_ctx() -> Any:
    from keeptrust.context import RequestContext

    return RequestContext(request_id="r", operation=ops.RESPONSES, endpoint="/v1/responses", body={})


def test_texts_of_unknown_events_are_filtered_each_on_its_own() -> None:
    events = [
        {
            "type": "response.output_text.annotation.added",
            "output_index": 0,
            "content_index": 0,
            "annotation_index": i,
            "annotation": {"type": "url_citation", "title": title, "url": "https://x"},
        }
        for i, title in enumerate(["first title", "second title"])
    ]

    async def main() -> list[Any]:
        handler = ResponsesEvents(_Upper(), lambda *_: None, ops_ctx())  # type: ignore[arg-type]
        return [out for e in events for out in await handler.process(e)]

    out = trio.run(main)
    assert [e["annotation"]["title"] for e in out] == ["FIRST TITLE", "SECOND TITLE"]
    assert [e["annotation"]["url"] for e in out] == ["https://x", "https://x"]

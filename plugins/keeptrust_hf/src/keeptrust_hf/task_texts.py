"""Where the texts are in Hugging Face's native task payloads (``{"inputs", "parameters"}``) and in
their answers, for every task huggingface_hub 2.4.0's ``InferenceClient`` sends to hf-inference
(``huggingface_hub/inference/_client.py``; schemas: huggingface.js ``packages/tasks/src/tasks/*/spec``).

The gateway's policies read and rewrite texts through ``keeptrust.request_texts`` /
``response_texts``; each task is declared there as an operation of its own (``register``), so a
PII redactor sees ``inputs`` of a summarization the same way it sees a chat message. Binary
inputs (images, audio: raw bytes or base64 in ``inputs``/``image``) are never texts.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from keeptrust import TextRef, register_operation_texts

# Task -> paths into the request payload whose strings the client wrote. A path ends at a string,
# a list of strings, or (``*``) a table: an object of columns, each a list of cells.
REQUEST_PATHS: Mapping[str, tuple[tuple[str, ...], ...]] = {
    "text-classification": (("inputs",),),
    "token-classification": (("inputs",),),
    "fill-mask": (("inputs",), ("parameters", "targets")),
    "feature-extraction": (("inputs",),),
    "sentence-similarity": (("inputs", "source_sentence"), ("inputs", "sentences")),
    "question-answering": (("inputs", "question"), ("inputs", "context")),
    "zero-shot-classification": (
        ("inputs",),
        ("parameters", "candidate_labels"),
        ("parameters", "hypothesis_template"),
    ),
    "summarization": (("inputs",),),
    "translation": (("inputs",),),
    "text-generation": (("inputs",), ("parameters", "stop")),
    "text-to-speech": (("inputs",),),
    "text-to-image": (("inputs",), ("parameters", "negative_prompt")),
    "table-question-answering": (("inputs", "query"), ("inputs", "table", "*")),
    "tabular-classification": (("table", "*"), ("inputs", "data", "*")),
    "tabular-regression": (("table", "*"), ("inputs", "data", "*")),
    "document-question-answering": (("inputs", "question"),),
    "visual-question-answering": (("question",), ("inputs", "question"), ("parameters", "question")),
    "zero-shot-image-classification": (("parameters", "candidate_labels"), ("parameters", "hypothesis_template")),
    "image-to-image": (("parameters", "prompt"), ("parameters", "negative_prompt")),
    # Binary in, no text: the answers may still carry text (image-to-text, speech recognition).
    "automatic-speech-recognition": (),
    "audio-classification": (),
    "audio-to-audio": (),
    "image-classification": (),
    "image-segmentation": (),
    "image-to-text": (),
    "object-detection": (),
}

# Task -> keys whose string values in the answer (at any depth) are text the model produced.
RESPONSE_KEYS: Mapping[str, frozenset[str]] = {
    "text-generation": frozenset({"generated_text", "text"}),
    "image-to-text": frozenset({"generated_text"}),
    "summarization": frozenset({"summary_text"}),
    "translation": frozenset({"translation_text"}),
    "question-answering": frozenset({"answer"}),
    "document-question-answering": frozenset({"answer"}),
    "visual-question-answering": frozenset({"answer"}),
    "table-question-answering": frozenset({"answer", "cells"}),
    "automatic-speech-recognition": frozenset({"text"}),
    "fill-mask": frozenset({"sequence", "token_str"}),
    "token-classification": frozenset({"word"}),
    "zero-shot-classification": frozenset({"sequence"}),
}

TASKS: frozenset[str] = frozenset(REQUEST_PATHS)
# The operation name a task's requests carry in the policy chain and the audit log.
OPERATION_PREFIX = "hf-task:"


def operation_for(task: str) -> str:
    return OPERATION_PREFIX + task


def _strings(container: Any, key: Any, where: str) -> Iterator[TextRef]:
    value = container[key]
    if isinstance(value, str):
        yield TextRef(container, key, "user", where)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, str):
                yield TextRef(value, i, "user", f"{where}[{i}]")


def _walk(body: Any, path: tuple[str, ...]) -> Iterator[TextRef]:
    container: Any = body
    where = ""
    for depth, key in enumerate(path):
        if key == "*":
            if isinstance(container, dict):
                for column in list(container):
                    yield from _strings(container, column, f"{where}.{column}")
            return
        if not isinstance(container, dict) or key not in container:
            return
        where = f"{where}.{key}" if where else key
        if depth == len(path) - 1:
            yield from _strings(container, key, where)
            return
        container = container[key]


def request_locator(task: str) -> Any:
    paths = REQUEST_PATHS.get(task, ())

    def locate(body: Any) -> list[TextRef]:
        out: list[TextRef] = []
        for path in paths:
            out.extend(_walk(body, path))
        return out

    return locate


def response_locator(task: str) -> Any:
    keys = RESPONSE_KEYS.get(task, frozenset())

    def locate(body: Any) -> list[TextRef]:
        out: list[TextRef] = []

        def visit(value: Any, where: str) -> None:
            if isinstance(value, dict):
                for key, item in value.items():
                    path = f"{where}.{key}" if where else str(key)
                    if key in keys and isinstance(item, (str, list)):
                        if isinstance(item, str):
                            out.append(TextRef(value, key, "assistant", path))
                            continue
                        if all(isinstance(v, str) for v in item):
                            out.extend(TextRef(item, i, "assistant", f"{path}[{i}]") for i in range(len(item)))
                            continue
                    visit(item, path)
            elif isinstance(value, list):
                for i, item in enumerate(value):
                    visit(item, f"{where}[{i}]")

        if keys:
            visit(body, "")
        return out

    return locate


_LOCATORS = {task: (request_locator(task), response_locator(task)) for task in TASKS}


def register() -> None:
    """Declare every task's texts to the core (idempotent: the same functions each time)."""
    for task, (request, response) in _LOCATORS.items():
        register_operation_texts(operation_for(task), request, response)

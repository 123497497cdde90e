"""hf-inference's answers to the classic pipeline tasks, for the fake router (``fake_hf``)."""

from __future__ import annotations

import base64
from typing import Any

from keeptrust_hf.testing.asgi import FLAC, PNG, FakeRequest, FakeResponse


def _inputs_text(body: Any) -> str:
    inputs = body.get("inputs") if isinstance(body, dict) else None
    return inputs if isinstance(inputs, str) else ""


def _scores(labels: list[str]) -> list[dict[str, Any]]:
    count = len(labels) or 1
    return [
        {"label": label, "score": round((count - i) / (count * (count + 1) / 2), 6)} for i, label in enumerate(labels)
    ]


def task_answer(task: str, request: FakeRequest) -> FakeResponse | None:
    """hf-inference's answers to the classic pipeline tasks, in the shapes of the task specs
    (huggingface.js packages/tasks/src/tasks/*/spec/output.json) that InferenceClient parses.
    Text answers echo the input so tests can see what the policies let through. Binary tasks
    accept raw bytes or ``{"inputs": <base64>, "parameters"}`` (HFInferenceBinaryInputTask)."""
    body = request.json if (request.header("content-type") or "").startswith("application/json") else None
    params = (body or {}).get("parameters") or {}
    text = _inputs_text(body)
    if task == "text-classification":
        return FakeResponse(200, [_scores(["POSITIVE", "NEGATIVE"])])
    if task == "token-classification":
        words = [w for w in text.split() if w[:1].isupper()]
        out, pos = [], 0
        for word in words:
            start = text.index(word, pos)
            pos = start + len(word)
            out.append({"entity_group": "PER", "score": 0.99, "word": word, "start": start, "end": pos})
        return FakeResponse(200, out)
    if task == "fill-mask":
        targets = params.get("targets") or ["paris", "london"]
        return FakeResponse(
            200,
            [
                {
                    "sequence": text.replace("[MASK]", t).replace("<mask>", t),
                    "score": 0.5,
                    "token": 100 + i,
                    "token_str": t,
                }
                for i, t in enumerate(targets)
            ],
        )
    if task == "sentence-similarity":
        sentences = ((body or {}).get("inputs") or {}).get("sentences") or []
        return FakeResponse(200, [round(1.0 / (i + 1), 6) for i in range(len(sentences))])
    if task == "question-answering":
        context = ((body or {}).get("inputs") or {}).get("context") or ""
        answer = context.split(".")[0]
        return FakeResponse(200, {"answer": answer, "score": 0.9, "start": 0, "end": len(answer)})
    if task == "zero-shot-classification":
        return FakeResponse(200, _scores(list(params.get("candidate_labels") or [])))
    if task == "summarization":
        return FakeResponse(200, [{"summary_text": "Summary: " + text}])
    if task == "translation":
        return FakeResponse(200, [{"translation_text": "Traduction: " + text}])
    if task == "text-generation":
        return FakeResponse(200, [{"generated_text": text + " and so on"}])
    if task == "table-question-answering":
        inputs = (body or {}).get("inputs") or {}
        table = inputs.get("table") or {}
        first = next(iter(table.values()), [""])
        cell = str(first[0]) if first else ""
        return FakeResponse(200, {"answer": cell, "coordinates": [[0, 0]], "cells": [cell], "aggregator": "NONE"})
    if task == "tabular-classification":
        table = (body or {}).get("table") or {}
        rows = len(next(iter(table.values()), []))
        return FakeResponse(200, [i % 2 for i in range(rows)])
    if task == "document-question-answering":
        return FakeResponse(200, [{"answer": "us-001", "score": 0.9, "start": 0, "end": 0}])
    if task == "visual-question-answering":
        return FakeResponse(200, [{"answer": "two cats", "score": 0.9}])
    if task == "zero-shot-image-classification":
        return FakeResponse(200, _scores(list(params.get("candidate_labels") or [])))
    if task in ("image-classification", "audio-classification"):
        return FakeResponse(200, _scores(["cat", "dog"] if task.startswith("image") else ["speech", "music"]))
    if task == "object-detection":
        box = {"xmin": 1, "ymin": 2, "xmax": 3, "ymax": 4}
        return FakeResponse(200, [{"label": "cat", "score": 0.9, "box": box}])
    if task == "image-segmentation":
        mask = base64.b64encode(PNG).decode()
        return FakeResponse(200, [{"label": "cat", "score": 0.9, "mask": mask}])
    if task == "image-to-text":
        return FakeResponse(200, [{"generated_text": "a photo of two cats"}])
    if task == "audio-to-audio":
        blob = base64.b64encode(FLAC).decode()
        return FakeResponse(200, [{"label": "speech", "content-type": "audio/flac", "blob": blob}])
    return None

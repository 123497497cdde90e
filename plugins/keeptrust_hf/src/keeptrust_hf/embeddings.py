"""Embeddings: HF feature-extraction outputs to one vector per input, and the OpenAI answer with
``encoding_format: base64`` (little-endian float32, what the openai SDK decodes)."""

from __future__ import annotations

import base64
import struct
from typing import Any

from keeptrust.errors import RequestError, UpstreamError


def input_texts(body: dict[str, Any], backend: str) -> list[str] | str:
    """The ``input`` as texts. Token-id inputs cannot be sent to text-only HF pipelines."""
    value = body.get("input")
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise RequestError(
        f"the Hugging Face backend '{backend}' takes text input; token ids are not supported",
        param="input",
        code="unsupported_input",
    )


def _depth(value: Any) -> int:
    depth = 0
    while isinstance(value, list) and value:
        depth += 1
        value = value[0]
    return depth


def _mean(rows: list[list[float]]) -> list[float]:
    if not rows:
        raise UpstreamError("the backend returned an empty token matrix")
    width = len(rows[0])
    return [sum(row[i] for row in rows) / len(rows) for i in range(width)]


def pool(output: Any, n_inputs: int, single: bool) -> list[list[float]]:
    """One vector per input from a 1-, 2- or 3-D feature-extraction answer (§7.1).

    1-D: one pooled vector (single input). 2-D: one row per input when the batch had several
    inputs or the row count matches, else a token matrix of a single input, mean-pooled. 3-D:
    ``[batch][tokens][hidden]``, each input mean-pooled."""
    depth = _depth(output)
    if depth == 1:
        vectors = [output]
    elif depth == 2:
        vectors = _mean_if_tokens(output, n_inputs, single)
    elif depth == 3:
        vectors = [_mean(item) for item in output]
    else:
        raise UpstreamError("the backend returned embeddings in an unexpected shape")
    if len(vectors) != n_inputs:
        raise UpstreamError(f"the backend returned {len(vectors)} embeddings for {n_inputs} inputs")
    return [[float(x) for x in v] for v in vectors]


def _mean_if_tokens(output: list[list[float]], n_inputs: int, single: bool) -> list[list[float]]:
    if single and n_inputs == 1 and len(output) > 1:
        return [_mean(output)]
    return output


def encode_base64(vector: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


def embeddings_result(
    vectors: list[list[float]], model: str, encoding_format: str | None, usage: dict[str, Any] | None = None
) -> dict[str, Any]:
    data = [
        {"object": "embedding", "index": i, "embedding": encode_base64(v) if encoding_format == "base64" else v}
        for i, v in enumerate(vectors)
    ]
    body: dict[str, Any] = {"object": "list", "model": model, "data": data}
    if usage:
        body["usage"] = usage
    return body


def openai_vectors(body: Any) -> tuple[list[list[float]], dict[str, Any] | None]:
    """Vectors and usage of an OpenAI-style embeddings answer (float lists or base64 strings)."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise UpstreamError("the backend answered embeddings without a 'data' list")
    items = sorted(body["data"], key=lambda d: d.get("index", 0) if isinstance(d, dict) else 0)
    vectors = []
    for item in items:
        emb = item.get("embedding") if isinstance(item, dict) else None
        if isinstance(emb, str):
            raw = base64.b64decode(emb)
            vectors.append(list(struct.unpack(f"<{len(raw) // 4}f", raw)))
        elif isinstance(emb, list):
            vectors.append([float(x) for x in emb])
        else:
            raise UpstreamError("the backend answered an embedding that is neither a list nor base64")
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else None
    return vectors, usage

"""Fields of a multipart request arrive as text: fal-native extras (``seed``, ``guidance_scale``,
``diarize``) are turned back into the JSON types fal's input models expect."""

from __future__ import annotations

import re
from typing import Any

from keeptrust.context import UploadedFile

_INT = re.compile(r"^-?\d{1,18}$")
_FLOAT = re.compile(r"^-?\d+\.\d+$")


def is_form(body: dict[str, Any]) -> bool:
    """Whether the body came as multipart (it holds uploaded files)."""
    for value in body.values():
        items = value if isinstance(value, list) else [value]
        if any(isinstance(item, UploadedFile) for item in items):
            return True
    return False


def typed(value: Any) -> Any:
    """``"true"`` → True, ``"7"`` → 7, ``"3.5"`` → 3.5; anything else unchanged."""
    if not isinstance(value, str):
        return value
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if _INT.match(lowered):
        return int(lowered)
    if _FLOAT.match(lowered):
        return float(lowered)
    return value


def extras(body: dict[str, Any], known: frozenset[str], taken: dict[str, Any]) -> dict[str, Any]:
    """The keys of ``body`` that are neither OpenAI's (``known``) nor already mapped (``taken``):
    fal-native parameters, sent as they are (typed back when the body was a form)."""
    form = is_form(body)
    out = {}
    for key, value in body.items():
        if key in known or key in taken or value is None or isinstance(value, UploadedFile):
            continue
        out[key] = typed(value) if form else value
    return out

"""The texts of one streamed chat chunk, each with the channel a stream filter follows."""

from __future__ import annotations

from typing import Any

import attrs

from keeptrust.texts.refs import TextRef
from keeptrust.texts.walk import logprob_refs, walk

# Delta fields that grow chunk by chunk; every other string in a delta (a tool's name, ...) comes
# whole in one chunk.
GROWING = frozenset({"content", "refusal", "reasoning_content", "reasoning", "arguments", "transcript"})


@attrs.define(eq=False)
class DeltaText:
    """One text in a chat chunk. ``channel`` names the field of the whole message it adds to (the
    path the same text has in a non-streamed answer), so one stream filter follows each field."""

    ref: TextRef
    channel: str
    growing: bool


def chunk_texts(chunk: dict[str, Any]) -> list[DeltaText]:
    """The texts of one streamed chat chunk (``choices[].delta`` and logprob tokens)."""
    out: list[DeltaText] = []
    for choice in chunk.get("choices") or ():
        if not isinstance(choice, dict):
            continue
        index = choice.get("index", 0)
        base = f"choices[{index}].message"
        delta = choice.get("delta")
        if isinstance(delta, dict):
            for ref in walk(delta, "assistant", ""):
                out.append(DeltaText(ref, _channel(base, ref, delta), _growing(ref)))
        for ref in logprob_refs(choice, "assistant", f"choices[{index}]"):
            out.append(DeltaText(ref, ref.where, True))
    return out


def _growing(ref: TextRef) -> bool:
    return isinstance(ref.key, str) and ref.key in GROWING


def _channel(base: str, ref: TextRef, delta: dict[str, Any]) -> str:
    # Stream deltas address tool calls by their ``index`` field, not by list position.
    where = ref.where
    if where.startswith("tool_calls["):
        position = int(where[len("tool_calls[") : where.index("]")])
        calls = delta.get("tool_calls")
        call = calls[position] if isinstance(calls, list) and position < len(calls) else None
        index = call.get("index", position) if isinstance(call, dict) else position
        where = f"tool_calls[{index}]" + where[where.index("]") + 1 :]
    return f"{base}.{where}"

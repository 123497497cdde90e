"""SubRip (srt) and WebVTT renderings of timed transcript segments."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def _stamp(seconds: float, separator: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def srt(segments: Iterable[dict[str, Any]]) -> str:
    blocks = []
    for i, seg in enumerate(segments, start=1):
        blocks.append(f"{i}\n{_stamp(seg['start'], ',')} --> {_stamp(seg['end'], ',')}\n{seg['text'].strip()}\n")
    return "\n".join(blocks)


def vtt(segments: Iterable[dict[str, Any]]) -> str:
    blocks = ["WEBVTT\n"]
    for seg in segments:
        blocks.append(f"{_stamp(seg['start'], '.')} --> {_stamp(seg['end'], '.')}\n{seg['text'].strip()}\n")
    return "\n".join(blocks)

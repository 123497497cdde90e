"""The stream filter on its own: windows, hold-back, and a phrase split across chunks."""

from __future__ import annotations

import pytest

from keeptrust import StreamBlocked
from keeptrust_guard.detection import Detection, Finding
from keeptrust_guard.heuristic import scan_content
from keeptrust_guard.streaming import TAIL, GuardStreamFilter


def _filter(seen: list[str]) -> GuardStreamFilter:
    def scan(text: str) -> Detection:
        seen.append(text)
        score = scan_content(text).score("harassment")
        return Detection((Finding("harassment", score),)) if score else Detection()

    def check(detection: Detection) -> None:
        if any(f.score >= 0.6 for f in detection.findings):
            raise StreamBlocked("blocked", "harassment")

    return GuardStreamFilter(scan, check)


def test_clean_text_passes_whole_and_in_order():
    f = _filter([])
    words = ("The attention mechanism lets every token weigh every other token. " * 5).split(" ")
    out = "".join(f.feed(w + " ") for w in words) + f.flush()
    assert out == "".join(w + " " for w in words)


def test_a_phrase_split_across_chunks_is_caught():
    f = _filter([])
    with pytest.raises(StreamBlocked):
        for chunk in ["Well, you are a worth", "less id", "iot and that is all. ", "More text follows here."]:
            f.feed(chunk)
        f.flush()


def test_windows_stay_bounded():
    seen: list[str] = []
    f = _filter(seen)
    for _ in range(2000):
        f.feed("lorem ipsum dolor sit amet ")
    f.flush()
    assert max(len(s) for s in seen) < TAIL + 200

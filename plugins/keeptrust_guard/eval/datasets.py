"""Loading the labelled sets in ``eval/data``.

One example per line. A line may start with a role and a tab (``tool<TAB>...``, default ``user``);
``\\n`` stands for a newline; ``{rot13:...}`` is decoded at load time (slurs are stored encoded, so the
files can be read and reviewed without them on screen). Files are named for their family; the
attack families of the injection set are labelled 1, ``benign`` and ``hard_negative`` 0.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import attrs
from obfuscate import variants

DATA = Path(__file__).parent / "data"
NEGATIVE = ("benign", "hard_negative")
INJECTION_FAMILIES = ("direct", "roleplay", "extraction", "indirect", "obfuscated", "multilingual")
CONTENT_FAMILIES = ("hate_speech", "harassment", "self_harm", "sexual", "violence")
_ROT13 = re.compile(r"\{rot13:([^}]*)\}")


@attrs.frozen
class Example:
    text: str
    role: str
    family: str
    positive: bool
    detail: str = ""


def _lines(path: Path) -> list[tuple[str, str]]:
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.strip():
            continue
        role, text = raw.split("\t", 1) if "\t" in raw else ("user", raw)
        text = _ROT13.sub(lambda m: codecs.encode(m.group(1), "rot13"), text.replace("\\n", "\n"))
        out.append((role, text))
    return out


def has(task: str, split: str) -> bool:
    """Whether ``task`` ("injection" or "content") has a labelled set for ``split``."""
    return (DATA / task / split).is_dir()


def injection(split: str) -> list[Example]:
    folder = DATA / "injection" / split
    out: list[Example] = []
    for family in INJECTION_FAMILIES:
        if family == "obfuscated":
            seeds = [t for _, t in _lines(folder / "obfuscation_seeds.txt")]
            out += [Example(t, "user", family, True, name) for name, t in variants(seeds)]
            continue
        out += [Example(t, r, family, True) for r, t in _lines(folder / f"{family}.txt")]
    for family in NEGATIVE:
        out += [Example(t, r, family, False) for r, t in _lines(folder / f"{family}.txt")]
    return out


def content(split: str) -> list[Example]:
    folder = DATA / "content" / split
    out: list[Example] = []
    for family in CONTENT_FAMILIES:
        out += [Example(t, r, family, True) for r, t in _lines(folder / f"{family}.txt")]
    for family in NEGATIVE:
        out += [Example(t, r, family, False) for r, t in _lines(folder / f"{family}.txt")]
    return out

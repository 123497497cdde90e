"""The capability table (backend x operation), generated from the registered backend specs so the
README cannot drift from the code (a test compares them)."""

from __future__ import annotations

from collections.abc import Mapping

from keeptrust import context as ops
from keeptrust_hf.backend import Backend

COLUMNS: tuple[tuple[str, str], ...] = (
    ("chat", ops.CHAT),
    ("stream", "stream"),
    ("embeddings", ops.EMBEDDINGS),
    ("images", ops.IMAGES),
    ("image edit", ops.IMAGE_EDIT),
    ("speech", ops.SPEECH),
    ("transcription", ops.TRANSCRIPTION),
)


def capabilities(backend: Backend) -> dict[str, bool]:
    out = {}
    for title, op in COLUMNS:
        if op == "stream":
            out[title] = ops.CHAT in backend.operations and backend.chat_stream
        else:
            out[title] = op in backend.operations
    return out


def capability_table(backends: Mapping[str, Backend]) -> str:
    """A Markdown table, one row per backend in name order, ``yes`` or ``-`` per column."""
    header = "| backend | " + " | ".join(title for title, _ in COLUMNS) + " |"
    rule = "|---|" + "|".join(":-:" for _ in COLUMNS) + "|"
    rows = [header, rule]
    for name in sorted(backends):
        caps = capabilities(backends[name])
        rows.append(f"| {name} | " + " | ".join("yes" if caps[t] else "-" for t, _ in COLUMNS) + " |")
    return "\n".join(rows)


def builtin_table() -> str:
    """The table for the backends this package registers (what its README shows)."""
    from keeptrust_hf.backends import BUILTIN_BACKENDS

    return capability_table({cls.name: cls() for cls in BUILTIN_BACKENDS})


if __name__ == "__main__":  # python -m keeptrust_hf.capabilities: the table for the README
    print(builtin_table())

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


def registry_table(backends: Mapping[str, Backend]) -> str:
    """The table for every registered backend (all installed backend packages), with the
    distribution that provides each and how it can be reached: ``router`` (with an ``hf_`` token)
    and/or ``direct`` (the backend's own API with the user's key for it, a target's ``direct``)."""
    from importlib.metadata import packages_distributions

    dists = packages_distributions()
    header = "| backend | package | access | " + " | ".join(title for title, _ in COLUMNS) + " |"
    rule = "|---|---|---|" + "|".join(":-:" for _ in COLUMNS) + "|"
    rows = [header, rule]
    for name in sorted(backends):
        backend = backends[name]
        top = type(backend).__module__.split(".", 1)[0]
        package = (dists.get(top) or [top.replace("_", "-")])[0]
        ways = [w for w, ok in (("router", backend.served_by_router), ("direct", backend.direct_base_url)) if ok]
        access = " + ".join(ways)
        caps = capabilities(backend)
        cells = " | ".join("yes" if caps[t] else "-" for t, _ in COLUMNS)
        rows.append(f"| {name} | {package} | {access} | {cells} |")
    return "\n".join(rows)


def installed_table() -> str:
    """``registry_table`` for the backends the installed plugins register."""
    from keeptrust.plugins import load_registry
    from keeptrust_hf.backends import collect_backends

    return registry_table(collect_backends(load_registry()))


def builtin_table() -> str:
    """The table for the backends this package registers (what its README shows)."""
    from keeptrust_hf.backends import BUILTIN_BACKENDS

    return capability_table({cls.name: cls() for cls in BUILTIN_BACKENDS})


if __name__ == "__main__":
    # python -m keeptrust_hf.capabilities: this package's table (its README);
    # python -m keeptrust_hf.capabilities --installed: every installed backend (the repository README).
    import sys

    print(installed_table() if "--installed" in sys.argv[1:] else builtin_table())

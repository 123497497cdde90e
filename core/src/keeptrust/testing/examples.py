"""The product's example configs (``spec/examples/*.yaml``), which every release must load and run.

They are kept beside the repository, not in it: a checkout's tests find them in
``shared/spec/examples`` next to the checkout (or next to any folder above it), or wherever
``KEEPTRUST_SPEC_EXAMPLES`` points. Where they are missing the tests that use them skip, except in
CI (``CI`` set, as CI services do), where a missing folder is an error: the widest tests must not
pass by skipping.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "KEEPTRUST_SPEC_EXAMPLES"
_RELATIVE = Path("shared") / "spec" / "examples"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def spec_examples_dir(start: str | os.PathLike[str]) -> Path | None:
    """The examples folder for the checkout holding ``start`` (pass a test's ``__file__``)."""
    if os.environ.get(ENV):
        folder = Path(os.environ[ENV])
        return folder if folder.is_dir() else None
    for parent in Path(start).resolve().parents:
        if (parent / _RELATIVE).is_dir():
            return parent / _RELATIVE
    return None


def spec_examples(start: str | os.PathLike[str], pattern: str = "*.yaml", containing: str = "") -> list[Path]:
    """The example configs (sorted), optionally only those whose text contains ``containing``.

    Empty when the folder is missing outside CI; in CI a missing folder raises ``FileNotFoundError``
    (at collection, so the run fails and says why)."""
    folder = spec_examples_dir(start)
    if folder is None:
        if _in_ci():
            raise FileNotFoundError(
                f"the spec examples were not found: set {ENV} or put shared/spec/examples beside the checkout "
                f"(CI is set, so this is an error rather than a skip)"
            )
        return []
    files = sorted(folder.glob(pattern))
    if _in_ci() and not files:
        raise FileNotFoundError(f"{folder} holds no {pattern} (CI is set, so this is an error rather than a skip)")
    return [f for f in files if containing in f.read_text(encoding="utf-8")] if containing else files

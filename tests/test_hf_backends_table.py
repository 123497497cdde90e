"""The repository README's table of every Hugging Face backend is the registry's: generated from the
backends the installed plugins register (keeptrust-hf, keeptrust-falai, keeptrust-nebius, ...)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

capabilities = pytest.importorskip("keeptrust_hf.capabilities")

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_lists_every_registered_backend():
    block = re.search(r"<!-- hf-backends:start -->\n(.*?)\n<!-- hf-backends:end -->", README.read_text(), re.S)
    assert block is not None, "README.md lacks the hf-backends markers"
    assert block.group(1).strip() == capabilities.installed_table(), (
        "README table is stale; regenerate with: python -m keeptrust_hf.capabilities --installed"
    )


def test_the_dropped_backends_are_packages_reached_directly():
    rows = {line.split(" | ")[0].strip("| "): line for line in capabilities.installed_table().splitlines()[2:]}
    for name in ("nebius", "sambanova", "hyperbolic"):
        assert f"| keeptrust-{name} | direct |" in rows[name]

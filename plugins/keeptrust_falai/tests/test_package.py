"""Package-level checks: the README's capability row comes from the backend spec, modules stay small,
and the entry point registers the backend."""

from __future__ import annotations

from pathlib import Path

from keeptrust.plugins import load_registry
from keeptrust_falai import plugin
from keeptrust_falai.backend import FalAI
from keeptrust_hf.backends import collect_backends
from keeptrust_hf.capabilities import capability_table

ROOT = Path(__file__).resolve().parents[1]


def test_readme_capability_table_is_generated_from_the_spec():
    readme = (ROOT / "README.md").read_text()
    start = readme.index("<!-- capability-table -->") + len("<!-- capability-table -->")
    end = readme.index("<!-- /capability-table -->")
    assert readme[start:end].strip() == capability_table({"fal-ai": FalAI()})


def test_modules_stay_small():
    for path in (ROOT / "src").rglob("*.py"):
        assert len(path.read_text().splitlines()) <= 500, path


def test_entry_point_registers_the_backend():
    registry = load_registry(environ={})
    assert "falai" in registry.plugins and registry.plugins["falai"].distribution == "keeptrust-falai"
    backends = collect_backends(registry)
    assert type(backends["fal-ai"]) is FalAI
    assert plugin.register_hf_backends is not None

"""The modules plugins import are declared public, documented, and the only ones they import."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from keeptrust import PUBLIC_MODULES

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_a_public_module_declares_its_api(name):
    module = importlib.import_module(name)
    assert module.__doc__ and module.__doc__.strip(), f"{name} has no docstring"
    exported = getattr(module, "__all__", None)
    assert exported, f"{name} has no __all__"
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what it does not define: {missing}"


def _core_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "keeptrust":
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "keeptrust")
    return found


def test_plugins_import_only_public_modules():
    # The shipped plugins are held to what third-party plugins may rely on.
    used: dict[str, set[str]] = {}
    for path in sorted((ROOT / "plugins").glob("*/src/**/*.py")):
        for name in _core_imports(path):
            used.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    private = {name: sorted(paths) for name, paths in used.items() if name not in PUBLIC_MODULES}
    assert not private, f"plugins import core modules that are not public: {private}"


def test_the_plugin_docs_list_every_public_module():
    text = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    for name in PUBLIC_MODULES:
        assert f"- `{name}`:" in text

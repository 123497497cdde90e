"""The plugin reference cannot drift from the code (datasette's tests/test_docs.py and
tests/test_plugins.py pattern): every hook is documented, docs/plugins.md carries exactly what
docs/gen_plugin_docs.py generates, and every hook has an implementation someone ships."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

from keeptrust import hookspecs as core_hookspecs
from keeptrust.plugins import DEFAULT_PLUGINS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "plugins.md"
SPEC_NAMES = [
    f.__name__
    for f in (getattr(core_hookspecs, n) for n in dir(core_hookspecs))
    if callable(f) and hasattr(f, "keeptrust_spec")
]
# Hooks no built-in or shipped plugin needs yet; each is still exercised by the named test module,
# which must implement it. Remove an entry as soon as a shipped plugin implements the hook.
EXERCISED_ONLY_BY_TESTS: dict[str, Path] = {}


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_plugin_docs", ROOT / "docs" / "gen_plugin_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def defined_functions(path: Path) -> set[str]:
    """Top-level and nested function names in a Python file, read without importing it."""
    return {
        node.name
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def shipped_plugin_modules() -> list[Path]:
    """The entry-point modules of the packages in plugins/, from their pyproject.toml."""
    modules = []
    for pyproject in sorted(ROOT.glob("plugins/*/pyproject.toml")):
        text = pyproject.read_text(encoding="utf-8")
        section = re.search(r"\[project\.entry-points\.keeptrust\]\n((?:[^\[\n].*\n?)*)", text)
        for match in re.finditer(r'=\s*"([\w.]+)"', section[1] if section else ""):
            dotted = match[1].split(":")[0]
            path = pyproject.parent / "src" / (dotted.replace(".", "/") + ".py")
            if path.is_file():
                modules.append(path)
    return modules


def test_the_core_has_hooks() -> None:
    assert {
        "register_providers",
        "register_policies",
        "register_audit_sinks",
        "register_commands",
        "register_routes",
    } <= set(SPEC_NAMES)


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_every_core_hookspec_is_documented(name: str) -> None:
    doc = getattr(core_hookspecs, name).__doc__ or ""
    # The docstring is the reference: what the hook receives and what to register with it.
    assert len(doc.split()) >= 20, f"{name}: document what it receives, registers and when it runs"


def plugin_hookspecs() -> dict[str, ast.FunctionDef]:
    """Hooks the shipped plugins add for their own sub-plugins (keeptrust-hf's register_hf_backends)."""
    found = {}
    for path in ROOT.glob("plugins/*/src/*/hookspecs.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and any(
                isinstance(d, ast.Name) and d.id == "hookspec" for d in node.decorator_list
            ):
                found[node.name] = node
    return found


def test_hookspecs_that_plugins_add_are_documented() -> None:
    for name, node in plugin_hookspecs().items():
        doc = ast.get_docstring(node) or ""
        assert len(doc.split()) >= 20, f"{name} needs a docstring: what it receives, registers and when it runs"


def test_the_generated_reference_is_up_to_date() -> None:
    generator = load_generator()
    text = DOCS.read_text(encoding="utf-8")
    assert generator.replace_section(text, generator.render()) == text, (
        "docs/plugins.md is out of date: run python docs/gen_plugin_docs.py"
    )
    assert generator.main(["--check"]) == 0


def test_the_reference_lists_every_hook_in_source_order() -> None:
    generator = load_generator()
    headings = re.findall(r"^### `(\w+)\(", generator.render(), flags=re.M)
    assert headings == [f.__name__ for f in generator.hookspecs()]
    assert sorted(headings) == sorted(SPEC_NAMES)


def test_every_hook_is_implemented_by_a_builtin_or_shipped_plugin() -> None:
    implemented: dict[str, list[str]] = {}
    for module_name in DEFAULT_PLUGINS:
        module = importlib.import_module(module_name)
        for name in SPEC_NAMES:
            if hasattr(module, name):
                implemented.setdefault(name, []).append(module_name)
    for path in shipped_plugin_modules():
        for name in defined_functions(path) & set(SPEC_NAMES):
            implemented.setdefault(name, []).append(str(path.relative_to(ROOT)))
    for name, test_module in EXERCISED_ONLY_BY_TESTS.items():
        assert name not in implemented, f"{name} is now implemented by {implemented[name]}: drop it from the list"
        assert name in defined_functions(test_module), f"{test_module.name} must exercise {name}"
        implemented[name] = [str(test_module.relative_to(ROOT))]
    missing = sorted(set(SPEC_NAMES) - set(implemented))
    assert not missing, f"hooks nothing implements (add an implementation or a test plugin): {missing}"


def test_the_template_implements_the_hook_of_each_kind() -> None:
    text = (
        ROOT
        / "cookiecutter-plugin"
        / "{{cookiecutter.project_slug}}"
        / "src"
        / "{{cookiecutter.__module}}"
        / "plugin.py"
    ).read_text(encoding="utf-8")
    hooks = set(re.findall(r"^def (register_\w+)\(", text, flags=re.M))
    assert len(hooks) == 4  # one per kind
    assert hooks <= set(SPEC_NAMES) | set(plugin_hookspecs())


def test_the_worked_examples_exist() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for path in re.findall(r"\(`(plugins/[\w/.]+)`\)", text):
        assert (ROOT / path).exists(), path

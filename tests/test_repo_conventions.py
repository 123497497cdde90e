"""Conventions the whole repository keeps: small modules, no grab-bag helpers."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted([*ROOT.glob("core/src/**/*.py"), *ROOT.glob("plugins/*/src/**/*.py")])
MAX_LINES = 500


def test_sources_are_found():
    assert len(SOURCES) > 50


def test_no_module_is_over_500_lines():
    long = {str(p.relative_to(ROOT)): n for p in SOURCES if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


# Citations of documents that are not in the repository (design notes, product documents, issue
# numbers): a maintainer cannot follow them. State the fact or cite a public source instead.
OUTSIDE = re.compile(
    r"research/[a-z-]+\.md|wire-formats\.md|reliability\.md|ARCHITECTURE(\.md| §)|STYLE\.md"
    r"|\bseeds? ?0{2}[0-9]|seed's|\bissues? [0-9]+\b(?!-)|NEEDS_FROM_HF"
)


def test_no_references_to_documents_outside_the_repository():
    texts = [
        *SOURCES,
        *ROOT.glob("core/tests/**/*.py"),
        *ROOT.glob("plugins/*/tests/**/*.py"),
        *ROOT.glob("tests/*.py"),
        *ROOT.glob("**/*.md"),
        *ROOT.glob("examples/*.yaml"),
        *ROOT.glob("benchmarks/**/*.yaml"),
    ]
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in texts
        if ".venv" not in path.parts and path.name != "test_repo_conventions.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert found == []


def test_no_utils_modules():
    assert [p for p in SOURCES if p.stem in ("utils", "util", "helpers", "misc")] == []


def test_every_package_has_readme_pyproject_and_tests():
    for pkg in [ROOT / "core", *sorted((ROOT / "plugins").iterdir())]:
        if pkg.is_dir():
            assert (pkg / "pyproject.toml").is_file(), pkg
            assert (pkg / "README.md").is_file(), pkg
            assert any((pkg / "tests").glob("test_*.py")), pkg

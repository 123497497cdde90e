"""Conventions the whole repository keeps: small modules, no grab-bag helpers."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted([*ROOT.glob("core/src/**/*.py"), *ROOT.glob("plugins/*/src/**/*.py")])
MAX_LINES = 500


def test_sources_are_found():
    assert len(SOURCES) > 50


def test_no_module_is_over_500_lines():
    long = {str(p.relative_to(ROOT)): n for p in SOURCES if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_no_utils_modules():
    assert [p for p in SOURCES if p.stem in ("utils", "util", "helpers", "misc")] == []


def test_every_package_has_readme_pyproject_and_tests():
    for pkg in [ROOT / "core", *sorted((ROOT / "plugins").iterdir())]:
        if pkg.is_dir():
            assert (pkg / "pyproject.toml").is_file(), pkg
            assert (pkg / "README.md").is_file(), pkg
            assert any((pkg / "tests").glob("test_*.py")), pkg

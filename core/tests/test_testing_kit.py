"""keeptrust.testing's helpers: locating the spec examples (a skip locally, an error in CI)."""

from __future__ import annotations

from pathlib import Path

import pytest

from keeptrust.testing import spec_examples, spec_examples_dir


def test_the_examples_are_found_beside_a_folder_above(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEEPTRUST_SPEC_EXAMPLES", raising=False)
    folder = tmp_path / "shared" / "spec" / "examples"
    folder.mkdir(parents=True)
    (folder / "b.yaml").write_text("policies: {chain: [pii-detector]}\n")
    (folder / "a.yaml").write_text("policies: {chain: []}\n")
    test_file = tmp_path / "checkout" / "tests" / "test_x.py"
    assert spec_examples_dir(test_file) == folder
    assert [p.name for p in spec_examples(test_file)] == ["a.yaml", "b.yaml"]
    assert [p.name for p in spec_examples(test_file, containing="pii-detector")] == ["b.yaml"]
    monkeypatch.setenv("KEEPTRUST_SPEC_EXAMPLES", str(folder))
    assert spec_examples_dir("/") == folder


def test_missing_examples_skip_locally_and_fail_in_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEPTRUST_SPEC_EXAMPLES", str(tmp_path / "nowhere"))
    monkeypatch.delenv("CI", raising=False)
    assert spec_examples(__file__) == []
    monkeypatch.setenv("CI", "true")
    with pytest.raises(FileNotFoundError, match="KEEPTRUST_SPEC_EXAMPLES"):
        spec_examples(__file__)

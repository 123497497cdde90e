"""Install commands in error messages: the checkout's folders when the core came from a checkout,
``pip install NAME`` otherwise."""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from keeptrust import distributions
from keeptrust.distributions import checkout_folder, install_command

ROOT = Path(__file__).resolve().parents[2]


class _Dist:
    def __init__(self, direct_url: dict[str, Any] | None) -> None:
        self.direct_url = direct_url

    def read_text(self, name: str) -> str | None:
        assert name == "direct_url.json"
        return None if self.direct_url is None else json.dumps(self.direct_url)


def _installed_from(monkeypatch: pytest.MonkeyPatch, direct_url: dict[str, Any] | None) -> None:
    monkeypatch.setattr(distributions, "distribution", lambda name: _Dist(direct_url))


def test_from_an_index_or_a_wheelhouse_it_is_the_distribution_name(monkeypatch: pytest.MonkeyPatch) -> None:
    _installed_from(monkeypatch, None)  # installed from a wheel: no direct_url.json
    assert install_command("keeptrust-presidio") == "pip install keeptrust-presidio"
    assert install_command("keeptrust-hf", "keeptrust-falai") == "pip install keeptrust-hf keeptrust-falai"


def test_from_an_editable_checkout_it_names_the_plugin_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _installed_from(monkeypatch, {"url": (ROOT / "core").as_uri(), "dir_info": {"editable": True}})
    monkeypatch.chdir(ROOT)
    python = Path(sys.executable)
    command = install_command("keeptrust-presidio")
    assert command.endswith(" -m pip install -e ./plugins/keeptrust_presidio")
    assert command.startswith(str(python) if not python.is_relative_to(ROOT) else "./")
    # From elsewhere the folder is absolute, so the command can be pasted anywhere.
    monkeypatch.chdir(tmp_path)
    assert install_command("keeptrust-hf").endswith(f"-e {ROOT / 'plugins' / 'keeptrust_hf'}")


def test_a_non_editable_checkout_install_and_unknown_names(monkeypatch: pytest.MonkeyPatch) -> None:
    _installed_from(monkeypatch, {"url": (ROOT / "core").as_uri(), "dir_info": {}})
    monkeypatch.chdir(ROOT)
    assert install_command("keeptrust-guard").endswith(" -m pip install ./plugins/keeptrust_guard")
    # A name with no folder in the checkout (a third-party plugin) falls back to the index form.
    assert install_command("keeptrust-acme") == "pip install keeptrust-acme"


def test_every_distribution_of_the_repository_has_its_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    _installed_from(monkeypatch, {"url": (ROOT / "core").as_uri(), "dir_info": {"editable": True}})
    for pyproject in [ROOT / "core" / "pyproject.toml", *sorted(ROOT.glob("plugins/*/pyproject.toml"))]:
        name = tomllib.loads(pyproject.read_text())["project"]["name"]
        assert checkout_folder(name) == pyproject.parent, name

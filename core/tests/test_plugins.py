"""Plugin discovery: entry points, loud failures naming the distribution, disable/load-only."""

from __future__ import annotations

import textwrap

import pytest

from keeptrust.errors import PluginError
from keeptrust.plugins import DEFAULT_PLUGINS, load_registry


def _install_fake_dist(root, dist, module, source, name=None):
    """Lay out an installed distribution (dist-info + module) on a sys.path entry."""
    name = name or module
    info = root / f"{dist.replace('-', '_')}-0.3.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.3.1\n")
    (info / "entry_points.txt").write_text(f"[keeptrust]\n{name} = {module}\n")
    (root / f"{module}.py").write_text(textwrap.dedent(source))


GOOD = """
    import attrs
    from keeptrust import Policy, PolicyConfig, hookimpl

    class Shout(Policy):
        name = "shout"
        config_class = PolicyConfig

    @hookimpl
    def register_policies(register):
        register(Shout)
"""


def test_entry_point_plugin_is_discovered_with_its_distribution(tmp_path, monkeypatch):
    _install_fake_dist(tmp_path, "keeptrust-shout", "keeptrust_shout", GOOD, name="shout")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = load_registry(environ={"KEEPTRUST_LOAD_PLUGINS": "shout"})
    info = registry.plugins["shout"]
    assert (info.distribution, info.version, info.builtin) == ("keeptrust-shout", "0.3.1", False)
    assert info.registered == {"policy": ["shout"]}
    assert "shout" in registry.policies


def test_import_failure_names_the_distribution(tmp_path, monkeypatch):
    _install_fake_dist(
        tmp_path, "keeptrust-broken", "keeptrust_broken", "import not_a_module_anywhere\n", name="broken"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    only = {"KEEPTRUST_LOAD_PLUGINS": "broken,shout"}
    with pytest.raises(PluginError) as err:
        load_registry(environ=only)
    assert "keeptrust-broken 0.3.1" in str(err.value) and "ModuleNotFoundError" in str(err.value)
    # The operator can start without it.
    load_registry(environ={**only, "KEEPTRUST_DISABLE_PLUGINS": "broken"})
    load_registry(disable=["broken"], environ=only)


def test_duplicate_registration_names_both_plugins(tmp_path, monkeypatch):
    dup = GOOD.replace('name = "shout"', 'name = "router"')
    _install_fake_dist(tmp_path, "keeptrust-dup", "keeptrust_dup", dup, name="dup")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError) as err:
        load_registry(environ={"KEEPTRUST_LOAD_PLUGINS": "dup"})
    message = str(err.value)
    assert "policy 'router'" in message and "keeptrust-dup" in message and "router_policy" in message


def test_misspelt_hook_fails_at_start_up(tmp_path, monkeypatch):
    bad = GOOD.replace("def register_policies(register)", "def register_policys(register)")
    _install_fake_dist(tmp_path, "keeptrust-typo", "keeptrust_typo", bad, name="typo")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError) as err:
        load_registry(environ={"KEEPTRUST_LOAD_PLUGINS": "typo"})
    assert "keeptrust-typo" in str(err.value) and "register_policys" in str(err.value)


def test_load_only_selects_entry_point_plugins(tmp_path, monkeypatch):
    _install_fake_dist(tmp_path, "keeptrust-shout", "keeptrust_shout", GOOD, name="shout")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = load_registry(environ={"KEEPTRUST_LOAD_PLUGINS": "something-else"})
    assert "shout" not in registry.plugins
    # Built-ins always load unless disabled by name.
    assert {m.rsplit(".", 1)[1] for m in DEFAULT_PLUGINS} <= set(registry.plugins)
    registry = load_registry(disable=["router_policy"], environ={"KEEPTRUST_LOAD_PLUGINS": "shout"})
    assert "shout" in registry.policies and "router" not in registry.policies


def test_hook_exception_names_plugin(tmp_path, monkeypatch):
    bad = GOOD.replace("register(Shout)", "raise ValueError('cannot start')")
    _install_fake_dist(tmp_path, "keeptrust-raise", "keeptrust_raise", bad, name="raiser")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError) as err:
        load_registry(environ={"KEEPTRUST_LOAD_PLUGINS": "raiser"})
    assert "plugin 'raiser' (distribution keeptrust-raise) failed in register_policies" in str(err.value)

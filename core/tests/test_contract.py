"""``register`` checks each class against the plugin contract (``keeptrust.contract``) and refuses
one that lacks a member with an error naming the plugin, the class and the member; plugin-defined
hooks follow the same rules."""

from __future__ import annotations

import sys
import types

import attrs
import pytest

from keeptrust import Policy, PolicyConfig, Provider, TargetConfig, hookimpl
from keeptrust.errors import PluginError
from keeptrust.plugins import load_registry


def _plugin(name: str, **hooks) -> types.ModuleType:
    module = types.ModuleType(name)
    for hook_name, classes in hooks.items():

        def impl(register, classes=classes):
            for cls in classes:
                register(cls)

        impl.__name__ = hook_name
        setattr(module, hook_name, hookimpl(impl))
    return module


def test_a_provider_without_execute_is_refused_at_register():
    class Half:
        name = "half"
        config_class = TargetConfig

        def supports(self, operation):
            return True

    with pytest.raises(PluginError) as err:
        load_registry(extra_plugins=[_plugin("halfplugin", register_providers=[Half])], environ={})
    message = str(err.value)
    assert "plugin 'halfplugin'" in message and "provider 'half'" in message and "Half" in message
    assert "has no 'execute'" in message


def test_a_blocking_policy_method_is_refused():
    class Blocking(Policy):
        name = "blocking"

        def on_request(self, ctx):  # the core awaits it
            return None

    with pytest.raises(PluginError, match=r"policy 'blocking'.*'on_request' that is not 'async def'"):
        load_registry(extra_plugins=[_plugin("blockplugin", register_policies=[Blocking])], environ={})


def test_a_config_class_must_be_an_attrs_class():
    class Loose(Provider):
        name = "loose"
        config_class = dict

    with pytest.raises(PluginError, match=r"provider 'loose'.*'config_class' that is not an attrs class"):
        load_registry(extra_plugins=[_plugin("looseplugin", register_providers=[Loose])], environ={})


def test_subclasses_of_the_base_classes_pass():
    @attrs.frozen(kw_only=True)
    class WordConfig(PolicyConfig):
        word: str = "x"

    class Word(Policy):
        name = "word"
        config_class = WordConfig

    registry = load_registry(extra_plugins=[_plugin("wordplugin", register_policies=[Word])], environ={})
    assert registry.policies["word"] is Word


def test_plugin_defined_hooks_share_the_registration_rules(monkeypatch):
    # A plugin defines register_widgets for its sub-plugins (as keeptrust-hf and keeptrust-guard do);
    # a second plugin registering a name the first holds gets the core's duplicate error.
    import pluggy

    specs = types.ModuleType("widget_specs")

    @pluggy.HookspecMarker("keeptrust")
    def register_widgets(register):
        """Register widgets."""

    specs.register_widgets = register_widgets
    monkeypatch.setitem(sys.modules, "widget_specs", specs)

    class Widget:
        name = "widget"

    class Twin:
        name = "widget"

    owner = _plugin("widgetplugin", register_widgets=[Widget])
    owner.KEEPTRUST_HOOKSPECS = "widget_specs"
    registry = load_registry(extra_plugins=[owner], environ={})
    assert registry.extension("register_widgets") == {"widget": Widget}
    assert registry.plugins["widgetplugin"].registered["widget"] == ["widget"]

    twin = _plugin("twinplugin", register_widgets=[Twin])
    registry = load_registry(extra_plugins=[owner, twin], environ={})
    with pytest.raises(
        PluginError, match=r"plugin 'twinplugin' .* registers widget 'widget', which plugin 'widgetplugin'"
    ):
        registry.extension("register_widgets")
    refused = load_registry(extra_plugins=[owner], environ={})
    with pytest.raises(PluginError, match=r"registered widget 'widget' .*, which is not a gadget"):
        refused.extension("register_widgets", check=lambda cls: ["is not a gadget"])

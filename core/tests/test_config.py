"""Config loading: every error names the field path, the expectation and the line."""

from __future__ import annotations

import textwrap

import pytest

from keeptrust.config import load_config, load_config_data
from keeptrust.distributions import install_command
from keeptrust.errors import ConfigError
from keeptrust.plugins import load_registry
from keeptrust.server.gateway import build_gateway


@pytest.fixture(scope="module")
def registry():
    return load_registry(environ={"KEEPTRUST_LOAD_PLUGINS": "none"})


def _errors(data, registry, environ=None):
    with pytest.raises(ConfigError) as err:
        load_config_data(data, registry, environ=environ or {})
    return err.value.errors


TARGETS = {
    "targets": [
        {"id": "hf-llama-8b", "provider": "openai", "base_url": "http://127.0.0.1:1/v1", "model": "m8"},
        {"id": "hf-dedicated-llama-70b", "provider": "openai", "base_url": "http://127.0.0.1:1/v1", "model": "m70"},
    ]
}


def test_router_unknown_target_names_path_and_known_targets(registry):
    data = {
        "providers": TARGETS,
        "policies": {
            "chain": ["router"],
            "policy": {
                "router": {
                    "rules": [
                        {"when_role": "production", "target": "hf-dedicated-llama-70b"},
                        {"when_role": "developer", "target": "hf-llama-8b"},
                        {"default": {"target": "hf-llama-8bb"}},
                    ]
                }
            },
        },
    }
    assert _errors(data, registry) == [
        "<config>: policies.policy.router.rules[2].default.target: unknown target 'hf-llama-8bb' "
        "(known: hf-llama-8b, hf-dedicated-llama-70b)"
    ]


@pytest.mark.parametrize(
    "default_rule",
    [
        {"default": {"target": "hf-llama-8b"}},
        {"default": True, "target": "hf-llama-8b"},
    ],
)
def test_both_readings_of_the_default_rule(registry, default_rule):
    data = {
        "providers": TARGETS,
        "policies": {
            "chain": ["router"],
            "policy": {
                "router": {"rules": [{"when_role": "production", "target": "hf-dedicated-llama-70b"}, default_rule]}
            },
        },
    }
    loaded = load_config_data(data, registry, environ={})
    rules = loaded.policies["router"].rules
    assert rules[1].is_default and rules[1].target_id == "hf-llama-8b"


def test_file_errors_carry_line_numbers_and_did_you_mean(tmp_path, registry):
    path = tmp_path / "policy-config.yaml"
    path.write_text(
        textwrap.dedent("""\
        pack:
          name: demo
          enabeld: true
        providers:
          targets:
            - id: a
              provider: openai
              base_url: http://127.0.0.1:1/v1
              timeout_seconds: soon
        policies:
          chain: [router, pii-detector, nonsense]
    """)
    )
    with pytest.raises(ConfigError) as err:
        load_config(path, registry)
    lines = err.value.errors
    assert f"{path}:3: pack.enabeld: unknown key; did you mean 'enabled'?" in lines
    assert any(
        line.startswith(f"{path}:9: providers.targets[0].timeout_seconds: expected a number; got 'soon'")
        for line in lines
    ), lines


def test_chain_policy_not_installed_names_pip_package(registry):
    lines = _errors({"providers": TARGETS, "policies": {"chain": ["pii-detector", "nonsense"]}}, registry)
    assert (
        "<config>: policies.chain[0]: policy 'pii-detector' is not installed; install it with "
        f"`{install_command('keeptrust-presidio')}`" in lines
    )
    assert any("policies.chain[1]: unknown policy 'nonsense'" in line for line in lines)


def test_unknown_provider_family_names_package(registry):
    lines = _errors({"providers": {"targets": [{"id": "x", "provider": "huggingface:chat:org/m"}]}}, registry)
    hint = install_command("keeptrust-hf")
    assert any("unknown provider family 'huggingface'" in line and hint in line for line in lines)


def test_literal_and_bool_are_strict(registry):
    data = {
        "pack": {"enabled": "no"},
        "providers": TARGETS,
        "policies": {"chain": ["router"], "policy": {"router": {"mode": "shadowy"}}},
    }
    lines = _errors(data, registry)
    assert "<config>: pack.enabled: expected true or false; got 'no'" in lines


def test_policy_literal_error(registry):
    data = {"providers": TARGETS, "policies": {"chain": ["router"], "policy": {"router": {"mode": "shadowy"}}}}
    assert _errors(data, registry) == [
        "<config>: policies.policy.router.mode: expected one of enforce, shadow; got 'shadowy'"
    ]


def test_env_substitution_and_missing_variable(registry):
    data = {"pack": {"name": "${PACK_NAME}", "version": "${VERSION:-2.0.0}"}, "providers": TARGETS}
    loaded = load_config_data(data, registry, environ={"PACK_NAME": "from-env"})
    assert (loaded.gateway.pack.name, loaded.gateway.pack.version) == ("from-env", "2.0.0")
    assert _errors(data, registry) == [
        "<config>: pack.name: environment variable PACK_NAME is not set (used as ${PACK_NAME})"
    ]


def test_missing_secret_is_a_start_up_error_naming_target_and_variable(registry):
    data = {
        "providers": {
            "targets": [
                {
                    "id": "t",
                    "provider": "openai",
                    "base_url": "http://127.0.0.1:1/v1",
                    "secret_key_ref": {"env": "MISSING_TOKEN"},
                }
            ]
        }
    }
    loaded = load_config_data(data, registry, environ={})
    with pytest.raises(ConfigError) as err:
        build_gateway(loaded, registry, environ={})
    assert err.value.errors == [
        "providers.targets[0].secret_key_ref.env: environment variable MISSING_TOKEN (the key of target 't') is not set"
    ]


def test_duplicate_target_ids_and_missing_provider(registry):
    data = {
        "providers": {
            "targets": [
                {"id": "a", "provider": "openai", "base_url": "http://x/v1"},
                {"id": "a", "provider": "openai", "base_url": "http://x/v1"},
                {"id": "b"},
            ]
        }
    }
    lines = _errors(data, registry)
    assert "<config>: providers.targets[1].id: duplicate target id 'a'" in lines
    assert any(line.startswith("<config>: providers.targets[2].provider: required key missing") for line in lines)


def test_pack_disabled_turns_policies_off_but_keeps_routing(registry, caplog):
    data = {
        "pack": {"enabled": False},
        "providers": TARGETS,
        "policies": {"chain": ["router"], "policy": {"router": {"rules": [{"default": {"target": "hf-llama-8b"}}]}}},
    }
    loaded = load_config_data(data, registry, environ={})
    gateway = build_gateway(loaded, registry, environ={})
    assert gateway.chain._request == []
    assert "is disabled" in caplog.text

"""Config: the documented keys load, mistakes name their path, the spec examples' guard blocks load."""

from __future__ import annotations

import pytest
import yaml

from keeptrust.config.loader import load_config_data
from keeptrust.errors import ConfigError
from keeptrust.plugins import load_registry
from keeptrust.testing import openai_target, spec_examples

FILES = {p.name: p for p in spec_examples(__file__)}


def _load(policies: dict) -> object:
    data = {
        "providers": {"targets": [openai_target("http://127.0.0.1:9")]},
        "policies": {"chain": list(policies), "policy": policies},
    }
    return load_config_data(data, load_registry(), environ={})


def test_registered_under_the_keeptrust_group():
    registry = load_registry()
    assert {"prompt-injection", "safety-filter", "content-filter"} <= set(registry.policies)
    assert registry.plugins["guard"].distribution == "keeptrust-guard"


def test_the_documented_keys_load():
    loaded = _load(
        {
            "prompt-injection": {
                "action": "block",
                "sensitivity": "high",
                "mode": "shadow",
                "apply_to": ["request", "response"],
            },
            "safety-filter": {"check_toxicity": True, "action": "flag"},
            "content-filter": {
                "categories": ["hate_speech", "harassment", "self_harm", "sexual", "violence"],
                "action": "block",
            },
        }
    )
    assert loaded.policies["prompt-injection"].score_threshold == 0.4


@pytest.mark.parametrize(
    ("block", "path"),
    [
        ({"prompt-injection": {"sensitivity": "extreme"}}, "policies.policy.prompt-injection.sensitivity"),
        ({"content-filter": {"categories": ["spam"]}}, "policies.policy.content-filter.categories"),
        ({"safety-filter": {"check_toxicity": "yes"}}, "policies.policy.safety-filter.check_toxicity"),
        (
            {"prompt-injection": {"role_sensitivity": {"tool": "lowest"}}},
            "policies.policy.prompt-injection: role_sensitivity",
        ),
        (
            {"safety-filter": {"role_sensitivity": {"tool": "low"}}},
            "policies.policy.safety-filter: role_sensitivity.tool",
        ),
        (
            {"prompt-injection": {"role_sensitivity": {"robot": "low"}}},
            "policies.policy.prompt-injection: role_sensitivity",
        ),
        (
            {"prompt-injection": {"detector": "huggingface", "detector_options": {"modle": "x"}}},
            "policies.policy.prompt-injection.detector_options",
        ),
        (
            {"prompt-injection": {"detector": "ensemble", "detector_options": {"profile": "fastest"}}},
            "policies.policy.prompt-injection.detector_options.profile",
        ),
    ],
)
def test_mistakes_name_their_path(block, path):
    with pytest.raises(ConfigError) as info:
        _load(block)
    assert path in str(info.value)


def test_unknown_detector_is_a_start_up_error(fake_upstream):
    from keeptrust.testing import start_gateway

    data = {
        "providers": {"targets": [openai_target(fake_upstream.url)]},
        "policies": {"chain": ["prompt-injection"], "policy": {"prompt-injection": {"detector": "magic"}}},
    }
    with pytest.raises(ConfigError) as info:
        start_gateway(data)
    assert "policies.policy.prompt-injection.detector" in str(info.value) and "heuristic" in str(info.value)


@pytest.mark.skipif(not FILES, reason="the spec examples (shared/spec/examples) are not available")
@pytest.mark.parametrize("name", ["full-governance.yaml", "role-routing.yaml"])
def test_spec_examples_policy_blocks_structure(name):
    data = yaml.safe_load(FILES[name].read_text())
    guard = {
        k: v
        for k, v in data["policies"]["policy"].items()
        if k in ("prompt-injection", "safety-filter", "content-filter")
    }
    guard.setdefault("prompt-injection", {})
    loaded = _load(guard)
    # Every key the example sets arrives in the structured block as written.
    for policy, block in guard.items():
        structured = loaded.policies[policy]
        for key, value in (block or {}).items():
            if isinstance(value, (str, int, float, bool)):
                assert getattr(structured, key) == value, (policy, key)

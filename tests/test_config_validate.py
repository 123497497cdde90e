"""``kt config validate`` refuses every config ``kt gateway run`` refuses at start-up, with the
same message, and accepts the examples the gateway runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from keeptrust.cli import cli
from keeptrust.errors import ConfigError, PluginError
from keeptrust.plugins import load_registry
from keeptrust.server.run import make_app

ROOT = Path(__file__).resolve().parents[1]


def _config(tmp_path: Path, **changes: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "pack": {"name": "validate"},
        "providers": {
            "targets": [{"id": "echo", "provider": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1"}]
        },
        "policies": {
            "chain": ["audit-logger"],
            "policy": {"audit-logger": {"directory": str(tmp_path / "audit")}},
        },
    }
    for key, value in changes.items():
        config[key] = value
    return config


def _policies(tmp_path: Path, name: str, block: dict[str, Any]) -> dict[str, Any]:
    return {"chain": [name, "audit-logger"], "policy": {name: block, "audit-logger": {"directory": str(tmp_path)}}}


REFUSED = {
    "demo upstream listen without a host": (
        lambda p: _config(p, server={"demo_upstream": {"listen": "41003"}}),
        "server.demo_upstream.listen: expected HOST:PORT",
    ),
    "base_url without a scheme": (
        lambda p: _config(
            p, providers={"targets": [{"id": "a", "provider": "openai", "model": "m", "base_url": "localhost:8/v1"}]}
        ),
        "providers.targets[0].base_url: expected an http:// or https:// URL",
    ),
    "unknown PII entity": (
        lambda p: _config(p, policies=_policies(p, "pii-detector", {"entities": ["PERSON", "NOT_AN_ENTITY"]})),
        "policies.policy.pii-detector.entities[1]: unknown entity type 'NOT_AN_ENTITY'",
    ),
    "unknown guard detector": (
        lambda p: _config(p, policies=_policies(p, "prompt-injection", {"detector": "nope"})),
        "policies.policy.prompt-injection.detector: expected one of",
    ),
    "guard detector options": (
        lambda p: _config(
            p, policies=_policies(p, "prompt-injection", {"detector": "heuristic", "detector_options": {"bogus": 1}})
        ),
        "policies.policy.prompt-injection.detector_options.bogus: unknown key",
    ),
    "audit sink options": (
        lambda p: _config(
            p,
            policies={
                "chain": ["audit-logger"],
                "policy": {"audit-logger": {"destination": "sqlite", "sink": {"bogus": 1}}},
            },
        ),
        "policies.policy.audit-logger.sink.bogus: unknown key",
    ),
    "unknown audit sink": (
        lambda p: _config(p, policies={"chain": ["audit-logger"], "policy": {"audit-logger": {"destination": "s3"}}}),
        "policies.policy.audit-logger.destination: unknown audit sink 's3'",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_config_run_refuses_is_refused_by_validate(case, tmp_path):
    build, expected = REFUSED[case]
    path = tmp_path / "policy-config.yaml"
    path.write_text(yaml.safe_dump(build(tmp_path)))
    # What `kt gateway run` does before it serves.
    with pytest.raises((ConfigError, PluginError)) as refused:
        make_app(str(path), registry=load_registry(), environ={})
    assert expected in str(refused.value)
    result = CliRunner().invoke(cli, ["config", "validate", str(path)])
    assert result.exit_code == 1, result.output
    assert "INVALID" in result.output and expected in result.output


def test_examples_pass_both(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_API_TOKEN", "hf_" + "x" * 34)
    for name in ("quickstart.yaml", "huggingface.yaml"):
        config = yaml.safe_load((ROOT / "examples" / name).read_text())
        config["policies"]["policy"].setdefault("audit-logger", {})["directory"] = str(tmp_path / "audit")
        path = tmp_path / name
        path.write_text(yaml.safe_dump(config))
        make_app(str(path), registry=load_registry())
        result = CliRunner().invoke(cli, ["config", "validate", str(path)])
        assert result.exit_code == 0, result.output
        assert f"{path}: OK" in result.output


def test_a_deployment_variable_unset_here_is_a_warning_unless_required(tmp_path, monkeypatch):
    # The config file is checked apart from the machine: the audit collector's URL (like a secret)
    # is set per deployment, so validate warns; --check-secrets refuses as run would.
    monkeypatch.delenv("KEEPTRUST_AUDIT_API_URL", raising=False)
    config = _config(tmp_path, policies={"chain": ["audit-logger"], "policy": {"audit-logger": {"destination": "api"}}})
    path = tmp_path / "policy-config.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match="endpoint: required with destination: api"):
        make_app(str(path), registry=load_registry(), environ={})
    lenient = CliRunner().invoke(cli, ["config", "validate", str(path)])
    assert lenient.exit_code == 0, lenient.output
    assert "warning: environment variable KEEPTRUST_AUDIT_API_URL is not set" in lenient.output
    strict = CliRunner().invoke(cli, ["config", "validate", "--check-secrets", str(path)])
    assert strict.exit_code == 1
    assert "endpoint: required with destination: api" in strict.output

"""Every example config of the product specification loads and runs against the fakes (the
examples live beside the repository: ``keeptrust.testing.spec_examples``).

``base_url``s are rewritten to a fake TGI (``/v1`` kept when the original had it) and the router
and Hub URLs point at ``FakeHF``. Policies from other packages (prompt-injection, pii-detector, ...)
are left out of the run; when those packages are installed the full file is validated with
``kt config validate`` (the lead's full-stack test runs them)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from keeptrust.plugins import load_registry
from keeptrust.testing import serve_app, spec_examples
from keeptrust_hf.testing import TOKEN, FakeTGI

FILES = spec_examples(__file__)
CORE_POLICIES = {"router", "audit-logger"}


def rewrite(config: dict[str, Any], tgi_url: str) -> dict[str, Any]:
    for target in config["providers"]["targets"]:
        if target.get("base_url"):
            target["base_url"] = tgi_url + ("/v1" if target["base_url"].rstrip("/").endswith("/v1") else "")
    return config


def models_of(config: dict[str, Any]) -> list[str]:
    out = []
    for target in config["providers"]["targets"]:
        provider = target["provider"]
        out.append(target.get("model") or provider.split(":", 2)[2])
    return out


@pytest.fixture
def tgi_server():
    server = serve_app(FakeTGI(reply="endpoint reply"))
    yield server
    server.stop()


@pytest.mark.skipif(not FILES, reason="the spec examples (shared/spec/examples) are not available")
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_example_runs_against_the_fakes(path, hf, gateway, tgi_server, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # anything the audit log writes stays in the test's directory
    config = rewrite(yaml.safe_load(path.read_text()), tgi_server.url)
    for model in models_of(config):
        task = "feature-extraction" if "bge" in model.lower() else "conversational"
        hf.app.add_mapping(model, "hf-inference", task=task)
    chain = [p for p in config["policies"]["chain"] if p in CORE_POLICIES]
    config["policies"] = {
        "chain": chain,
        "policy": {k: v for k, v in config["policies"].get("policy", {}).items() if k in chain},
    }
    audit = config["policies"]["policy"].get("audit-logger")
    if isinstance(audit, dict) and audit.get("destination") == "api":
        audit.pop("destination")  # the audit API is not under test here: the default local sink is used
    environ = {"HF_API_TOKEN": TOKEN, "HF_TOKEN": TOKEN}
    gw = gateway(*config.pop("providers")["targets"], environ=environ, **config)
    client = gw.client()
    for target in gw.app.gateway.targets.values():
        model = target.id
        if "bge" in (target.config.model or ""):
            result = client.embeddings.create(model=model, input="enterprise AI governance")
            assert len(result.data[0].embedding) == 8
            continue
        answer = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "hello"}], max_tokens=64
        )
        text = answer.choices[0].message.content
        assert text in ("You said: hello", "endpoint reply"), (target.id, text)
        chunks = list(
            client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hello"}], stream=True)
        )
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).strip() == text
    if "router" in chain:
        routed = client.chat.completions.create(
            model="hf-llama-8b",
            messages=[{"role": "user", "content": "hi"}],
            extra_headers={"x-keeptrust-role": "production"},
        )
        assert routed.choices[0].message.content == "endpoint reply"  # the dedicated target


@pytest.mark.skipif(not FILES, reason="the spec examples (shared/spec/examples) are not available")
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_example_validates_with_kt(path, tmp_path):
    wanted = set(yaml.safe_load(path.read_text())["policies"]["chain"])
    missing = wanted - set(load_registry().policies)
    if missing:
        pytest.skip(f"policy packages not installed for: {', '.join(sorted(missing))}")
    kt = Path(sys.executable).with_name("kt")
    env = {**os.environ, "HF_API_TOKEN": TOKEN, "HF_TOKEN": TOKEN}
    done = subprocess.run(
        [str(kt), "config", "validate", str(path)], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr

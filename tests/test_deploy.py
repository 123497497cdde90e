"""The deployment files say what the gateway does: their configs load, their probes and grace
periods match the gateway's endpoints and drain. (tests/test_scale_out.py runs the compose topology
itself: two gateways behind deploy/nginx.conf with Redis and PostgreSQL.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
KT = str(Path(sys.executable).with_name("kt"))


def _validate(path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KEEPTRUST_LOAD_PLUGINS": "postgres,hf"}
    return subprocess.run([KT, "config", "validate", str(path)], capture_output=True, text=True, env=env, timeout=60)


def _manifests() -> dict[str, dict]:
    docs = {}
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            docs[doc["kind"]] = doc
    return docs


def test_the_shipped_policy_configs_validate(tmp_path):
    assert _validate(DEPLOY / "policy-config.yaml").returncode == 0
    configmap = _manifests()["ConfigMap"]
    inline = tmp_path / "configmap-policy-config.yaml"
    inline.write_text(configmap["data"]["policy-config.yaml"])
    result = _validate(inline)
    assert result.returncode == 0, result.stdout + result.stderr


def test_kubernetes_probes_and_grace_match_the_gateway():
    docs = _manifests()
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    graceful = yaml.safe_load(docs["ConfigMap"]["data"]["policy-config.yaml"])["server"]["graceful_timeout_seconds"]
    pre_stop = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    # The kubelet must not kill a gateway that is still draining.
    assert pod["terminationGracePeriodSeconds"] > pre_stop + graceful
    assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] == 10001
    assert container["envFrom"][0]["secretRef"]["name"] == docs["Secret"]["metadata"]["name"]
    kustomization = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())
    assert "secret.example.yaml" not in kustomization["resources"]  # real secrets come from elsewhere
    assert all((DEPLOY / "k8s" / name).exists() for name in kustomization["resources"])


def test_compose_runs_two_gateways_that_drain_before_they_are_killed():
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    graceful = yaml.safe_load((DEPLOY / "policy-config.yaml").read_text())["server"]["graceful_timeout_seconds"]
    for name in ("gateway-a", "gateway-b"):
        gateway = services[name]
        assert int(gateway["stop_grace_period"].rstrip("s")) > graceful
        assert gateway["build"]["dockerfile"] == "deploy/Dockerfile"
    assert {"redis", "postgres", "lb"} <= set(services)


def test_the_image_runs_as_a_numeric_non_root_user():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "USER 10001:10001" in dockerfile
    assert 'ENTRYPOINT ["kt", "gateway", "run", "--listen", "0.0.0.0:41002"]' in dockerfile

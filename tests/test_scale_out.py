"""Many gateways as one: two `kt gateway run` processes behind deploy/nginx.conf, sharing one Redis
(the rate limit holds across them exactly) and one PostgreSQL (each process writes its own chain,
and both verify). Starts from deploy/policy-config.yaml, the config the deployment files ship."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg
import pytest
import yaml
from psycopg import sql

from keeptrust.demo import FakeOpenAI
from keeptrust.testing import openai_target, serve_app
from keeptrust.testing.services import missing

ROOT = Path(__file__).resolve().parents[1]
KT = str(Path(sys.executable).with_name("kt"))
KEYS = {"KEEPTRUST_KEY_PRODUCTION": "prod-key-0123456789abcdef", "KEEPTRUST_KEY_DEVELOPER": "dev-key-0123456789abcdef"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise AssertionError(f"{proc.args[0]} exited: {log.read_text()}")
        time.sleep(0.1)
    raise AssertionError(f"{url} not ready: {log.read_text()}")


@pytest.fixture
def stack(tmp_path, redis_url, request):
    dsn = os.environ.get("KEEPTRUST_TEST_POSTGRES_DSN") or missing("PostgreSQL")
    nginx = os.environ.get("KEEPTRUST_TEST_NGINX") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        missing("nginx")
    schema = "kt_scale_" + os.urandom(4).hex()
    upstream = serve_app(FakeOpenAI())
    procs: list[subprocess.Popen] = []

    config = yaml.safe_load((ROOT / "deploy" / "policy-config.yaml").read_text())
    config["providers"]["targets"] = [openai_target(upstream.url, target_id="hf-llama-8b", model="fake/model")]
    limiter = config["policies"]["policy"]["rate-limiter"]
    limiter.update(requests_per_minute=6, burst=6)
    limiter.pop("tokens_per_minute")
    config["policies"]["policy"]["audit-logger"]["sink"]["schema"] = schema
    path = tmp_path / "policy-config.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {
        **os.environ,
        **KEYS,
        "HF_API_TOKEN": "hf_unused",
        "KEEPTRUST_REDIS_URL": redis_url,
        "KEEPTRUST_AUDIT_DSN": dsn,
        "KEEPTRUST_LOAD_PLUGINS": "postgres,hf",
    }
    ports = []
    for name in ("a", "b"):
        port = _free_port()
        log = tmp_path / f"gateway-{name}.log"
        procs.append(
            subprocess.Popen(
                [KT, "gateway", "run", "--listen", f"127.0.0.1:{port}", "--policy-config", str(path)],
                stdout=log.open("wb"),
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        )
        _wait(f"http://127.0.0.1:{port}/readyz", procs[-1], log)
        ports.append(port)

    # The shipped nginx.conf, pointed at the two local gateways instead of compose's service names.
    lb_port = _free_port()
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    conf = conf.replace("gateway-a:41002", f"127.0.0.1:{ports[0]}").replace("gateway-b:41002", f"127.0.0.1:{ports[1]}")
    conf = re.sub(r"listen 8080;", f"listen 127.0.0.1:{lb_port};", conf)
    (tmp_path / "nginx.conf").write_text(conf)
    nginx_log = tmp_path / "nginx.log"
    procs.append(
        subprocess.Popen(
            [
                nginx,
                "-p",
                str(tmp_path),
                "-c",
                str(tmp_path / "nginx.conf"),
                "-g",
                f"daemon off; user root; pid {tmp_path}/nginx.pid; error_log {nginx_log};",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    )
    _wait(f"http://127.0.0.1:{lb_port}/healthz", procs[-1], nginx_log)
    try:
        yield {"url": f"http://127.0.0.1:{lb_port}", "gateways": procs[:2], "dsn": dsn, "schema": schema}
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=30)
        upstream.stop()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def test_two_gateways_are_one_limit_and_two_verified_chains(stack):
    headers = {"authorization": f"Bearer {KEYS['KEEPTRUST_KEY_DEVELOPER']}"}
    body = {"model": "fake/model", "messages": [{"role": "user", "content": "hello"}]}
    statuses = []
    with httpx.Client(base_url=stack["url"], headers=headers, timeout=10) as client:
        for _ in range(10):
            statuses.append(client.post("/v1/chat/completions", json=body).status_code)
        # Streams pass the load balancer unbuffered and intact.
        other = {"authorization": f"Bearer {KEYS['KEEPTRUST_KEY_PRODUCTION']}"}
        streamed = client.post("/v1/chat/completions", json={**body, "stream": True}, headers=other)
    assert statuses.count(200) == 6 and statuses.count(429) == 4, statuses
    assert streamed.status_code == 200 and streamed.text.rstrip().endswith("data: [DONE]")

    for proc in stack["gateways"]:
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=30) == 0

    location = f"{stack['dsn']}#{stack['schema']}"
    with psycopg.connect(stack["dsn"]) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(stack["schema"])))
        per_chain = dict(
            conn.execute("SELECT chain, COUNT(*) FROM audit_records WHERE type = 'request' GROUP BY chain").fetchall()
        )
    # Both gateways answered, and every answered or refused request has its record.
    assert len(per_chain) == 2 and sum(per_chain.values()) == 11, per_chain
    result = subprocess.run(
        [KT, "audit", "verify", location],
        capture_output=True,
        text=True,
        env={**os.environ, "KEEPTRUST_LOAD_PLUGINS": "postgres"},
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK: 2 chain(s)" in result.stdout

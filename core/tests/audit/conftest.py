"""Helpers for the audit tests: a real `kt gateway run` process, a real collector, the `kt` CLI."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml

from keeptrust.testing import BackgroundServer, openai_target

KT = str(Path(sys.executable).with_name("kt"))
# Only the built-in plugins: these tests are about the core's audit log, not other installed plugins.
BASE_ENV = {"KEEPTRUST_LOAD_PLUGINS": "none"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kt(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [KT, *args], capture_output=True, text=True, timeout=60, env={**os.environ, **BASE_ENV, **(env or {})}
    )


def read_chain_records(directory: Path) -> list[dict[str, Any]]:
    """Every complete record under an audit directory, in file order."""
    out = []
    for path in sorted(directory.rglob("seg-*.jsonl")):
        for line in path.read_bytes().splitlines(keepends=True):
            if line.endswith(b"\n"):
                out.append(orjson.loads(line))
    return out


def request_records(directory: Path) -> list[dict[str, Any]]:
    return [r for r in read_chain_records(directory) if r["type"] in ("request", "access")]


class GatewayProcess:
    """``kt gateway run`` in a subprocess with a YAML config written to ``tmp_path``."""

    def __init__(
        self, tmp_path: Path, config: dict[str, Any], workers: int = 1, env: dict[str, str] | None = None
    ) -> None:
        self.config_path = tmp_path / f"policy-config-{free_port()}.yaml"
        self.config_path.write_text(yaml.safe_dump(config))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_path / f"gateway-{self.port}.log"
        self.workers = workers
        self.env = {**os.environ, **BASE_ENV, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> GatewayProcess:
        log = open(self.log_path, "wb")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [
                KT,
                "gateway",
                "run",
                "--listen",
                f"127.0.0.1:{self.port}",
                "--policy-config",
                str(self.config_path),
                "--workers",
                str(self.workers),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"gateway exited with {self.proc.returncode}:\n{self.log}")
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"gateway did not become ready:\n{self.log}")

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def client(self, **kwargs: Any) -> Any:
        import openai

        return openai.OpenAI(
            base_url=self.url + "/v1", api_key=kwargs.pop("api_key", "unused"), max_retries=0, timeout=30, **kwargs
        )

    def stop(self) -> int:
        """SIGTERM to the whole process group (hypercorn's workers too) and wait: a graceful stop."""
        assert self.proc is not None
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
        return self.proc.wait(60)

    def kill(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)


@pytest.fixture
def upstream(fake_upstream: BackgroundServer) -> BackgroundServer:
    """keeptrust.testing's fake upstream, under the name these tests use."""
    return fake_upstream


@pytest.fixture
def gateway_process(tmp_path: Path) -> Iterator[Any]:
    started: list[GatewayProcess] = []

    def start(config: dict[str, Any], **kwargs: Any) -> GatewayProcess:
        gw = GatewayProcess(tmp_path, config, **kwargs).start()
        started.append(gw)
        return gw

    try:
        yield start
    finally:
        for gw in started:
            if gw.proc is not None and gw.proc.poll() is None:
                gw.kill()


def audit_config(upstream_url: str, directory: Path, **audit: Any) -> dict[str, Any]:
    return {
        "pack": {"name": "audit-test", "version": "1.2.3"},
        "providers": {"targets": [openai_target(upstream_url)]},
        "policies": {"chain": ["audit-logger"], "policy": {"audit-logger": {"directory": str(directory), **audit}}},
    }

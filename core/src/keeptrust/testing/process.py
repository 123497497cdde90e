"""``kt gateway run`` in its own process, as operators run it, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import yaml

KT = str(Path(sys.executable).with_name("kt"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class GatewayProcess:
    """Writes ``config`` to ``directory/policy-config.yaml``, starts ``kt gateway run`` on a free
    port with ``args`` and waits up to ``ready_timeout`` seconds until ``/readyz`` answers (plugins
    that load a model at start need longer than the default). ``log`` holds its stdout and stderr.
    ``env`` is added to this process's environment, where ``KEEPTRUST_LOAD_PLUGINS`` is ``none``
    unless ``env`` names the plugins to load."""

    def __init__(
        self,
        directory: Path,
        config: Mapping[str, Any],
        *args: str,
        env: Mapping[str, str] | None = None,
        ready_timeout: float = 30.0,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_path = directory / "policy-config.yaml"
        self.write_config(config)
        self.log = directory / "gateway.log"
        environment = {**os.environ, "KEEPTRUST_LOAD_PLUGINS": "none", **(env or {})}
        self.env = environment
        listen = ["--listen", f"127.0.0.1:{self.port}", "--policy-config", str(self.config_path)]
        self.proc = subprocess.Popen(
            [KT, "gateway", "run", *listen, *args],
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=True,
        )
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise AssertionError("gateway exited: " + self.log.read_text())
            time.sleep(0.1)
        self.stop()
        raise AssertionError("gateway did not become ready: " + self.log.read_text())

    def rss_bytes(self) -> int:
        """The gateway process's resident memory (VmRSS, Linux)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS for the gateway process")

    def write_config(self, config: Mapping[str, Any]) -> None:
        self.config_path.write_text(yaml.safe_dump(dict(config)))

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.output()
            if text in out:
                return out
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not in the gateway log: {self.output()}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(timeout=10)


__all__ = ["KT", "GatewayProcess", "free_port"]

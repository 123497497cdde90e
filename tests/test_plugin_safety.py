"""What an operator can rely on with third-party plugins installed: ``kt plugins list`` says where
each came from, ``--disable-plugin`` switches one off, and a plugin that raises while serving costs
one request a 500 in the OpenAI shape and a log line naming the plugin, never the gateway."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from keeptrust import JSONResult, Policy, Provider, __version__, hookimpl
from keeptrust.errors import ConfigError
from keeptrust.testing import RunningGateway, openai_target, start_gateway

# Only the built-ins and the plugins a test installs: a sibling package of the workspace that is
# broken at the moment must not decide these tests.
ONLY = {"KEEPTRUST_LOAD_PLUGINS": "shout"}

SHOUT = """
    from keeptrust import Policy, hookimpl

    class Shout(Policy):
        name = "shout"

        async def on_request(self, ctx):
            for message in ctx.body.get("messages", []):
                message["content"] = message["content"].upper()

    @hookimpl
    def register_policies(register):
        register(Shout)
"""


def install_fake_dist(root: Path) -> Path:
    """Lay out an installed distribution ``keeptrust-shout`` 0.3.1 (dist-info + module) in ``root``."""
    info = root / "keeptrust_shout-0.3.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: keeptrust-shout\nVersion: 0.3.1\n")
    (info / "entry_points.txt").write_text("[keeptrust]\nshout = keeptrust_shout\n")
    module = root / "keeptrust_shout.py"
    module.write_text(textwrap.dedent(SHOUT))
    return module


def kt(*args: str, path: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, **ONLY, "PYTHONPATH": str(path), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "keeptrust.cli", *args], env=environ, capture_output=True, text=True, check=False
    )


# ---------------------------------------------------------------- provenance and switching off


def test_plugins_list_says_where_each_plugin_came_from(tmp_path: Path) -> None:
    module = install_fake_dist(tmp_path)
    done = kt("plugins", "list", path=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    at = lines.index("shout (plugin): keeptrust-shout 0.3.1  [keeptrust_shout]")
    assert lines[at + 1] == f"    path: {module}"
    assert lines[at + 2] == "    policy: shout"
    assert f"router_policy (built-in): keeptrust {__version__}  [keeptrust.builtins.router_policy]" in lines

    rows = {row["name"]: row for row in json.loads(kt("plugins", "list", "--json", path=tmp_path).stdout)}
    assert rows["shout"] == {
        "name": "shout",
        "distribution": "keeptrust-shout",
        "version": "0.3.1",
        "module": "keeptrust_shout",
        "path": str(module),
        "builtin": False,
        "registered": {"policy": ["shout"]},
    }
    assert all(Path(row["path"]).is_file() for row in rows.values())


def test_disable_plugin_switches_a_plugin_off(tmp_path: Path) -> None:
    install_fake_dist(tmp_path)
    config = tmp_path / "policy-config.yaml"
    config.write_text(
        json.dumps(
            {
                "providers": {"targets": [{"id": "t", "provider": "openai", "base_url": "http://127.0.0.1:9/v1"}]},
                "policies": {"chain": ["shout"]},
            }
        )
    )
    assert kt("config", "validate", str(config), path=tmp_path).returncode == 0

    listed = kt("plugins", "list", "--disable-plugin", "shout", path=tmp_path)
    assert "shout" not in listed.stdout
    by_env = kt("plugins", "list", path=tmp_path, env={"KEEPTRUST_DISABLE_PLUGINS": "shout"})
    assert "shout" not in by_env.stdout

    refused = kt("config", "validate", str(config), "--disable-plugin", "shout", path=tmp_path)
    assert refused.returncode == 1
    assert "policies.chain[0]: unknown policy 'shout'" in refused.stderr


def test_a_disabled_builtin_is_gone_from_the_gateway(fake_upstream: Any) -> None:
    config = {"providers": {"targets": [openai_target(fake_upstream.url)]}, "policies": {"chain": ["router"]}}
    with pytest.raises(ConfigError, match="unknown policy 'router'"):
        start_gateway(config, environ=ONLY, disable=["router_policy"])


# ---------------------------------------------------------------- a plugin raising while serving


class Boom(RuntimeError):
    """What a buggy plugin raises."""


class Explosive(Policy):
    """Raises in the phase its config names."""

    name = "explosive"

    def __init__(self, config: Any, env: Any) -> None:
        super().__init__(config, env)
        self.armed = True

    def _maybe(self, phase: str, ctx: Any) -> None:
        if self.armed and ctx.body.get("metadata", {}).get("explode") == phase:
            raise Boom(f"bug in {phase}")

    async def on_request(self, ctx: Any) -> None:
        self._maybe("request", ctx)

    async def on_response(self, ctx: Any, body: Any) -> None:
        self._maybe("response", ctx)

    def stream_filter(self, ctx: Any) -> Any:
        self._maybe("stream", ctx)
        return None

    async def on_complete(self, ctx: Any) -> None:
        self._maybe("complete", ctx)


class Crashing(Provider):
    """A provider family whose upstream call has a bug."""

    name = "crashing"
    operations = frozenset({"chat"})

    async def execute(self, ctx: Any) -> JSONResult:
        raise Boom("bug in execute")

    async def list_models(self) -> list[dict[str, Any]]:
        raise Boom("bug in list_models")


async def _broken_route(request: Any) -> JSONResult:
    raise Boom("bug in a route")


def buggy_plugin() -> types.ModuleType:
    """A plugin module implementing the per-request hooks, every one of them buggy on demand."""
    module = types.ModuleType("buggy")

    @hookimpl
    def register_policies(register: Callable[[type], None]) -> None:
        register(Explosive)

    @hookimpl
    def register_providers(register: Callable[[type], None]) -> None:
        register(Crashing)

    @hookimpl
    def register_routes(register: Callable[..., None]) -> None:
        register("POST", "/v1/buggy", _broken_route)

    module.register_policies = register_policies  # type: ignore[attr-defined]
    module.register_providers = register_providers  # type: ignore[attr-defined]
    module.register_routes = register_routes  # type: ignore[attr-defined]
    return module


@pytest.fixture
def gateway(fake_upstream: Any) -> Iterator[RunningGateway]:
    config = {
        "providers": {
            "targets": [
                openai_target(fake_upstream.url),
                {"id": "crashing", "provider": "crashing", "model": "crash/model"},
                {"id": "open-crashing", "provider": "crashing"},
            ]
        },
        "policies": {"chain": ["explosive"], "policy": {"explosive": {}}},
    }
    gw = start_gateway(config, environ=ONLY, extra_plugins=[buggy_plugin()])
    yield gw
    gw.stop()


def chat(client: openai.OpenAI, model: str = "fake/model", explode: str | None = None, **kwargs: Any) -> Any:
    extra = {"metadata": {"explode": explode}} if explode else {}
    return client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}], **extra, **kwargs)


def assert_still_serving(client: openai.OpenAI) -> None:
    assert chat(client).choices[0].message.content == "You said: hi"


def logged(caplog: pytest.LogCaptureFixture, *needles: str) -> list[str]:
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    return [line for line in lines if all(n in line for n in needles)]


@pytest.mark.parametrize("phase", ["request", "response"])
def test_a_policy_raising_is_a_500_naming_it_and_the_gateway_keeps_serving(
    gateway: RunningGateway, caplog: pytest.LogCaptureFixture, phase: str
) -> None:
    client = gateway.client()
    with pytest.raises(openai.InternalServerError) as caught:
        chat(client, explode=phase)
    error = caught.value.body
    assert caught.value.status_code == 500
    assert error["type"] == "server_error"
    assert "explosive" in error["message"]
    assert f"bug in {phase}" not in error["message"]  # the exception text stays in the log
    assert logged(caplog, "policy 'explosive'", "plugin buggy", f"bug in {phase}")
    assert_still_serving(client)


def test_a_stream_filter_raising_is_a_500_naming_the_policy(
    gateway: RunningGateway, caplog: pytest.LogCaptureFixture
) -> None:
    client = gateway.client()
    with pytest.raises(openai.InternalServerError):
        list(chat(client, explode="stream", stream=True))
    assert logged(caplog, "policy 'explosive'", "plugin buggy", "bug in stream")
    assert_still_serving(client)


def test_on_complete_raising_costs_only_a_log_line(gateway: RunningGateway, caplog: pytest.LogCaptureFixture) -> None:
    client = gateway.client()
    assert chat(client, explode="complete").choices[0].message.content == "You said: hi"
    gateway.stop()  # on_complete runs after the answer is sent; stopping waits for it
    assert logged(caplog, "policy 'explosive'", "plugin buggy", "bug in complete")


def test_a_provider_raising_is_a_500_naming_its_plugin(
    gateway: RunningGateway, caplog: pytest.LogCaptureFixture
) -> None:
    client = gateway.client()
    with pytest.raises(openai.InternalServerError) as caught:
        chat(client, model="crash/model")
    assert caught.value.body["type"] == "server_error"
    assert "bug in execute" not in caught.value.body["message"]
    assert logged(caplog, "target 'crashing' (provider crashing, plugin buggy) raised: Boom: bug in execute")
    assert_still_serving(client)


def test_a_provider_failing_to_list_models_leaves_the_listing_up(
    gateway: RunningGateway, caplog: pytest.LogCaptureFixture
) -> None:
    listed = {m.id for m in gateway.client().models.list()}
    assert {"fake", "fake/model", "crashing", "crash/model"} <= listed
    assert logged(caplog, "target 'open-crashing'", "plugin buggy", "bug in list_models")


def test_a_plugin_route_raising_is_a_500_naming_its_plugin(
    gateway: RunningGateway, caplog: pytest.LogCaptureFixture
) -> None:
    answer = httpx.post(gateway.url + "/v1/buggy", json={})
    assert answer.status_code == 500
    assert answer.json()["error"]["type"] == "server_error"
    assert logged(caplog, "route POST /v1/buggy (plugin buggy)", "bug in a route")
    assert_still_serving(gateway.client())


def test_a_plugin_whose_command_hook_raises_does_not_take_kt_down(tmp_path: Path) -> None:
    install_fake_dist(tmp_path).write_text(
        textwrap.dedent("""
        from keeptrust import hookimpl

        @hookimpl
        def register_commands(cli):
            raise RuntimeError("bug in register_commands")
    """)
    )
    done = kt("plugins", "list", path=tmp_path)
    assert done.returncode == 0
    assert "shout (plugin): keeptrust-shout 0.3.1" in done.stdout
    assert "plugin 'shout' (distribution keeptrust-shout) failed in register_commands" in done.stderr
    assert kt("plugin", "new", "--help", path=tmp_path).returncode == 0  # the built-ins' commands stay


def test_a_plugin_that_cannot_be_imported_leaves_the_builtin_commands(tmp_path: Path) -> None:
    install_fake_dist(tmp_path).write_text("import keeptrust_no_such_dependency\n")
    done = kt("plugin", "new", "--help", path=tmp_path)
    assert done.returncode == 0
    assert "plugin 'shout' from distribution keeptrust-shout 0.3.1 failed to load" in done.stderr
    listed = kt("plugins", "list", path=tmp_path)
    assert listed.returncode == 1
    assert "keeptrust-shout 0.3.1 failed to load: ModuleNotFoundError" in listed.stderr

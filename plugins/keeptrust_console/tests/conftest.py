"""An audit log written by a real gateway run (answered, blocked, refused at the edge, a hostile
path), and the console served over it on loopback."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from keeptrust_console.app import ConsoleApp, Credential
from keeptrust_console.index import Source

from keeptrust import Block, Policy, hookimpl
from keeptrust.audit.verify import Expectations
from keeptrust.demo import FakeOpenAI
from keeptrust.testing import BackgroundServer, openai_target, start_gateway

DEV_KEY = "dev-key-0123456789abcdef"
ANALYST_KEY = "analyst-key-0123456789abcdef"
HOSTILE_PATH = "/v1/<script>alert(1)</script>"
ANSWERED, BLOCKED = 5, 3


class ForbiddenWords(Policy):
    """Blocks any message containing 'forbidden', as a content policy would."""

    name = "forbidden-words"

    async def on_request(self, ctx: Any) -> Any:
        for message in ctx.body.get("messages", []):
            if "forbidden" in (message.get("content") or ""):
                return Block(
                    "blocked: 1 forbidden term",
                    reason="forbidden term",
                    details={"category": "banned-term", "score": 0.97},
                )
        return None


@hookimpl
def register_policies(register: Any) -> None:
    register(ForbiddenWords)


def write_gateway_log(
    directory: Path, environ: dict[str, str] | None = None, plugins: str = "none", **audit: Any
) -> Path:
    """Run a real gateway (openai client in front, fake upstream behind) and return its audit dir."""
    upstream = BackgroundServer(FakeOpenAI()).start()
    config = {
        "pack": {"name": "console-test", "version": "1.0.0"},
        "providers": {"targets": [openai_target(upstream.url)]},
        "server": {
            "auth": {
                "keys": [
                    {"key_ref": {"env": "DEV_KEY"}, "role": "developer"},
                    {"key_ref": {"env": "ANALYST_KEY"}, "role": "analyst"},
                ]
            }
        },
        "policies": {
            "chain": ["forbidden-words", "audit-logger"],
            "policy": {
                "audit-logger": {
                    "directory": str(directory),
                    "include_request": True,
                    "include_response": True,
                    "log_all_access": True,
                    "batch_max_delay_ms": 0,
                    **audit,
                }
            },
        },
    }
    environ = {"KEEPTRUST_LOAD_PLUGINS": plugins, "DEV_KEY": DEV_KEY, "ANALYST_KEY": ANALYST_KEY, **(environ or {})}
    gw = start_gateway(config, environ=environ, extra_plugins=[sys.modules[__name__]])
    try:
        for i in range(ANSWERED):
            key = DEV_KEY if i % 2 == 0 else ANALYST_KEY
            gw.client(api_key=key).chat.completions.create(
                model="fake/model",
                messages=[{"role": "user", "content": f"question {i}"}],
                extra_headers={"x-request-id": f"ok-{i}"},
            )
        for i in range(BLOCKED):
            with pytest.raises(openai.BadRequestError):
                gw.client(api_key=DEV_KEY).chat.completions.create(
                    model="fake/model",
                    messages=[{"role": "user", "content": f"a forbidden thing {i}"}],
                    extra_headers={"x-request-id": f"blocked-{i}"},
                )
        with pytest.raises(openai.AuthenticationError):
            gw.client(api_key="wrong-key").models.list(extra_headers={"x-request-id": "unauth-1"})
        assert httpx.get(gw.url + HOSTILE_PATH).status_code == 404
    finally:
        gw.stop()
        upstream.stop()
    return directory


@pytest.fixture(scope="session")
def gateway_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_gateway_log(tmp_path_factory.mktemp("console") / "audit")


@pytest.fixture
def log_copy(gateway_log: Path, tmp_path: Path) -> Path:
    """A private copy of the session's log, for tests that tamper with it."""
    return Path(shutil.copytree(gateway_log, tmp_path / "audit"))


def serve_console(location: Any, credential: Credential | None = None) -> BackgroundServer:
    app = ConsoleApp(Source(location, Expectations()), credential)
    app.prepare()
    return BackgroundServer(app).start()


@pytest.fixture
def console(log_copy: Path) -> Iterator[BackgroundServer]:
    server = serve_console(log_copy)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_location() -> Iterator[str]:
    """A fresh schema in the test PostgreSQL (``KEEPTRUST_TEST_POSTGRES_DSN``), dropped afterwards."""
    import os
    import secrets

    dsn = os.environ.get("KEEPTRUST_TEST_POSTGRES_DSN")
    if not dsn:
        message = 'PostgreSQL is not available: run `eval "$(scripts/test-services)"`'
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    pytest.importorskip("keeptrust_postgres")
    import psycopg
    from psycopg import sql

    schema = "kt_console_" + secrets.token_hex(4)
    yield f"{dsn}#{schema}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))

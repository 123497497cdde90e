"""Target groups (fallback, weighted, least-busy, circuit breaker), roles as access control, and
the router's shadow mode: driven by the openai and anthropic clients against loopback upstreams."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import orjson
import pytest

from keeptrust.config.loader import load_config_data
from keeptrust.demo import FakeOpenAI
from keeptrust.errors import ConfigError
from keeptrust.plugins import load_registry
from keeptrust.testing import BackgroundServer, openai_target

ENV = {"KEEPTRUST_LOAD_PLUGINS": "none", "DEV_KEY": "kt-dev-key-000000000001", "PROD_KEY": "kt-prod-key-00000000001"}
ASK = [{"role": "user", "content": "hello"}]


@pytest.fixture
def backup():
    server = BackgroundServer(FakeOpenAI(reply="from backup")).start()
    try:
        yield server
    finally:
        server.stop()


def target(server: BackgroundServer, tid: str, model: str, **extra: Any) -> dict[str, Any]:
    # No retries inside a member: the group's fallback is the retry.
    return openai_target(server.url, tid, model, max_retries=0, timeout_seconds=5, **extra)


def records(directory: Path) -> list[dict[str, Any]]:
    out = []
    for path in sorted(directory.rglob("seg-*.jsonl")):
        out += [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
    return [r for r in out if r.get("type") in ("request", "access")]


def group_config(primary, backup, directory: Path, **group: Any) -> dict[str, Any]:
    return {
        "providers": {
            "targets": [
                target(primary, "primary", "m-primary"),
                target(backup, "backup", "m-backup"),
                {"id": "chat-pool", "strategy": "fallback", "members": ["primary", "backup"], **group},
            ]
        },
        "policies": {"chain": ["audit-logger"], "policy": {"audit-logger": {"directory": str(directory)}}},
    }


def test_fallback_moves_on_before_the_first_byte_and_audits_every_attempt(
    fake_upstream, backup, gateway_factory, tmp_path
):
    gw = gateway_factory(group_config(fake_upstream, backup, tmp_path, failure_threshold=10), environ=ENV)
    client = gw.client()
    assert client.chat.completions.create(model="chat-pool", messages=ASK).choices[0].message.content == (
        "You said: hello"
    )
    for status in (502, 503, 429, 500):
        fake_upstream.app.fail_next(status=status)
        answer = client.chat.completions.create(model="chat-pool", messages=ASK)
        assert answer.choices[0].message.content == "from backup"
    # A stream falls back too (the failure came before any byte reached the client).
    fake_upstream.app.fail_next(status=502)
    chunks = client.chat.completions.create(model="chat-pool", messages=ASK, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "from backup"
    # The anthropic client through the same group.
    fake_upstream.app.fail_next(status=504)
    claude = anthropic.Anthropic(base_url=gw.url, api_key="unused", max_retries=0)
    message = claude.messages.create(model="chat-pool", max_tokens=16, messages=ASK)
    assert message.content[0].text == "from backup"
    # A client error is not failed over: another member would refuse it too.
    fake_upstream.app.fail_next(status=400)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="chat-pool", messages=ASK)
    gw.stop()
    got = records(tmp_path)
    assert [r["route"]["member"] for r in got[:7]] == ["primary"] + ["backup"] * 6
    failed_over = got[1]
    assert failed_over["target"] == "backup"
    assert [(a["target"], a["status"]) for a in failed_over["route"]["attempts"]] == [
        ("primary", 502),
        ("backup", 200),
    ]
    assert failed_over["route"]["group"] == "chat-pool"
    assert got[7]["status"] == 400 and [a["target"] for a in got[7]["route"]["attempts"]] == ["primary"]


def _fallbacks(url: str) -> dict[tuple[str, str, str], float]:
    from prometheus_client.parser import text_string_to_metric_families

    out = {}
    for family in text_string_to_metric_families(httpx.get(url + "/metrics").text):
        for s in family.samples:
            if s.name == "keeptrust_upstream_fallbacks_total":
                out[(s.labels["from_target"], s.labels["to_target"], s.labels["reason"])] = s.value
    return out


def test_fallbacks_are_counted_by_the_member_left_the_member_taken_and_why(
    fake_upstream, backup, gateway_factory, tmp_path
):
    config = group_config(fake_upstream, backup, tmp_path, failure_threshold=2, cooldown_seconds=30)
    gw = gateway_factory(config, environ=ENV)
    client = gw.client()
    before = _fallbacks(gw.url)
    client.chat.completions.create(model="chat-pool", messages=ASK)  # no fallback
    fake_upstream.app.fail_next(status=503)
    client.chat.completions.create(model="chat-pool", messages=ASK)
    fake_upstream.app.fail_next(status=429)
    client.chat.completions.create(model="chat-pool", messages=ASK)
    # The breaker is open now: the next request skips the primary.
    client.chat.completions.create(model="chat-pool", messages=ASK)
    after = _fallbacks(gw.url)

    def counted(reason: str) -> float:
        return after.get(("primary", "backup", reason), 0) - before.get(("primary", "backup", reason), 0)

    assert counted("status_503") == 1
    assert counted("status_429") == 1
    assert counted("circuit_open") == 1
    assert sum(after.values()) - sum(before.values()) == 3


def test_circuit_breaker_skips_a_failing_member_and_readyz_shows_it(fake_upstream, backup, gateway_factory, tmp_path):
    config = group_config(fake_upstream, backup, tmp_path, failure_threshold=2, cooldown_seconds=1)
    gw = gateway_factory(config, environ=ENV)
    client = gw.client()
    for _ in range(2):
        fake_upstream.app.fail_next(status=502)
        client.chat.completions.create(model="chat-pool", messages=ASK)
    seen = len(fake_upstream.app.requests)
    ready = httpx.get(gw.url + "/readyz").json()
    member = ready["groups"]["chat-pool"]["members"]["primary"]
    assert member["state"] == "open" and 0 < member["retry_in_seconds"] <= 1
    assert ready["groups"]["chat-pool"]["members"]["backup"]["state"] == "closed"
    answer = client.chat.completions.create(model="chat-pool", messages=ASK)
    assert answer.choices[0].message.content == "from backup"
    assert len(fake_upstream.app.requests) == seen  # skipped, not tried
    time.sleep(1.1)
    # After the cool-down one request tries the member again, and its success closes the breaker.
    answer = client.chat.completions.create(model="chat-pool", messages=ASK)
    assert answer.choices[0].message.content == "You said: hello"
    assert httpx.get(gw.url + "/readyz").json()["groups"]["chat-pool"]["members"]["primary"]["state"] == "closed"
    gw.stop()
    skipped = records(tmp_path)[2]["route"]["attempts"]
    assert skipped[0] == {"group": "chat-pool", "target": "primary", "skipped": "circuit open"}


def test_weighted_and_least_busy_groups(fake_upstream, backup, gateway_factory):
    config = {
        "providers": {
            "targets": [
                target(fake_upstream, "a", "m-a"),
                target(backup, "b", "m-b"),
                {"id": "spread", "strategy": "weighted", "members": [{"target": "a", "weight": 3}, {"target": "b"}]},
                {"id": "idle", "strategy": "least-busy", "members": ["b", "a"]},
            ]
        },
        "policies": {"chain": []},
    }
    gw = gateway_factory(config, environ=ENV)
    client = gw.client()
    answers = [
        client.chat.completions.create(model="spread", messages=ASK).choices[0].message.content for _ in range(60)
    ]
    from_a = answers.count("You said: hello")
    assert 30 <= from_a <= 57 and answers.count("from backup") == 60 - from_a  # about 3:1
    # With nothing in flight least-busy keeps the configured order.
    assert client.chat.completions.create(model="idle", messages=ASK).choices[0].message.content == "from backup"


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        (
            [{"id": "g", "strategy": "fallback", "members": ["a", "nope"]}],
            "providers.targets[1].members[1]: unknown target 'nope'",
        ),
        (
            [{"id": "g", "strategy": "fallback", "members": []}],
            "providers.targets[1].members: a group needs at least one member",
        ),
        (
            [{"id": "g", "strategy": "weighted", "members": [{"target": "a", "weight": 0}]}],
            "providers.targets[1].members[0].weight: expected a number above 0; got 0",
        ),
        (
            [
                {"id": "g1", "strategy": "fallback", "members": ["a", "g2"]},
                {"id": "g2", "strategy": "fallback", "members": ["g1"]},
            ],
            "the group contains itself (g1 -> g2 -> g1)",
        ),
        (
            [{"id": "g", "strategy": "roundrobin", "members": ["a"]}],
            "providers.targets[1].strategy: expected one of fallback, weighted, least-busy",
        ),
        ([{"id": "a", "strategy": "fallback", "members": ["a"]}], "providers.targets[1].id: duplicate target id 'a'"),
    ],
)
def test_group_config_errors_name_the_field(targets, message):
    data = {
        "providers": {"targets": [{"id": "a", "provider": "openai", "base_url": "http://x/v1", "model": "m"}, *targets]}
    }
    with pytest.raises(ConfigError) as err:
        load_config_data(data, load_registry(environ=ENV), environ=ENV)
    assert message in str(err.value)


def access_config(fake_upstream, backup, **router: Any) -> dict[str, Any]:
    return {
        "providers": {
            "targets": [target(fake_upstream, "prod", "big-model"), target(backup, "dev-model", "small-model")]
        },
        "server": {
            "auth": {
                "keys": [
                    {"key_ref": {"env": "DEV_KEY"}, "role": "dev", "id": "dev-key"},
                    {"key_ref": {"env": "PROD_KEY"}, "role": "production", "id": "prod-key"},
                ],
                "roles": {"dev": {"allowed_targets": ["dev-model"]}},
            }
        },
        "policies": {
            "chain": ["router"],
            "policy": {
                "router": {
                    "rules": [{"when_role": "dev", "when_model": "small-model", "target": "dev-model"}],
                    **router,
                }
            },
        },
    }


def test_roles_are_access_control(fake_upstream, backup, gateway_factory):
    gw = gateway_factory(access_config(fake_upstream, backup), environ=ENV)
    dev = gw.client(api_key=ENV["DEV_KEY"])
    assert dev.chat.completions.create(model="small-model", messages=ASK).choices[0].message.content == "from backup"
    # No rule matches, so the model names the production target: the role may not reach it.
    for model in ("big-model", "prod"):
        with pytest.raises(openai.PermissionDeniedError) as denied:
            dev.chat.completions.create(model=model, messages=ASK)
        assert denied.value.body["code"] == "permission_denied"
        assert "role 'dev' may not use target 'prod'" in denied.value.body["message"]
    assert not fake_upstream.app.requests
    claude = anthropic.Anthropic(base_url=gw.url, api_key=ENV["DEV_KEY"], max_retries=0)
    with pytest.raises(anthropic.PermissionDeniedError) as denied:
        claude.messages.create(model="big-model", max_tokens=8, messages=ASK)
    assert denied.value.body["error"]["type"] == "permission_error"
    # An unrestricted role reaches everything, as before.
    prod = gw.client(api_key=ENV["PROD_KEY"])
    assert prod.chat.completions.create(model="big-model", messages=ASK).choices[0].message.content == "You said: hello"


def test_router_shadow_mode_only_records(fake_upstream, backup, gateway_factory):
    config = access_config(fake_upstream, backup, mode="shadow")
    config["server"]["auth"]["roles"] = {}
    config["policies"]["policy"]["router"]["rules"] = [{"default": {"target": "dev-model"}}]
    gw = gateway_factory(config, environ=ENV)
    answer = gw.client(api_key=ENV["PROD_KEY"]).chat.completions.create(model="big-model", messages=ASK)
    assert answer.choices[0].message.content == "You said: hello"  # not rerouted to dev-model


def test_config_warnings_for_shared_models_and_unrestricted_roles(fake_upstream, backup):
    registry = load_registry(environ=ENV)
    data = access_config(fake_upstream, backup)
    data["providers"]["targets"].append(target(backup, "copy", "big-model"))
    data["server"]["auth"]["roles"] = {}
    loaded = load_config_data(data, registry, environ=ENV)
    text = "\n".join(loaded.warnings)
    assert "targets 'prod' and 'copy' share the model name 'big-model'" in text
    assert "role 'dev' is unrestricted" in text and "role 'production' is unrestricted" in text
    data["server"]["auth"]["roles"] = {
        "dev": {"allowed_targets": ["dev-model"]},
        "production": {"allowed_targets": ["prod"]},
    }
    assert not [w for w in load_config_data(data, registry, environ=ENV).warnings if "unrestricted" in w]
    data["server"]["auth"]["roles"]["dev"] = {"allowed_targets": ["nope"]}
    with pytest.raises(ConfigError) as err:
        load_config_data(data, registry, environ=ENV)
    assert "server.auth.roles.dev.allowed_targets[0]: unknown target 'nope'" in str(err.value)


def test_target_errors_name_their_own_index_when_groups_come_first():
    data = {
        "providers": {
            "targets": [
                {"id": "g", "strategy": "fallback", "members": ["a"]},
                {"id": "a", "provider": "openai", "base_url": "ftp://x/v1", "model": "m"},
            ]
        }
    }
    with pytest.raises(ConfigError) as err:
        load_config_data(data, load_registry(environ=ENV), environ=ENV)
    assert "providers.targets[1].base_url: expected an http:// or https:// URL" in str(err.value)

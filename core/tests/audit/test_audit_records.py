"""What lands in an audit record, end to end through a gateway with the openai client."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from keeptrust import Block, Modify, Policy, hookimpl
from keeptrust.errors import ConfigError
from keeptrust.testing import openai_target

from .conftest import BASE_ENV, kt, read_chain_records, request_records

GW_KEY = "gw-key-MARKER-7d1c9a0b52"
UP_KEY = "upstream-key-MARKER-41f0e6"


class RedactEmails(Policy):
    """A stand-in for pii-detector: rewrites an e-mail address, blocks the word 'forbidden'."""

    name = "test-redactor"

    async def on_request(self, ctx: Any) -> Any:
        for message in ctx.body.get("messages", []):
            text = message.get("content") or ""
            if "forbidden" in text:
                return Block("blocked: 1 forbidden term", reason="forbidden term", details={"terms": 1})
            if "alice@example.com" in text:
                message["content"] = text.replace("alice@example.com", "<EMAIL_ADDRESS>")
                return Modify(reason="redacted", details={"EMAIL_ADDRESS": 1})
        return None


@hookimpl
def register_policies(register: Any) -> None:
    register(RedactEmails)


def start(
    gateway_factory: Any, upstream_url: str, directory: Path, target: dict[str, Any] | None = None, **audit: Any
) -> Any:
    config = {
        "pack": {"name": "audit-test", "version": "1.2.3"},
        "providers": {"targets": [openai_target(upstream_url, secret_key_ref={"env": "UP_KEY"}, **(target or {}))]},
        "server": {"auth": {"keys": [{"key_ref": {"env": "GW_KEY"}, "role": "developer"}]}},
        "policies": {
            "chain": ["test-redactor", "audit-logger"],
            "policy": {"audit-logger": {"directory": str(directory), **audit}},
        },
    }
    return gateway_factory(
        config, environ={**BASE_ENV, "GW_KEY": GW_KEY, "UP_KEY": UP_KEY}, extra_plugins=[sys.modules[__name__]]
    )


def by_id(directory: Path) -> dict[str, dict[str, Any]]:
    return {r["request_id"]: r for r in request_records(directory)}


def test_records_carry_the_request_after_redaction_and_never_a_secret(fake_upstream, gateway_factory, tmp_path):
    audit_dir = tmp_path / "audit"
    gw = start(
        gateway_factory, fake_upstream.url, audit_dir, include_request=True, include_response=True, log_all_access=True
    )
    client = gw.client(api_key=GW_KEY)
    prompt = f"mail alice@example.com, my key is {UP_KEY} and {GW_KEY}"
    client.chat.completions.create(
        model="fake/model", messages=[{"role": "user", "content": prompt}], extra_headers={"x-request-id": "plain-1"}
    )
    stream = client.chat.completions.create(
        model="fake/model",
        messages=[{"role": "user", "content": "stream me"}],
        stream=True,
        extra_headers={"x-request-id": "stream-1"},
    )
    streamed = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model="fake/model",
            messages=[{"role": "user", "content": "forbidden"}],
            extra_headers={"x-request-id": "blocked-1"},
        )
    with pytest.raises(openai.AuthenticationError):
        gw.client(api_key="wrong-key-MARKER").models.list(extra_headers={"x-request-id": "unauth-1"})
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(
            model="no/such-model",
            messages=[{"role": "user", "content": "x"}],
            extra_headers={"x-request-id": "unknown-model-1"},
        )
    client.models.list(extra_headers={"x-request-id": "models-1"})
    gw.stop()

    records = by_id(audit_dir)
    plain = records["plain-1"]
    assert plain["type"] == "request"
    assert plain["status"] == 200 and plain["cancelled"] is False
    assert plain["pack"] == {"name": "audit-test", "version": "1.2.3"}
    assert plain["role"] == "developer"
    assert plain["key_id"].startswith("key_")
    assert plain["target"] == "fake" and plain["model"] == "fake/model"
    assert plain["endpoint"] == "/v1/chat/completions" and plain["stream"] is False
    assert plain["usage"]["total_tokens"] > 0 and plain["upstream_attempts"] == 1
    assert plain["latency_ms"] > 0
    # The body the upstream saw, after the redaction policy, and the answer built from it.
    sent = plain["request"]["messages"][0]["content"]
    assert "<EMAIL_ADDRESS>" in sent and "alice@example.com" not in sent
    assert "<EMAIL_ADDRESS>" in plain["response"]["choices"][0]["message"]["content"]
    assert plain["decisions"] == [
        {
            "policy": "test-redactor",
            "phase": "request",
            "action": "modify",
            "reason": "redacted",
            "details": {"EMAIL_ADDRESS": 1},
        }
    ]

    stream_record = records["stream-1"]
    assert stream_record["stream"] is True and stream_record["status"] == 200
    assert stream_record["response"] == {"text": streamed}
    assert stream_record["ttfb_ms"] is not None and stream_record["ttfb_ms"] <= stream_record["latency_ms"]

    blocked = records["blocked-1"]
    assert blocked["status"] == 400 and blocked["error"]["code"] == "policy_violation"
    assert blocked["decisions"][0]["action"] == "block" and blocked["decisions"][0]["details"] == {"terms": 1}
    assert "response" in blocked and blocked["response"] is None

    assert records["unauth-1"]["type"] == "access" and records["unauth-1"]["status"] == 401
    assert records["unauth-1"]["key_id"] is None
    assert records["unknown-model-1"]["type"] == "access" and records["unknown-model-1"]["status"] == 404
    assert records["models-1"]["type"] == "access" and records["models-1"]["endpoint"] == "/v1/models"

    everything = b"".join(p.read_bytes() for p in audit_dir.rglob("*") if p.is_file())
    assert b"MARKER" not in everything
    assert b"***" in everything  # the scrubbed secrets in the prompt


def test_without_log_all_access_only_requests_that_reached_the_chain_are_recorded(
    fake_upstream, gateway_factory, tmp_path
):
    audit_dir = tmp_path / "audit"
    gw = start(gateway_factory, fake_upstream.url, audit_dir, include_policy_decisions=False)
    client = gw.client(api_key=GW_KEY)
    client.chat.completions.create(
        model="fake/model",
        messages=[{"role": "user", "content": "alice@example.com"}],
        extra_headers={"x-request-id": "ok-1"},
    )
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model="fake/model",
            messages=[{"role": "user", "content": "forbidden"}],
            extra_headers={"x-request-id": "blocked-1"},
        )
    with pytest.raises(openai.AuthenticationError):
        gw.client(api_key="nope").chat.completions.create(model="fake/model", messages=[])
    client.models.list(extra_headers={"x-request-id": "models-1"})
    gw.stop()
    records = by_id(audit_dir)
    assert set(records) == {"ok-1", "blocked-1"}
    assert "decisions" not in records["ok-1"] and "request" not in records["ok-1"]
    assert "response" not in records["ok-1"]


def test_upstream_failures_and_cancelled_streams_still_get_their_record(gateway_factory, tmp_path):
    from keeptrust.demo import FakeOpenAI
    from keeptrust.testing import serve_app

    slow = FakeOpenAI(chunk_delay=0.05)
    server = serve_app(slow)
    try:
        audit_dir = tmp_path / "audit"
        gw = start(gateway_factory, server.url, audit_dir, target={"max_retries": 1, "timeout_seconds": 1})
        client = gw.client(api_key=GW_KEY)
        slow.fail_next(status=500)
        slow.fail_next(status=500)
        with pytest.raises(openai.APIStatusError):
            client.chat.completions.create(
                model="fake/model",
                messages=[{"role": "user", "content": "x"}],
                extra_headers={"x-request-id": "failed-1"},
            )
        slow.fail_next(delay=3)
        with pytest.raises(openai.APIStatusError):
            client.chat.completions.create(
                model="fake/model",
                messages=[{"role": "user", "content": "x"}],
                extra_headers={"x-request-id": "timed-out-1"},
            )
        # A client that leaves mid-stream: read one event, then close the connection.
        with httpx.Client(base_url=gw.url, timeout=30) as http:
            body = {
                "model": "fake/model",
                "stream": True,
                "messages": [{"role": "user", "content": " ".join(["word"] * 200)}],
            }
            headers = {"authorization": f"Bearer {GW_KEY}", "x-request-id": "cancelled-1"}
            with http.stream("POST", "/v1/chat/completions", json=body, headers=headers) as response:
                next(response.iter_lines())
        gw.stop()
    finally:
        server.stop()
    records = by_id(audit_dir)
    failed = records["failed-1"]
    assert failed["status"] >= 500 and failed["upstream_attempts"] == 2 and failed["error"]["code"]
    timed_out = records["timed-out-1"]
    assert timed_out["status"] == 504 and timed_out["error"]["code"]
    cancelled = records["cancelled-1"]
    assert cancelled["cancelled"] is True and cancelled["status"] == 499


def test_bad_audit_config_names_the_key(fake_upstream, gateway_factory, tmp_path):
    with pytest.raises(ConfigError) as err:
        start(gateway_factory, fake_upstream.url, tmp_path, destination="api")
    assert "policies.policy.audit-logger.endpoint" in str(err.value)
    assert "KEEPTRUST_AUDIT_API_URL" in str(err.value)
    with pytest.raises(ConfigError) as err:
        start(gateway_factory, fake_upstream.url, tmp_path, on_full="drop", fsycn="batch", sink={"path": 3})
    text = str(err.value)
    assert "policies.policy.audit-logger.on_full: expected one of block, drop_and_count" in text
    assert "policies.policy.audit-logger.fsycn: unknown key; did you mean 'fsync'?" in text
    with pytest.raises(ConfigError) as err:
        start(gateway_factory, fake_upstream.url, tmp_path, destination="sqlite", sink={"path": ["a"], "extra": 1})
    assert "policies.policy.audit-logger.sink.path: expected a string" in str(err.value)
    assert "policies.policy.audit-logger.sink.extra: unknown key" in str(err.value)
    with pytest.raises(ConfigError) as err:
        start(gateway_factory, fake_upstream.url, tmp_path, destination="nowhere")
    assert "policies.policy.audit-logger.destination: unknown audit sink 'nowhere'" in str(err.value)
    with pytest.raises(ConfigError) as err:
        start(gateway_factory, fake_upstream.url, tmp_path, durable_before_response=True, fsync="interval")
    assert "policies.policy.audit-logger.durable_before_response: needs fsync: batch or every_record" in str(err.value)
    with pytest.raises(ConfigError) as err:
        start(gateway_factory, fake_upstream.url, tmp_path, durable_before_response=True, on_full="drop_and_count")
    assert "durable_before_response: every answer waits for its record" in str(err.value)
    with pytest.raises(ConfigError) as err:
        start(gateway_factory, fake_upstream.url, tmp_path, signing_key_ref={"env": "NO_SUCH_AUDIT_KEY"})
    assert "policies.policy.audit-logger.signing_key_ref.env: environment variable NO_SUCH_AUDIT_KEY is not set" in str(
        err.value
    )
    with pytest.raises(ConfigError) as err:
        start(gateway_factory, fake_upstream.url, tmp_path, signing_key_id="2026-12")
    assert "policies.policy.audit-logger.signing_key_id: only used with signing_key_ref" in str(err.value)


def test_seed_keys_validate_and_api_without_endpoint_is_a_start_error(tmp_path):
    config = tmp_path / "seed.yaml"
    config.write_text(
        "pack: {name: seed, version: 1.0.0}\n"
        "providers: {targets: [{id: t, provider: openai, base_url: 'http://127.0.0.1:9/v1', model: m}]}\n"
        "policies:\n  chain: [audit-logger]\n  policy:\n    audit-logger:\n"
        "      immutable: true\n      retention_days: 365\n      log_all_access: true\n      destination: api\n"
        "      include_request: true\n      include_response: true\n      include_policy_decisions: true\n"
    )
    validated = kt("config", "validate", str(config))
    assert validated.returncode == 0, validated.stderr
    started = kt("gateway", "run", "--policy-config", str(config), "--listen", "127.0.0.1:0")
    assert started.returncode != 0
    assert "policies.policy.audit-logger.endpoint: required with destination: api" in started.stderr
    assert not read_chain_records(tmp_path)


def test_requests_refused_at_the_door_are_recorded_with_log_all_access(fake_upstream, gateway_factory, tmp_path):
    audit_dir = tmp_path / "audit"
    gw = start(gateway_factory, fake_upstream.url, audit_dir, log_all_access=True)
    chat = {"model": "fake/model", "messages": [{"role": "user", "content": "x"}]}
    huge = {f"x-filler-{i}": "y" * 200 for i in range(200)}  # over the header limit: 431
    assert httpx.post(gw.base_url + "/chat/completions", json=chat, headers=huge).status_code == 431
    assert (
        httpx.post(
            gw.base_url + "/chat/completions",
            content=b"{",
            headers={"authorization": f"Bearer {GW_KEY}", "content-type": "application/json"},
        ).status_code
        == 400
    )
    assert httpx.get(gw.url + "/admin").status_code == 404
    gw.stop()
    statuses = sorted(r["status"] for r in request_records(audit_dir) if r["type"] == "access")
    assert statuses == [400, 404, 431]

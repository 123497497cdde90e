"""What the audit log keeps has passed every redacting policy, whatever the chain order and whatever
happened to the request (refused earlier, unknown model, bad parameter, upstream failure, blocked by
the redacting policy itself, shadow mode)."""

from __future__ import annotations

import re
import sys
from typing import Any

import attrs
import httpx
import openai
import orjson
import pytest

from keeptrust import Block, Modify, Policy, PolicyConfig, hookimpl, request_texts, response_texts
from keeptrust.demo.upstream import Fault
from keeptrust.testing import openai_target

from .conftest import request_records

CARD = "4111 1111 1111 1111"
EMAIL = "kwame.mensah@example.org"
PROMPT = f"card {CARD}, mail {EMAIL}"
_PII = re.compile(r"\b\d{4} \d{4} \d{4} \d{4}\b|[\w.+-]+@[\w-]+\.[\w.]+")


def _scrub(text: str) -> str:
    return _PII.sub("<PII>", text)


@attrs.frozen(kw_only=True)
class RedactorConfig(PolicyConfig):
    action: str = "redact"  # redact | block


class Redactor(Policy):
    """A small stand-in for pii-detector: redacts (or blocks on) card numbers and e-mail addresses."""

    name = "test-pii"
    config_class = RedactorConfig

    async def _check(self, refs: Any) -> Any:
        hits = [r for r in refs if _PII.search(r.text)]
        if not hits:
            return None
        if self.config.action == "block":
            return Block("the request contains personal data", reason="pii")
        for ref in hits:
            ref.set(_scrub(ref.text))
        return Modify(reason="pii_redacted")

    async def on_request(self, ctx: Any) -> Any:
        return await self._check(request_texts(ctx.operation, ctx.body))

    async def on_response(self, ctx: Any, body: Any) -> Any:
        return await self._check(response_texts(ctx.operation, body))

    async def redact_for_record(self, ctx: Any, value: Any, phase: str) -> Any:
        # Every string, at any depth: a malformed body holds its text where no schema says.
        return orjson.loads(_scrub(orjson.dumps(value).decode()))


class Refuser(Policy):
    """Refuses every request that mentions 'refuse' (a stand-in for prompt-injection)."""

    name = "test-refuser"

    async def on_request(self, ctx: Any) -> Any:
        if any("refuse" in r.text for r in request_texts(ctx.operation, ctx.body)):
            return Block("refused", reason="refused")
        return None


@hookimpl
def register_policies(register: Any) -> None:
    register(Redactor)
    register(Refuser)


PLUGIN = sys.modules[__name__]

ORDERS = {
    "refuser-first": ["test-refuser", "test-pii", "audit-logger"],
    "redactor-first": ["test-pii", "test-refuser", "audit-logger"],
    "audit-first": ["audit-logger", "test-refuser", "test-pii"],
}


def _gateway(gateway_factory, fake_upstream, env, tmp_path, order, **pii):
    config = {
        "providers": {"targets": [openai_target(fake_upstream.url)]},
        "policies": {
            "chain": ORDERS[order],
            "policy": {
                "test-pii": pii,
                "audit-logger": {
                    "directory": str(tmp_path / "audit"),
                    "include_request": True,
                    "include_response": True,
                    "log_all_access": True,
                    "batch_max_delay_ms": 0,
                },
            },
        },
    }
    return gateway_factory(config, environ=env, extra_plugins=[PLUGIN])


def _outcomes(gw, fake_upstream) -> dict[str, int]:
    """Send one request per outcome; return the status each got."""
    client = gw.client()
    statuses: dict[str, int] = {}

    def attempt(name: str, call) -> None:
        try:
            call()
            statuses[name] = 200
        except openai.APIStatusError as exc:
            statuses[name] = exc.status_code

    def chat(content: str, **kw: Any):
        return lambda: client.chat.completions.create(
            messages=[{"role": "user", "content": content}], **{"model": "fake/model", **kw}
        )

    attempt("allowed", chat(PROMPT))
    attempt("streamed", lambda: list(chat(PROMPT, stream=True)()))
    attempt("refused-earlier", chat("please refuse: " + PROMPT))
    attempt("unknown-model", chat(PROMPT, model="no/such-model"))
    attempt("bad-parameter", chat(PROMPT, temperature="hot"))
    # A malformed body: the text is where no schema expects it.
    statuses["malformed"] = httpx.post(
        gw.base_url + "/chat/completions", json={"model": "fake/model", "messages": PROMPT}
    ).status_code
    fake_upstream.app.fail_next(Fault(status=422, body={"error": {"message": f"upstream echo: {PROMPT}"}}))
    attempt("upstream-failure", chat(PROMPT))
    return statuses


def _assert_clean(records: list[dict[str, Any]]) -> None:
    dumped = orjson.dumps(records).decode()
    assert CARD not in dumped and EMAIL not in dumped
    assert CARD.replace(" ", "") not in dumped


@pytest.mark.parametrize("order", sorted(ORDERS))
def test_every_outcome_is_recorded_redacted_whatever_the_chain_order(
    gateway_factory, fake_upstream, env, tmp_path, order
):
    gw = _gateway(gateway_factory, fake_upstream, env, tmp_path, order)
    statuses = _outcomes(gw, fake_upstream)
    gw.stop()
    assert statuses == {
        "allowed": 200,
        "streamed": 200,
        "refused-earlier": 400,
        "unknown-model": 404,
        "bad-parameter": 400,
        "malformed": 400,
        "upstream-failure": 400,
    }
    records = request_records(tmp_path / "audit")
    assert len(records) == len(statuses)
    _assert_clean(records)
    # Redacted, not dropped: the record still shows what was asked.
    requests = [orjson.dumps(r["request"]).decode() for r in records]
    assert all("card <PII>, mail <PII>" in text for text in requests), requests


def test_blocked_by_the_redactor_itself_and_shadow_mode_are_recorded_redacted(
    gateway_factory, fake_upstream, env, tmp_path
):
    blocking = _gateway(gateway_factory, fake_upstream, env, tmp_path / "block", "redactor-first", action="block")
    with pytest.raises(openai.BadRequestError):
        blocking.client().chat.completions.create(model="fake/model", messages=[{"role": "user", "content": PROMPT}])
    blocking.stop()
    shadow = _gateway(gateway_factory, fake_upstream, env, tmp_path / "shadow", "redactor-first", mode="shadow")
    answer = shadow.client().chat.completions.create(model="fake/model", messages=[{"role": "user", "content": PROMPT}])
    assert CARD in answer.choices[0].message.content  # shadow: traffic unchanged...
    list(
        shadow.client().chat.completions.create(
            model="fake/model", messages=[{"role": "user", "content": PROMPT}], stream=True
        )
    )
    shadow.stop()
    for sub in ("block", "shadow"):
        records = request_records(tmp_path / sub / "audit")
        assert records
        _assert_clean(records)  # ...but never the record


def test_a_failing_redaction_withholds_the_body(gateway_factory, fake_upstream, env, tmp_path, monkeypatch, caplog):
    async def broken(self, ctx, value, phase):
        raise ValueError(f"cannot parse {value}")

    monkeypatch.setattr(Redactor, "redact_for_record", broken)
    gw = _gateway(gateway_factory, fake_upstream, env, tmp_path, "refuser-first")
    with pytest.raises(openai.BadRequestError):
        gw.client().chat.completions.create(
            model="fake/model", messages=[{"role": "user", "content": "refuse " + PROMPT}]
        )
    gw.stop()
    (record,) = request_records(tmp_path / "audit")
    assert record["request"] == {"withheld": "redaction by test-pii failed"}
    _assert_clean([record])
    assert CARD not in caplog.text and "failed to redact the request" in caplog.text


def test_nothing_is_redacted_twice_or_when_no_body_is_kept(gateway_factory, fake_upstream, env, tmp_path, monkeypatch):
    calls: list[str] = []
    original = Redactor.redact_for_record

    async def counting(self, ctx, value, phase):
        calls.append(phase)
        return await original(self, ctx, value, phase)

    monkeypatch.setattr(Redactor, "redact_for_record", counting)
    gw = _gateway(gateway_factory, fake_upstream, env, tmp_path, "redactor-first")
    gw.client().chat.completions.create(model="fake/model", messages=[{"role": "user", "content": PROMPT}])
    gw.stop()
    assert calls == []  # the request and the answer both went through the policy itself
    config = {
        "providers": {"targets": [openai_target(fake_upstream.url)]},
        "policies": {
            "chain": ["test-refuser", "test-pii", "audit-logger"],
            "policy": {"audit-logger": {"directory": str(tmp_path / "bare")}},
        },
    }
    bare = gateway_factory(config, environ=env, extra_plugins=[PLUGIN])
    with pytest.raises(openai.BadRequestError):
        bare.client().chat.completions.create(model="fake/model", messages=[{"role": "user", "content": "refuse"}])
    bare.stop()
    assert calls == ["response"]  # no body in the record: only the error message is passed through

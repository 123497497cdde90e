"""Audit records and log lines carry entity types and counts, never the values."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from keeptrust.demo import FakeOpenAI
from keeptrust.testing import openai_target

VALUES = ("Kwame", "Mensah", "kwame.mensah@example.org", "4111 1111 1111 1111", "7946", "Maria", "maria.garcia")
REPLY = "Sure, I will copy Maria Garcia (maria.garcia@example.com) on it."
PROMPT = "I am Kwame Mensah, kwame.mensah@example.org, card 4111 1111 1111 1111, phone +44 20 7946 0958."


def _records(directory: Path) -> list[dict[str, Any]]:
    out = []
    for path in sorted(directory.rglob("*")):
        if path.is_file() and path.suffix in (".jsonl", ".json", ""):
            for line in path.read_bytes().splitlines():
                try:
                    record = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                if isinstance(record, dict) and "decisions" in record:
                    out.append(record)
    return out


def test_audit_and_logs_hold_types_and_counts_only(
    serve: Any, gateway_factory: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    upstream = serve(FakeOpenAI(reply=REPLY))
    gw = gateway_factory(
        {
            "providers": {"targets": [openai_target(upstream.url)]},
            "policies": {
                "chain": ["pii-detector", "audit-logger"],
                "policy": {
                    "pii-detector": {"action": "redact"},
                    "audit-logger": {
                        "directory": str(tmp_path),
                        "include_request": True,
                        "include_response": True,
                        "include_policy_decisions": True,
                    },
                },
            },
        }
    )
    caplog.set_level(logging.DEBUG, logger="keeptrust")
    client = gw.client()
    client.chat.completions.create(model="fake/model", messages=[{"role": "user", "content": PROMPT}])
    list(
        client.chat.completions.create(model="fake/model", stream=True, messages=[{"role": "user", "content": PROMPT}])
    )
    gw.stop()  # the writer drains its queue on shutdown

    records = _records(tmp_path)
    assert len(records) == 2
    dumped = orjson.dumps(records).decode()
    for value in VALUES:
        # As a token: the records' hashes and ids are hex, and one holds "7946" now and then.
        leaked = re.compile(rf"(?<![0-9A-Za-z]){re.escape(value)}(?![0-9A-Za-z])")
        assert not leaked.search(dumped), value
        assert not leaked.search(caplog.text), value
    decisions = [d for r in records for d in r["decisions"] if d["policy"] == "pii-detector"]
    request = next(d for d in decisions if d["phase"] == "request")
    assert request["details"]["entities"] == {"CREDIT_CARD": 1, "EMAIL_ADDRESS": 1, "PERSON": 1, "PHONE_NUMBER": 1}
    answers = {d["phase"]: d for d in decisions if d["phase"] in ("response", "stream")}
    for phase in ("response", "stream"):
        assert answers[phase]["action"] == "modify"
        assert answers[phase]["details"]["entities"] == {"EMAIL_ADDRESS": 1, "PERSON": 1}
    assert "pii-detector: CREDIT_CARD (1), EMAIL_ADDRESS (1), PERSON (1), PHONE_NUMBER (1)" in caplog.text

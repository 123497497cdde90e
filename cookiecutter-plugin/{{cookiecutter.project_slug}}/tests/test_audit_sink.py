"""The audit sink, alone and behind keeptrust's audit-logger in a real gateway on loopback driven
with the openai client. The fixtures come from keeptrust's pytest plugin."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from keeptrust.plugins import load_registry
from keeptrust.testing import openai_target

NAME = "{{ cookiecutter.__name }}"


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_entry_point_registers_the_sink() -> None:
    registry = load_registry()
    assert NAME in registry.audit_sinks
    assert registry.plugins[NAME].distribution == "{{ cookiecutter.project_slug }}"


async def test_batches_are_appended_as_json_lines(tmp_path: Path) -> None:
    cls = load_registry().audit_sinks[NAME]
    path = tmp_path / "logs" / "audit.jsonl"
    sink = cls(cls.config_class(path=str(path)), None)
    await sink.write([{"request_id": "a", "status": 200}, {"request_id": "b", "status": 400}])
    await sink.write([{"request_id": "c", "status": 200}])
    await sink.aclose()
    assert [r["request_id"] for r in read(path)] == ["a", "b", "c"]


def test_the_gateway_audits_requests_through_the_sink(fake_upstream: Any, gateway_factory: Any, tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    config = {
        "providers": {"targets": [openai_target(fake_upstream.url)]},
        "policies": {
            "chain": ["audit-logger"],
            "policy": {"audit-logger": {"destination": NAME, "sink": {"path": str(path)}}},
        },
    }
    gateway = gateway_factory(config)
    client = gateway.client()
    client.chat.completions.create(model="fake/model", messages=[{"role": "user", "content": "hi"}])
    gateway.stop()  # shutting down flushes the audit writer
    # The audit writer also records the start of its chain; the request is the record with an endpoint.
    requests = [record for record in read(path) if record.get("endpoint") == "/v1/chat/completions"]
    assert len(requests) == 1
    assert requests[0]["model"] == "fake/model"

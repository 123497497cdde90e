"""Fixtures of keeptrust-guard's tests: gateway configs with the guard policies, and the decisions
the audit trail recorded. (Fixtures, not a helper module: tests are imported with importlib mode.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from keeptrust.testing import openai_target


def config(upstream_url: str, policies: dict[str, dict[str, Any]], audit_dir: Path | None = None) -> dict[str, Any]:
    chain = list(policies)
    blocks = dict(policies)
    if audit_dir is not None:
        chain.append("audit-logger")
        blocks["audit-logger"] = {"directory": str(audit_dir), "immutable": False, "include_policy_decisions": True}
    return {"providers": {"targets": [openai_target(upstream_url)]}, "policies": {"chain": chain, "policy": blocks}}


def audit_records(audit_dir: Path) -> list[dict[str, Any]]:
    records = []
    for path in sorted(audit_dir.rglob("*.jsonl")):
        for line in path.read_text().splitlines():
            if line.strip():
                records.append(json.loads(line))
    return records


def decisions(audit_dir: Path) -> list[dict[str, Any]]:
    return [d for r in audit_records(audit_dir) for d in r.get("decisions") or []]


@pytest.fixture
def guard_config():
    """``guard_config(upstream_url, {policy: block, ...}, audit_dir=None)`` → a gateway config dict."""
    return config


@pytest.fixture
def audit_decisions():
    """``audit_decisions(audit_dir)`` → every decision of every audit record (after the gateway stopped)."""
    return decisions

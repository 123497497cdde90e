"""What a detector is given and what it answers: the interface between the policies and the
detectors (the built-in ``heuristic`` one, ``huggingface``, or a third party's)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Literal, Protocol

import attrs

Task = Literal["prompt_injection", "content"]


@attrs.frozen
class Segment:
    """One text to check, with the role of the message it came from and its path in the body."""

    text: str
    role: str = "user"
    where: str = ""


@attrs.frozen
class Finding:
    """A category's score for the riskiest segment (of its role: a detector keeps one finding per
    category and role, as ``merge`` does). ``signals`` name what fired, never the text."""

    category: str
    score: float
    signals: tuple[str, ...] = ()
    family: str = ""
    where: str = ""
    role: str = ""


@attrs.frozen
class Detection:
    """A detector's answer. ``error`` is set when it could not decide (timeout, upstream error):
    the policy then applies its fail-open or fail-closed choice."""

    findings: tuple[Finding, ...] = ()
    error: str | None = None

    def best(self, category: str) -> Finding | None:
        got = [f for f in self.findings if f.category == category]
        return max(got, key=lambda f: f.score) if got else None


@attrs.frozen
class DetectorSetup:
    """What a policy tells its detector at start-up."""

    policy: str
    task: Task
    categories: tuple[str, ...]
    logger: logging.Logger
    path: str  # the config path of the detector options, for error messages


class Detector(Protocol):
    """A detector class registered through ``register_guard_detectors``.

    ``name`` is the value of a policy's ``detector:`` key and ``config_class`` a frozen attrs class
    (kw_only) into which ``detector_options`` is structured.
    """

    name: ClassVar[str]
    config_class: ClassVar[type]

    async def detect(self, segments: Sequence[Segment]) -> Detection: ...

    def stream_scanner(self) -> Callable[[str], Detection] | None:
        """A synchronous scanner for stream filters, or None when the detector cannot scan without
        awaiting (the policy then falls back to the built-in heuristics mid-stream)."""
        ...

    async def aclose(self) -> None: ...


def merge(detections: Sequence[Detection]) -> Detection:
    """Keep the highest score per category and role (a policy may hold the roles to different
    thresholds: ``role_sensitivity``); the first error wins."""
    best: dict[tuple[str, str], Finding] = {}
    error = None
    for d in detections:
        error = error or d.error
        for f in d.findings:
            key = (f.category, f.role)
            if key not in best or f.score > best[key].score:
                best[key] = f
    return Detection(tuple(best.values()), error)


def details(finding: Finding, detector: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The audit-record details of a finding: category, score, signals and where, never the text."""
    out: dict[str, Any] = {"category": finding.category, "score": round(finding.score, 3), "detector": detector}
    if finding.family:
        out["family"] = finding.family
    if finding.signals:
        out["signals"] = list(finding.signals[:8])
    if finding.role:
        out["role"] = finding.role
    if finding.where:
        out["where"] = finding.where
    out.update(extra or {})
    return out

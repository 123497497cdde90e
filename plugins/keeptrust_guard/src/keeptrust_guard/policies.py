"""The three policies: ``prompt-injection``, ``safety-filter`` and ``content-filter``.

They share one shape: collect the texts of the request (by role) or of the answer, ask the
configured detector, and turn the strongest finding over the threshold into ``Block`` (400
``policy_violation`` naming the policy and category) or ``Flag``. Decisions carry category, score,
signal names and the text's path, never the text. ``mode: shadow`` is handled by the core.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from keeptrust import (
    Allow,
    Block,
    Decision,
    DecisionRecord,
    Flag,
    Policy,
    PolicyEnv,
    RequestContext,
    StreamBlocked,
    request_texts,
    response_texts,
)
from keeptrust.config.structure import structure
from keeptrust.contract import ConfigCheck
from keeptrust.errors import ConfigError
from keeptrust_guard.config import ContentFilterConfig, GuardConfig, PromptInjectionConfig, SafetyFilterConfig
from keeptrust_guard.detection import Detection, DetectorSetup, Finding, Segment, Task, details
from keeptrust_guard.heuristic import HeuristicDetector, HeuristicOptions
from keeptrust_guard.registry import detector_classes
from keeptrust_guard.streaming import GuardStreamFilter

# Request texts outside messages, named for the client (keeptrust.texts roles).
_PLACES = {"tools": "a tool definition", "response_format": "the output schema"}
_PHASE_WORD = {"request": "request", "response": "answer", "stream": "answer"}


class GuardPolicy(Policy):
    """Common behaviour; subclasses set ``name``, ``config_class`` and ``task`` and choose their
    categories in ``select_categories``."""

    distribution: ClassVar[str | None] = "keeptrust-guard"
    task: ClassVar[Task]

    def __init__(self, config: GuardConfig, env: PolicyEnv) -> None:
        super().__init__(config, env)
        self.config: GuardConfig = config
        self.categories = self.select_categories(config)
        if not self.categories:
            env.logger.warning("policy '%s' checks no category with this config; it allows everything", self.name)
        path = f"policies.policy.{self.name}"
        setup = DetectorSetup(self.name, self.task, self.categories, env.logger, f"{path}.detector_options")
        classes = detector_classes(env.registry)
        cls = classes.get(config.detector)
        if cls is None:
            raise ConfigError(f"{path}.detector: expected one of {', '.join(sorted(classes))}; "
                              f"got {config.detector!r}")
        options = structure(config.detector_options, cls.config_class, f"{path}.detector_options")
        self.detector = cls(options, setup)
        scanner = self.detector.stream_scanner()
        self._stream_detector = config.detector if scanner is not None else "heuristic"
        if scanner is None:
            # A detector that must await (a remote model) cannot run inside a stream filter; the
            # offline heuristics check streamed answers instead.
            scanner = HeuristicDetector(HeuristicOptions(), setup).stream_scanner()
        self._stream_scan: Callable[[str], Detection] = scanner

    @classmethod
    def check_config(cls, config: GuardConfig, check: ConfigCheck) -> list[str]:
        """``kt config validate``: the detector exists and its options are valid, without starting it."""
        classes = detector_classes(check.registry)
        detector = classes.get(config.detector)
        if detector is None:
            return [f"detector: expected one of {', '.join(sorted(classes))}; got {config.detector!r}"]
        try:
            structure(config.detector_options, detector.config_class, "detector_options")
        except ConfigError as exc:
            return list(exc.errors)
        return []

    def select_categories(self, config: Any) -> tuple[str, ...]:
        raise NotImplementedError

    # -- deciding
    def _over(self, detection: Detection) -> Finding | None:
        threshold = self.config.threshold_for
        hits = [f for f in detection.findings if f.category in self.categories and f.score >= threshold(f.role)]
        return max(hits, key=lambda f: f.score) if hits else None

    def _message(self, finding: Finding, phase: str) -> str:
        place = _PLACES.get(finding.role, f"a {finding.role} message")
        where = f" in {place}" if finding.role and phase == "request" else ""
        return (f"The {_PHASE_WORD[phase]} was blocked by policy '{self.name}': {finding.category} detected{where} "
                f"(score {finding.score:.2f}).")

    def _decide(self, detection: Detection, phase: str) -> Decision | None:
        if detection.error is not None:
            return self._on_error(detection.error, phase)
        finding = self._over(detection)
        if finding is None:
            return None
        info = details(finding, self.config.detector, {"threshold": self.config.threshold_for(finding.role)})
        if self.config.action == "block":
            return Block(self._message(finding, phase), reason=finding.category, details=info)
        return Flag(reason=finding.category, details=info)

    def _on_error(self, error: str, phase: str) -> Decision:
        fail_closed = getattr(self.detector.config, "fail_mode", "open") == "closed"
        info = {"detector": self.config.detector, "error": error, "fail_mode": "closed" if fail_closed else "open"}
        if fail_closed:
            return Block(f"The {_PHASE_WORD[phase]} could not be checked by policy '{self.name}' "
                         f"(detector unavailable) and was refused.", reason="detector_unavailable",
                         status=503, code="guard_unavailable", details=info)
        return Allow(reason="detector_unavailable", details=info)

    # -- the phases
    async def on_request(self, ctx: RequestContext) -> Decision | None:
        if "request" not in self.config.apply_to or not self.categories:
            return None
        roles = self.config.roles
        segments = [Segment(t.text, t.role, t.where) for t in request_texts(ctx.operation, ctx.body)
                    if t.role in roles and t.text]
        if not segments:
            return None
        return self._decide(await self.detector.detect(segments), "request")

    async def on_response(self, ctx: RequestContext, body: Any) -> Decision | None:
        if "response" not in self.config.apply_to or not self.categories:
            return None
        segments = [Segment(t.text, t.role, t.where) for t in response_texts(ctx.operation, body) if t.text]
        if not segments:
            return None
        return self._decide(await self.detector.detect(segments), "response")

    def stream_filter(self, ctx: RequestContext) -> GuardStreamFilter | None:
        if "response" not in self.config.apply_to or not self.categories:
            return None
        flagged: set[str] = set()
        shadow = self.config.mode == "shadow"

        def check(detection: Detection) -> None:
            finding = self._over(detection)
            if finding is None:
                return
            info = details(finding, self._stream_detector, {"threshold": self.config.threshold_for(finding.role)})
            if self.config.action == "block":
                raise StreamBlocked(self._message(finding, "stream"), finding.category, info)
            if finding.category not in flagged:
                # Stream filters return text, not decisions: a flag is recorded here, once per category.
                flagged.add(finding.category)
                ctx.decisions.append(DecisionRecord(self.name, "stream", "flag", finding.category,
                                                    "shadow" if shadow else "enforce", info))

        return GuardStreamFilter(self._stream_scan, check)

    async def aclose(self) -> None:
        await self.detector.aclose()


class PromptInjectionPolicy(GuardPolicy):
    """Injection and jailbreak attempts in user turns, tool results and pasted documents."""

    name: ClassVar[str] = "prompt-injection"
    config_class: ClassVar[type] = PromptInjectionConfig
    task: ClassVar[Task] = "prompt_injection"

    def select_categories(self, config: Any) -> tuple[str, ...]:
        return ("prompt_injection",)


class SafetyFilterPolicy(GuardPolicy):
    """Toxicity (insults, profanity aimed at someone, threats, identity attacks), optionally self-harm."""

    name: ClassVar[str] = "safety-filter"
    config_class: ClassVar[type] = SafetyFilterConfig
    task: ClassVar[Task] = "content"

    def select_categories(self, config: Any) -> tuple[str, ...]:
        return tuple(c for c, on in (("toxicity", config.check_toxicity), ("self_harm", config.check_self_harm)) if on)


class ContentFilterPolicy(GuardPolicy):
    """The configured content categories: hate speech, harassment, self-harm, sexual, violence, toxicity."""

    name: ClassVar[str] = "content-filter"
    config_class: ClassVar[type] = ContentFilterConfig
    task: ClassVar[Task] = "content"

    def select_categories(self, config: Any) -> tuple[str, ...]:
        return tuple(dict.fromkeys(config.categories))


POLICIES = (PromptInjectionPolicy, SafetyFilterPolicy, ContentFilterPolicy)

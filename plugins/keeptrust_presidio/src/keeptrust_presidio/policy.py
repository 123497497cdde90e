"""Policy ``pii-detector``: find personal data in what users send and what models answer, and
redact, mask or block it."""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import trio

from keeptrust import (
    Allow,
    Block,
    Decision,
    DecisionRecord,
    Modify,
    Policy,
    PolicyEnv,
    RequestContext,
    TextRef,
    request_texts,
    response_texts,
)
from keeptrust.contract import ConfigCheck
from keeptrust.distributions import install_command
from keeptrust.errors import ConfigError
from keeptrust_presidio.coalesce import Coalescer
from keeptrust_presidio.config import PiiDetectorConfig, config_errors
from keeptrust_presidio.mentions import NameMemory
from keeptrust_presidio.stream import PiiStreamFilter

if TYPE_CHECKING:
    from keeptrust_presidio.analysis import Found
    from keeptrust_presidio.redaction import Rewriter

NAME = "pii-detector"
# What the audit record keeps of a text too large to check within the analysis budget.
WITHHELD = "[withheld: too large to check for personal data]"
# Characters above which an analysis counts as large (some 0.2 s of CPU and more).
LARGE = 8000
# Characters up to which a request's texts are short: analysed with other requests' (coalesce.py).
# One segment (analysis.SEGMENT): within one budget check, so a batch needs no budget of its own.
SHORT = 2000
# ``Detector.analyze``'s batch: every segment of the texts in one spaCy call.
ONE_CALL = 1_000_000


def usable_cores() -> int:
    """The CPUs this process may run on (a container's or ``taskset``'s share, not the machine's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def describe(counts: Counter[str]) -> str:
    """``EMAIL_ADDRESS (1), PERSON (2)``: types and counts, never values."""
    return ", ".join(f"{entity} ({n})" for entity, n in sorted(counts.items()))


class PiiDetectorPolicy(Policy):
    name = NAME
    config_class = PiiDetectorConfig
    distribution = "keeptrust-presidio"

    @classmethod
    def check_config(cls, config: PiiDetectorConfig, check: ConfigCheck) -> list[str]:
        return config_errors(config)

    def __init__(self, config: PiiDetectorConfig, env: PolicyEnv) -> None:
        super().__init__(config, env)
        from keeptrust_presidio.analysis import Detector
        from keeptrust_presidio.cache import AnalysisCache
        from keeptrust_presidio.nlp import ModelUnavailable

        try:
            self.detector = Detector(config)
            from presidio_anonymizer import AnonymizerEngine
        except ImportError as exc:  # a missing Presidio is found here, not at plugin import
            raise ModelUnavailable(
                f"pii-detector needs Microsoft Presidio ({exc}): {install_command('keeptrust-presidio')}"
            ) from exc
        errors = config_errors(config, self.detector.known_entities)
        if errors:
            raise ConfigError([f"policies.policy.{NAME}.{e}" for e in errors])
        self.detector.warm_up()
        self.remote_ner = None
        if config.ner is not None:
            from keeptrust_presidio.hf_ner import RemoteNer

            self.remote_ner = RemoteNer(
                config.ner, self.detector.entities, config.score_threshold, f"policies.policy.{NAME}.ner", env.logger
            )
        self.anonymizer = AnonymizerEngine()
        self.cache = AnalysisCache(config.cache_size)
        # Stream windows rarely repeat in real traffic; a cache of their own keeps them from
        # evicting system prompts from the main one.
        self.window_cache = AnalysisCache(min(config.cache_size, 256))
        # spaCy and the regex engine release the GIL for part of their work; more threads than
        # cores would only queue inside the process (and split the batches of coalesce.py).
        cores = usable_cores()
        self.limiter = trio.CapacityLimiter(cores)
        # Large texts (long prompts, retrieval context, hostile megabytes) get fewer threads than
        # there are cores, so they never hold every slot and ordinary requests keep their latency.
        self.large_limiter = trio.CapacityLimiter(max(1, cores - 1))
        # Short texts of concurrent requests share a thread call and a spaCy batch (coalesce.py).
        self.coalescer: Coalescer[list[Found]] = Coalescer(self._analyze_short, self.limiter, LARGE)
        self.apply_request = "request" in config.apply_to
        self.apply_response = "response" in config.apply_to
        self.roles = frozenset(config.roles)
        env.logger.info(
            "pii-detector ready: model %s, entities %s, action %s%s",
            config.nlp_model,
            ",".join(self.detector.entities),
            config.action,
            "" if self.detector.uses_ner else " (pattern recognizers only, no NER pass)",
        )

    # -- analysis, off the event loop
    def _analyze_short(self, texts: list[str]) -> list[list[Found]]:
        """A batch of short texts (in a worker thread): one spaCy call for all of them, no budget."""
        return self.detector.analyze(texts, None, batch=ONE_CALL)

    async def _in_thread(self, texts: list[str]) -> list[list[Found]]:
        """``Detector.analyze`` in a worker thread, abandoned when this task is cancelled (the client
        went away, the server is stopping): the thread sees the flag at its next batch and stops, and
        holds its limiter slot until then, so abandoned work never crowds out other requests."""
        from keeptrust_presidio.analysis import Budget

        budget = Budget(self.config.analysis_budget_seconds or None)
        limiter = self.large_limiter if sum(map(len, texts)) > LARGE else self.limiter
        try:
            return await trio.to_thread.run_sync(
                self.detector.analyze, texts, budget, limiter=limiter, abandon_on_cancel=True
            )
        except trio.Cancelled:
            budget.cancel()
            raise

    async def analyze(self, texts: Sequence[str]) -> list[tuple[Found, ...]]:
        """Entities in each text. Identical texts are analysed once; known ones come from the cache;
        the rest go to a worker thread together, so spaCy sees one batch per request.

        Raises ``BudgetExceeded`` when the analysis runs out of its CPU budget."""
        return (await self.analyze_with_status(texts))[0]

    async def analyze_with_status(self, texts: Sequence[str]) -> tuple[list[tuple[Found, ...]], str | None]:
        """``analyze``, and why the hosted NER model (``ner``) did not answer, when it did not: the
        results are then Presidio's alone, and are not cached."""
        known: dict[str, tuple[Found, ...]] = {}
        todo: list[str] = []
        for text in dict.fromkeys(texts):
            hit = self.cache.get(text)
            if hit is not None:
                known[text] = hit
            else:
                todo.append(text)
        unavailable = None
        if todo:
            if self.remote_ner is None and sum(map(len, todo)) <= SHORT:
                fresh = await self.coalescer.analyze(todo)
            elif self.remote_ner is None:
                fresh = await self._in_thread(todo)
            else:
                fresh, unavailable = await self._with_remote_ner(todo)
            for text, found in zip(todo, fresh, strict=True):
                if unavailable is None:
                    self.cache.put(text, found)
                known[text] = tuple(found)
        return [known[t] for t in texts], unavailable

    async def _with_remote_ner(self, texts: list[str]) -> tuple[list[list[Found]], str | None]:
        """Presidio in a worker thread and the hosted model over HTTP at the same time, merged."""
        from keeptrust_presidio.hf_ner import NerUnavailable, merge

        assert self.remote_ner is not None
        remote: list[list[Found]] | None = None
        unavailable: str | None = None
        local: list[list[Found]] = []
        failure: BaseException | None = None

        async def ask_model() -> None:
            nonlocal remote, unavailable
            try:
                remote = await self.remote_ner.find(texts)
            except NerUnavailable as exc:
                unavailable = str(exc)

        async def run_local() -> None:
            nonlocal local, failure
            try:
                local = await self._in_thread(texts)
            except Exception as exc:  # BudgetExceeded: raised below, outside the nursery's group
                failure = exc

        async with trio.open_nursery() as nursery:
            nursery.start_soon(ask_model)
            nursery.start_soon(run_local)
        if failure is not None:
            raise failure
        if remote is None:
            self.env.logger.warning(
                "pii-detector: the NER model %s did not answer (%s); fail-%s",
                self.config.ner.model if self.config.ner else "?",
                unavailable,
                self.config.ner.fail_mode if self.config.ner else "open",
            )
            return local, unavailable
        return [merge(lo, re) for lo, re in zip(local, remote, strict=True)], None

    async def analyze_window(self, text: str) -> list[Found]:
        """One stream window, in a worker thread like every other analysis."""
        hit = self.window_cache.get(text)
        if hit is not None:
            return list(hit)
        found = (await self._in_thread([text]))[0]
        self.window_cache.put(text, found)
        return found

    def _rewriter(self, ctx: RequestContext) -> Rewriter:
        from keeptrust_presidio.redaction import Rewriter

        rewriter = ctx.extra.get(NAME)
        if rewriter is None:
            action = "mask" if self.config.action == "mask" else "redact"
            rewriter = Rewriter(self.anonymizer, action, self.config.placeholder, self.config.mask_char)
            ctx.extra[NAME] = rewriter
        return rewriter

    async def _check(self, ctx: RequestContext, refs: list[TextRef], phase: str) -> Decision | None:
        refs = [r for r in refs if r.text.strip()]
        if not refs:
            return None
        from keeptrust_presidio.analysis import BudgetExceeded

        over_budget: BudgetExceeded | None = None
        unavailable: str | None = None
        try:
            found, unavailable = await self.analyze_with_status([r.text for r in refs])
        except BudgetExceeded as exc:
            over_budget = exc
            found = [tuple(fs) for fs in exc.found]
        if unavailable is not None and self.config.ner is not None and self.config.ner.fail_mode == "closed":
            return Block(
                "personal data could not be checked: the NER model did not answer; try again shortly",
                reason="ner_unavailable",
                status=503,
                code="pii_ner_unavailable",
                details={"ner": unavailable},
            )
        counts = Counter(f.entity for fs in found for f in fs)
        if over_budget is not None:
            details = {
                "budget_seconds": over_budget.seconds,
                "analysed": round(over_budget.done, 3),
                "entities": dict(sorted(counts.items())),
            }
            self.env.logger.warning(
                "pii-detector: analysis of the %s of %s ran out of its budget (%g s of CPU) after %.0f%% of the text",
                phase,
                ctx.request_id,
                over_budget.seconds,
                over_budget.done * 100,
            )
            if self.config.on_budget_exceeded == "block":
                what = "request" if phase == "request" else "answer"
                return Block(
                    f"the {what} was blocked: it is too large to check for personal data within the analysis "
                    f"budget ({over_budget.seconds:g} s)",
                    reason="analysis_budget_exceeded",
                    status=413 if phase == "request" else 400,
                    details=details,
                )
            self._redact(ctx, refs, found)
            return Allow(reason="analysis_budget_exceeded", details=details)
        if not counts:
            # Fail-open: the audit record says the model's part of the check did not happen.
            return None if unavailable is None else Allow(reason="ner_unavailable", details={"ner": unavailable})
        details: dict[str, Any] = {"entities": dict(sorted(counts.items())), "count": sum(counts.values())}
        if unavailable is not None:
            details["ner"] = unavailable
        if self.env.logger.isEnabledFor(logging.DEBUG):  # describe() would run for every request
            self.env.logger.debug("pii-detector: %s in the %s of %s", describe(counts), phase, ctx.request_id)
        if self.config.action == "block":
            what = "request" if phase == "request" else "answer"
            return Block(
                f"the {what} was blocked: it contains personal data: {describe(counts)}",
                reason="pii_detected",
                details=details,
            )
        self._redact(ctx, refs, found)
        return Modify(reason=f"pii_{'masked' if self.config.action == 'mask' else 'redacted'}", details=details)

    def _redact(self, ctx: RequestContext, refs: list[TextRef], found: Sequence[Sequence[Found]]) -> None:
        rewriter = self._rewriter(ctx)
        for ref, fs in zip(refs, found, strict=True):
            if fs:
                ref.set(rewriter.rewrite(ref.text, fs))

    # -- the policy interface
    async def on_request(self, ctx: RequestContext) -> Decision | None:
        if not self.apply_request:
            return None
        roles = self.roles
        return await self._check(ctx, [t for t in request_texts(ctx.operation, ctx.body) if t.role in roles], "request")

    async def on_response(self, ctx: RequestContext, body: Any) -> Decision | None:
        if not self.apply_response:
            return None
        return await self._check(ctx, response_texts(ctx.operation, body), "answer")

    async def redact_for_record(self, ctx: RequestContext, value: Any, phase: str) -> Any:
        """What the audit log keeps of a body this policy did not redact on the way (refused before it
        ran, blocked by it, shadow mode, an upstream error): every string in it, whatever the field,
        redacted as ``action: redact`` (``mask`` when that is the action) would; no decision is made."""
        if not (self.apply_request if phase == "request" else self.apply_response):
            return value
        holder = [value]
        refs = [r for r in _strings(holder, 0) if r.text.strip()]
        if refs:
            from keeptrust_presidio.analysis import BudgetExceeded

            try:
                found = await self.analyze([r.text for r in refs])
            except BudgetExceeded:
                # Too large to check within the budget: the record keeps none of its text.
                for ref in refs:
                    ref.set(WITHHELD)
                return holder[0]
            rewriter = self._rewriter(ctx)
            for ref, fs in zip(refs, found, strict=True):
                if fs:
                    ref.set(rewriter.rewrite(ref.text, fs))
        return holder[0]

    async def aclose(self) -> None:
        if self.remote_ner is not None:
            await self.remote_ner.aclose()

    def stream_filter(self, ctx: RequestContext) -> PiiStreamFilter | None:
        if not self.apply_response:
            return None
        rewriter = self._rewriter(ctx)

        def record(counts: Counter[str]) -> None:
            ctx.decisions.append(
                DecisionRecord(
                    NAME,
                    "stream",
                    "modify",
                    f"pii_{'masked' if self.config.action == 'mask' else 'redacted'}",
                    self.config.mode,
                    {"entities": dict(sorted(counts.items())), "count": sum(counts.values())},
                )
            )

        names = NameMemory(self.detector.names) if "PERSON" in self.detector.entities else None
        return PiiStreamFilter(
            self.analyze_window,
            rewriter.rewrite,
            self.config.stream_holdback,
            self.config.action == "block",
            record,
            names,
        )


def _strings(container: Any, key: Any) -> list[TextRef]:
    """Every string under ``container[key]``, at any depth (dict values and list items; keys stay)."""
    out: list[TextRef] = []
    stack = [(container, key)]
    while stack:
        parent, k = stack.pop()
        value = parent[k]
        if isinstance(value, str):
            out.append(TextRef(parent, k, "", ""))
        elif isinstance(value, dict):
            stack.extend((value, name) for name in value)
        elif isinstance(value, list):
            stack.extend((value, i) for i in range(len(value)))
    return out

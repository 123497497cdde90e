"""``detector: ensemble`` (the default) and ``detector: classifier``: the trained classifiers of
``classifiers.py``, alone or beside the heuristics.

The ensemble scores each text with both and keeps the higher score per category: the heuristics
read obfuscation, encodings, roles and pasted documents, which a bag-of-words model cannot; the
model reads paraphrases that no curated pattern lists. Both are linear in the text and cost tens to
hundreds of microseconds a message (``benchmarks/bench_detectors.py``), so every text goes through
both: the model's gain is on exactly the texts the heuristics clear, which a cascade would skip.

Content: two models. The toxicity head (``toxicity_head.py``, trained on third-party sets) scores
every category (``toxicity``, ``hate_speech``, ``harassment``, ``violence``, ``self_harm``,
``sexual``). alt-profanity-check gives one probability of offensive language, calibrated on the
same benign rows as the head; it counts for ``toxicity``, and for ``hate_speech`` when the text
names an identity group or uses a slur or the head finds hate likelier than harassment, for
``harassment`` otherwise. The models' scores are damped by the context the heuristics read
(``content_context.py``: quotation, negation, academic discussion, help-seeking). Each category
keeps the highest of the heuristics' and models' scores.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import ClassVar

import attrs
import trio

from keeptrust_guard import lexicon
from keeptrust_guard.classifiers import InjectionHead, ScoreScale, ToxicityModel
from keeptrust_guard.content_context import damping
from keeptrust_guard.detection import Detection, DetectorSetup, Finding, Segment, merge
from keeptrust_guard.heuristic import HeuristicDetector, HeuristicOptions, OfflineDetector
from keeptrust_guard.toxicity_head import ToxicityHead

# Texts are cut to this many characters for the models (the heuristics see all of it).
MODEL_CHARS = 8_192
# The lowest policy threshold: below it no damping can change a decision, so it is not computed.
DAMPED_FROM = 0.4
_IDENTITY = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in (*lexicon.GROUPS, *lexicon.SLURS)) + r")\b", re.I)


@attrs.frozen(kw_only=True)
class ModelOptions:
    """The trained detectors have no options; the policy's ``sensitivity`` sets their operating point."""


class ClassifierDetector(OfflineDetector):
    """The trained classifiers alone."""

    name: ClassVar[str] = "classifier"
    config_class: ClassVar[type] = ModelOptions
    with_heuristics: ClassVar[bool] = False

    def __init__(self, config: ModelOptions, setup: DetectorSetup) -> None:
        self.config = config
        self.setup = setup
        self.injection = _injection_head(setup.path) if setup.task == "prompt_injection" else None
        content = setup.task == "content" and bool(setup.categories)
        self.toxicity = _toxicity_model(setup.path) if content else None
        self.toxicity_head = _toxicity_head(setup.path) if content else None
        # alt-profanity-check's probability on the policy scale: its operating points were read on
        # the same benign rows as the head's (``eval/train_toxicity.py``).
        self.toxicity_scale = (
            ScoreScale(self.toxicity_head.meta["alt_profanity_check_anchors"]) if self.toxicity_head else None
        )
        self.heuristic = HeuristicDetector(HeuristicOptions(), setup) if self.with_heuristics else None
        self._limiter = trio.CapacityLimiter(2)

    def _model(self, segments: Sequence[Segment]) -> Detection:
        texts = [s.text[:MODEL_CHARS] for s in segments]
        found: list[Finding] = []
        if self.injection is not None:
            for segment, text in zip(segments, texts, strict=True):
                if segment.role == "assistant":
                    # The head learnt what people send to a model, not what a model answers; answers
                    # (and stream windows of them) are read by the heuristics.
                    continue
                score = round(self.injection.scale(self.injection.probability(text)), 4)
                found.append(
                    Finding("prompt_injection", score, ("model:injection-head",), "model", segment.where, segment.role)
                )
        if self.toxicity is not None and self.toxicity_head is not None and self.toxicity_scale is not None:
            for segment, text in zip(segments, texts, strict=True):
                found += self._content(segment, text)
        return merge([Detection((f,)) for f in found])

    def _content(self, segment: Segment, text: str) -> list[Finding]:
        assert self.toxicity is not None and self.toxicity_head is not None and self.toxicity_scale is not None
        wanted = self.setup.categories
        head = self.toxicity_head.probabilities(text)
        scores = {c: (self.toxicity_head.scales[c](p), "model:toxicity-head") for c, p in head.items()}
        offensive = self.toxicity_scale(self.toxicity.probability(text))
        hateful = head["hate_speech"] >= head["harassment"] or _IDENTITY.search(text) is not None
        for category in ("toxicity", "hate_speech" if hateful else "harassment"):
            if offensive > scores[category][0]:
                scores[category] = (offensive, "model:alt-profanity-check")
        damp = damping(text) if any(score >= DAMPED_FROM for score, _ in scores.values()) else {}
        return [
            Finding(c, round(score * damp.get(c, 1.0), 4), (signal,), "model", segment.where, segment.role)
            for c, (score, signal) in scores.items()
            if c in wanted
        ]

    def scan(self, segments: Sequence[Segment]) -> Detection:
        model = self._model(segments)
        if self.heuristic is None:
            return model
        return merge([self.heuristic.scan(segments), model])


class EnsembleDetector(ClassifierDetector):
    """The heuristics and the trained classifiers; the higher score per category wins."""

    name: ClassVar[str] = "ensemble"
    with_heuristics: ClassVar[bool] = True


# One loaded model per process: several policies (and several gateways in one test process) share it.
_LOADED: dict[str, object] = {}


def _injection_head(path: str) -> InjectionHead:
    if "injection" not in _LOADED:
        _LOADED["injection"] = InjectionHead(path)
    return _LOADED["injection"]  # type: ignore[return-value]


def _toxicity_head(path: str) -> ToxicityHead:
    if "toxicity-head" not in _LOADED:
        _LOADED["toxicity-head"] = ToxicityHead(path)
    return _LOADED["toxicity-head"]  # type: ignore[return-value]


def _toxicity_model(path: str) -> ToxicityModel:
    if "toxicity" not in _LOADED:
        _LOADED["toxicity"] = ToxicityModel(path)
    return _LOADED["toxicity"]  # type: ignore[return-value]

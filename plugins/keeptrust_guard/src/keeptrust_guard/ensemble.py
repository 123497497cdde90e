"""``detector: ensemble`` (the default) and ``detector: classifier``: the trained classifiers of
``classifiers.py``, alone or beside the heuristics.

The ensemble scores each text with both and keeps the higher score per category: the heuristics
read obfuscation, encodings, roles and pasted documents, which a bag-of-words model cannot; the
model reads paraphrases that no curated pattern lists.

Two profiles (``detector_options: {profile: ...}``):

- ``fast`` (the default for content) is a cascade for prompt injection: a head (a millisecond or
  so) reads every text, the one with character n-grams (``injection-head-english``) a text in
  English, the word head one in another language (the word head's ``not_english`` rule), and the injection
  heuristics (milliseconds on a long message) run only on tool results and documents, on a user
  turn that the cheap screen of ``injection_screen.py`` finds signs of obfuscation in, or on one
  the head finds suspect (probability at least the ``cascade_gate`` calibrated with the heads, out
  of fold on their training rows, so the cascade keeps 99.5 % of what the full ensemble flags
  there). Content runs both stages on every text.
- ``accurate`` (the default for prompt injection, ``DEFAULT_PROFILE``) runs the heuristics on every
  text and adds a third stage: a sentence encoder
  (``sentence_encoder.py``, tens of milliseconds of CPU per text, in a worker thread) whose
  embedding a second pair of heads reads (``*-head-accurate``, trained by ``eval/train_accurate.py``:
  for content beside the n-grams; for prompt injection alone, through a hidden layer). It reads
  only the texts the fast head finds suspect (its probability at least the ``encoder_gate``, per
  category for content, calibrated out of fold to pass 99.5 % of what the profile flags at
  ``medium`` for injection, at ``high`` for content, each content gate then raised until it passes
  at most 5 % of the benign rows), and never a stream window: those keep the n-gram heads'
  reading. For prompt injection the encoder head's log-odds are averaged with the English head's;
  it also reads every text not in English (the word head's ``not_english`` rule), and there its
  head's reading stands alone. Its injection heuristics read every user turn: ``fast``'s cascade
  kept 99.8 % of their flags out of fold but lost jailbreaks from the wild held out (README).

In both profiles, tool results and documents (``DOCUMENT_ROLES``) are read by the heuristics and by
a head of their own (``injection-head-documents``: the English head's features, trained on the same
rows and on ordinary records and prose with and without an instruction planted in them), on
operating points read on those rows; the encoder does not read them.

Content: three models. The toxicity head (``toxicity_head.py``, trained on third-party sets) scores
every category (``toxicity``, ``hate_speech``, ``harassment``, ``violence``, ``self_harm``,
``sexual``). alt-profanity-check gives one probability of offensive language, calibrated on the
same benign rows as the head; it counts for ``toxicity``, and for ``hate_speech`` when the text
names an identity group or uses a slur or the head finds hate likelier than harassment, for
``harassment`` otherwise; the models' ``toxicity`` is at least their ``hate_speech`` and
``harassment``. The toxic-comment LSTM (``comment_lstm.py``, trained on Jigsaw's Wikipedia
comments) reads each sentence of the texts the other two score at least its ``gate`` (the ``high``
threshold, which under 1 % of benign training rows reach) for toxicity, harassment, hate speech and
violence. The models' scores are damped by the context the heuristics read (``content_context.py``:
quotation, negation, academic discussion, help-seeking). Each category keeps the highest of the
heuristics' and models' scores.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import ClassVar, Literal, TypeVar

import attrs
import trio

from keeptrust_guard import lexicon
from keeptrust_guard.classifiers import (
    EncoderHead,
    InjectionHead,
    ScoreScale,
    ToxicityModel,
    logit_mean,
    one_blas_thread,
)
from keeptrust_guard.comment_lstm import CommentLSTM
from keeptrust_guard.content_context import damping
from keeptrust_guard.detection import Detection, DetectorSetup, Finding, Segment, merge
from keeptrust_guard.features import blank_addresses
from keeptrust_guard.heuristic import (
    DOCUMENT_ROLES,
    INLINE_CHARS,
    HeuristicDetector,
    HeuristicOptions,
    OfflineDetector,
)
from keeptrust_guard.injection_screen import needs_heuristics
from keeptrust_guard.recent import Read, RecentFindings
from keeptrust_guard.sentence_encoder import SentenceEncoder
from keeptrust_guard.toxicity_head import ToxicityHead

# Roles the injection head does not read (answers and stream windows of them, tool definitions, schemas).
_HEURISTICS_ONLY = frozenset({"assistant", "tools", "response_format"})
# Texts are cut to this many characters for the models (the heuristics see all of it).
MODEL_CHARS = 8_192
# Content texts longer than this go to a worker thread: the LSTM, when its gate passes, reads every
# sentence (some 3-4 ms for ten); a shorter text costs it a millisecond or two at most.
LSTM_INLINE_CHARS = 1_000
# A user turn's fast injection reading: whether it is not in English, the fast head's probability,
# its score and the head's signal.
_InjectionReading = tuple[bool, float, float, str]
# A segment's fast readings: the injection head's (user turns only) and the toxicity head's.
_FastReading = tuple[_InjectionReading | None, dict[str, float] | None]
# The lowest policy threshold: below it no damping can change a decision, so it is not computed.
DAMPED_FROM = 0.4
_TOXIC_PARTS = ("toxicity", "hate_speech", "harassment")
_IDENTITY = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in (*lexicon.GROUPS, *lexicon.SLURS)) + r")\b", re.I)


# Each task's profile when the policy names none: the best measured configuration within the cost
# bar (README, Profiles). Prompt injection: ``accurate`` finds more attacks on the third-party
# held-out sets and flags less benign text, at under 2 ms of CPU for a benign 200-word message.
# Content: ``accurate`` finds more, but its encoder costs tens of milliseconds on the texts its gates
# pass, which ordinary long messages often do.
DEFAULT_PROFILE: dict[str, Literal["fast", "accurate"]] = {"prompt_injection": "accurate", "content": "fast"}


@attrs.frozen(kw_only=True)
class ModelOptions:
    """The policy's ``sensitivity`` sets the operating point. ``profile``: ``fast``, the cascade, or
    ``accurate``, every stage and the sentence encoder on suspect texts (the module docstring);
    unset, the task's ``DEFAULT_PROFILE``."""

    profile: Literal["fast", "accurate"] | None = None


class ClassifierDetector(OfflineDetector):
    """The trained classifiers alone."""

    name: ClassVar[str] = "classifier"
    config_class: ClassVar[type] = ModelOptions
    with_heuristics: ClassVar[bool] = False

    def __init__(self, config: ModelOptions, setup: DetectorSetup) -> None:
        self.config = config
        self.setup = setup
        accurate = (config.profile or DEFAULT_PROFILE.get(setup.task, "fast")) == "accurate"
        injection = setup.task == "prompt_injection"
        content = setup.task == "content" and bool(setup.categories)
        path = setup.path
        self.injection = _load("injection-head", lambda: InjectionHead(path)) if injection else None
        # A text in English is read by the head that adds character n-grams (in ``accurate`` its
        # reading gates the encoder and joins the encoder head's).
        self.injection_english = (
            _load("injection-head-english", lambda: InjectionHead(path, "injection-head-english"))
            if injection
            else None
        )
        # Tool results and documents are read by a head that learnt them: ordinary records and prose,
        # alone and with an instruction planted in them (``eval/injected_documents.py``).
        self.injection_documents = (
            _load("injection-head-documents", lambda: InjectionHead(path, "injection-head-documents"))
            if injection
            else None
        )
        self.toxicity = _load("toxicity", lambda: ToxicityModel(path)) if content else None
        self.toxicity_head = _load("toxicity-head", lambda: ToxicityHead(path)) if content else None
        self.comment_lstm = _load("toxic-comment-lstm", lambda: CommentLSTM(path)) if content else None
        self._lstm_gate = float(self.comment_lstm.meta["gate"]["score"]) if self.comment_lstm else 1.0
        # The accurate profile's second stage: the sentence encoder and the heads trained with it,
        # for the texts the fast heads find suspect (at least their ``encoder_gate``).
        self.encoder = _load("encoder", lambda: SentenceEncoder(path)) if accurate and (injection or content) else None
        self.injection_accurate = (
            _load("injection-head-accurate", lambda: EncoderHead(path))
            if accurate and injection
            else None
        )
        self.toxicity_head_accurate = (
            _load("toxicity-head-accurate", lambda: ToxicityHead(path, "toxicity-head-accurate"))
            if accurate and content
            else None
        )
        # alt-profanity-check's probability on the policy scale: its operating points were read on
        # the same benign rows as the head's (``eval/train_toxicity.py``).
        self.toxicity_scale = (
            ScoreScale(self.toxicity_head.meta["alt_profanity_check_anchors"]) if self.toxicity_head else None
        )
        # The categories whose head probability decides whether the encoder reads a text: the wanted
        # ones, and those that make up toxicity.
        gated = set(setup.categories) | (set(_TOXIC_PARTS) if "toxicity" in setup.categories else set())
        gates = self.toxicity_head_accurate.meta["encoder_gates"] if self.toxicity_head_accurate else {}
        self._encoded_categories = tuple(c for c, g in gates.items() if g is not None)
        self._toxicity_gates = {c: float(g) for c, g in gates.items() if g is not None and c in gated}
        self.heuristic = HeuristicDetector(HeuristicOptions(), setup) if self.with_heuristics else None
        one_blas_thread(path)
        self._cascade = self.injection is not None and not accurate
        fast_head = self.injection_english or self.injection
        self._gate = float(fast_head.meta["cascade_gate"]) if fast_head is not None else 1.0
        self._encoder_gate = (
            float(self.injection_accurate.meta["encoder_gate"]) if self.injection_accurate is not None else 1.0
        )
        self._limiter = trio.CapacityLimiter(2)
        self.recent = RecentFindings()

    def _model(
        self, segments: Sequence[Segment], encode: bool, readings: list[_FastReading] | None = None
    ) -> tuple[Detection, list[Segment]]:
        """The models' findings, and the segments the heuristics must still read. ``encode``: whether
        the accurate profile's encoder may read the texts (not on stream windows); ``readings``: the
        fast heads' readings of ``segments`` when already taken."""
        texts = [s.text[:MODEL_CHARS] for s in segments]
        readings = readings if readings is not None else self._fast_readings(segments)
        found: list[Finding] = []
        rest: list[Segment] = []
        if self.injection is not None:
            for segment, text, (reading, _) in zip(segments, texts, readings, strict=True):
                if segment.role in _HEURISTICS_ONLY:
                    # The head learnt what people send to a model, not what a model answers, nor the
                    # application's tool definitions and output schemas: those are read by the heuristics.
                    rest.append(segment)
                    continue
                documents = self.injection_documents
                if documents is not None and segment.role in DOCUMENT_ROLES:
                    # In both profiles: the encoder's head learnt user turns, not tool results. The
                    # heuristics read every document too.
                    scale = documents.not_english_scale if documents.not_english(text) else documents.scale
                    assert scale is not None  # the rule comes with its points
                    score = scale(documents.probability(text))
                    found.append(
                        Finding(
                            "prompt_injection",
                            round(score, 4),
                            ("model:injection-head-documents",),
                            "model",
                            segment.where,
                            segment.role,
                        )
                    )
                    rest.append(segment)
                    continue
                assert reading is not None  # taken for every user turn
                foreign, probability, score, signal = reading
                if encode and self._injection_encodes(foreign, probability):
                    head = self.injection_accurate
                    assert head is not None and self.encoder is not None
                    accurate = head.probability(text, self.encoder.encode(blank_addresses(text)))
                    if foreign:
                        assert head.not_english_scale is not None
                        score, signal = head.not_english_scale(accurate), "model:encoder-head"
                    else:
                        score = head.scale(logit_mean(probability, accurate))
                        signal = f"{signal}+encoder"
                found.append(
                    Finding("prompt_injection", round(score, 4), (signal,), "model", segment.where, segment.role)
                )
                if not self._cascade or self._suspect(segment, probability):
                    rest.append(segment)
        else:
            rest = list(segments)
        if self.toxicity is not None and self.toxicity_head is not None and self.toxicity_scale is not None:
            for segment, text, (_, head) in zip(segments, texts, readings, strict=True):
                assert head is not None  # taken for every text
                found += self._content(segment, text, encode, dict(head))
        return merge([Detection((f,)) for f in found]), rest

    def _fast_readings(self, segments: Sequence[Segment]) -> list[_FastReading]:
        """Each segment's fast heads' readings: the injection head's of a user turn (not of a tool
        result or an answer), the toxicity head's probabilities of any text."""
        readings: list[_FastReading] = []
        for segment in segments:
            text = segment.text[:MODEL_CHARS]
            user_turn = segment.role not in _HEURISTICS_ONLY and segment.role not in DOCUMENT_ROLES
            injection = self._injection_reading(text) if self.injection is not None and user_turn else None
            content = self.toxicity_head.probabilities(text) if self.toxicity_head is not None else None
            readings.append((injection, content))
        return readings

    def _injection_reading(self, text: str) -> _InjectionReading:
        """A user turn's fast reading: whether it is not in English, the fast head's probability, its
        score and the head's signal."""
        assert self.injection is not None
        # A text not in English has operating points of its own: the heads, learnt almost all from
        # English, give it lower probabilities. Every head is calibrated with one rule
        # (``train_heads.NOT_ENGLISH``), so the word head's answer serves them all.
        foreign = self.injection.not_english(text)
        english = self.injection_english
        if english is not None and not foreign:
            probability = english.probability(text)
            return foreign, probability, english.scale(probability), "model:injection-head-english"
        probability = self.injection.probability(text)
        scale = self.injection.not_english_scale if foreign else self.injection.scale
        assert scale is not None  # the rule comes with its points
        return foreign, probability, scale(probability), "model:injection-head"

    def _injection_encodes(self, foreign: bool, probability: float) -> bool:
        """Whether the accurate profile's encoder reads a user turn. A text not in English passes no
        gate: the fast head cannot read it, and its low probability would keep the multilingual
        encoder from it."""
        return self.injection_accurate is not None and (foreign or probability >= self._encoder_gate)

    def _content_encodes(self, head: dict[str, float]) -> bool:
        """Whether the accurate profile's encoder reads a text, given the toxicity head's probabilities."""
        return self.toxicity_head_accurate is not None and any(head[c] >= g for c, g in self._toxicity_gates.items())

    def _encoder_inputs(self, segments: Sequence[Segment], readings: list[_FastReading]) -> list[str]:
        """What the encoder reads for ``segments`` with these fast readings, as ``_model`` decides it."""
        inputs: list[str] = []
        for segment, (injection, content) in zip(segments, readings, strict=True):
            text = segment.text[:MODEL_CHARS]
            if injection is not None and self._injection_encodes(injection[0], injection[1]):
                inputs.append(blank_addresses(text))
            if content is not None and self._content_encodes(content):
                inputs.append(text)
        return inputs

    def _suspect(self, segment: Segment, probability: float) -> bool:
        """Whether the fast cascade hands a text the head has read on to the heuristics."""
        return probability >= self._gate or segment.role in DOCUMENT_ROLES or needs_heuristics(segment.text)

    def _content(self, segment: Segment, text: str, encode: bool, head: dict[str, float]) -> list[Finding]:
        """A text's content findings; ``head``: the toxicity head's probabilities (updated here with
        the encoder's reading)."""
        assert self.toxicity is not None and self.toxicity_head is not None and self.toxicity_scale is not None
        wanted = self.setup.categories
        scores = {c: (self.toxicity_head.scales[c](p), "model:toxicity-head") for c, p in head.items()}
        if encode and self._content_encodes(head):
            assert self.toxicity_head_accurate is not None and self.encoder is not None
            accurate = self.toxicity_head_accurate.probabilities(text, self.encoder.encode(text), fast=dict(head))
            # Only the categories the encoder measured better on (those with a gate) take its reading.
            for c in self._encoded_categories:
                head[c] = accurate[c]
                scores[c] = (self.toxicity_head_accurate.scales[c](accurate[c]), "model:toxicity-head+encoder")
        offensive = self.toxicity_scale(self.toxicity.probability(text))
        hateful = head["hate_speech"] >= head["harassment"] or _IDENTITY.search(text) is not None
        for category in ("toxicity", "hate_speech" if hateful else "harassment"):
            if offensive > scores[category][0]:
                scores[category] = (offensive, "model:alt-profanity-check")
        lstm = self.comment_lstm
        # The LSTM (a millisecond or two) reads the texts the other models find at least this suspect.
        if lstm is not None and max(offensive, *(scores[c][0] for c in lstm.categories.values())) >= self._lstm_gate:
            for label, p in lstm.probabilities(text).items():
                category = lstm.categories.get(label)
                if category is not None and (score := lstm.scales[label](p)) > scores[category][0]:
                    scores[category] = (score, "model:toxic-comment-lstm")
        damp = damping(text) if any(score >= DAMPED_FROM for score, _ in scores.values()) else {}
        damped = {c: (score * damp.get(c, 1.0), signal) for c, (score, signal) in scores.items()}
        # Toxicity (the safety-filter's check: insults, threats, identity attacks) includes hate
        # speech and harassment: a text the models find hateful or harassing is toxic too.
        damped["toxicity"] = max(damped[c] for c in _TOXIC_PARTS)
        return [
            Finding(c, round(score, 4), (signal,), "model", segment.where, segment.role)
            for c, (score, signal) in damped.items()
            if c in wanted
        ]

    def scan(
        self,
        segments: Sequence[Segment],
        encode: bool = True,
        readings: Sequence[_FastReading | None] | None = None,
        known: Sequence[Read | None] | None = None,
        recall: bool = True,
    ) -> Detection:
        """The findings of ``segments``, merged as one pass over all of them would merge them (the
        heuristics' before the models', segments in order). A text read recently is not read again
        (``recent.py``) unless ``recall`` is off. ``readings``: the fast heads' readings already
        taken (None where not), ``known``: each segment's kept findings as already looked up (None
        where none were kept)."""
        heuristic: list[Finding] = []
        model: list[Finding] = []
        for i, segment in enumerate(segments):
            # ``detect`` looked the segments up already.
            read = known[i] if known is not None else (self.recent.get(segment, encode) if recall else None)
            if read is None:
                read = self._read(segment, encode, readings[i] if readings is not None else None, recall)
            model += read[0]
            heuristic += read[1]
        return merge([Detection(tuple(heuristic)), Detection(tuple(model))])

    def _read(self, segment: Segment, encode: bool, reading: _FastReading | None, keep: bool) -> Read:
        """One segment's findings, read by the models and, where they hand it on, the heuristics."""
        found, rest = self._model([segment], encode, None if reading is None else [reading])
        heuristic = self.heuristic.scan(rest).findings if self.heuristic is not None and rest else ()
        read = (found.findings, heuristic)
        if keep:
            self.recent.put(segment, encode, read)
        return read

    async def detect(self, segments: Sequence[Segment]) -> Detection:
        # The encoder costs milliseconds to tens of milliseconds of CPU per text it reads, the LSTM a
        # millisecond a sentence: texts either will read are scanned off the event loop. Most texts
        # pass no encoder gate, or were encoded for another policy of the request: those are scanned
        # as the fast profile's are, since a worker thread costs more than the scan (the harness's
        # short message through prompt-injection, pii-detector and audit-logger: 0.81x the requests/s
        # at c=16 when every scan took a thread). Their fast readings, taken here to decide, serve
        # the scan; texts read recently (the system prompt, earlier turns) need neither.
        known = [self.recent.get(s, True) for s in segments]
        fresh = [s for s, k in zip(segments, known, strict=True) if k is None]
        if not fresh:
            return self.scan(segments, True, None, known)
        size = sum(len(s.text) for s in fresh)
        inline = size <= INLINE_CHARS and not (self.comment_lstm is not None and size > LSTM_INLINE_CHARS)
        readings: list[_FastReading | None] | None = None
        if self.encoder is None:
            if inline:
                return self.scan(segments, True, None, known)
        elif inline:
            taken = iter(self._fast_readings(fresh))
            readings = [next(taken) if k is None else None for k in known]
            fresh_readings = [r for r in readings if r is not None]
            if all(self.encoder.has(text) for text in self._encoder_inputs(fresh, fresh_readings)):
                return self.scan(segments, True, readings, known)
        return await trio.to_thread.run_sync(
            self.scan, segments, True, readings, known, limiter=self._limiter, abandon_on_cancel=True
        )

    def stream_scanner(self) -> Callable[[str], Detection]:
        # A stream is checked every few dozen characters: the encoder's cost per window would hold
        # the answer back, so windows are read by the fast heads and the heuristics.
        return lambda text: self.scan([Segment(text, "assistant")], encode=False, recall=False)


class EnsembleDetector(ClassifierDetector):
    """The heuristics and the trained classifiers; the higher score per category wins."""

    name: ClassVar[str] = "ensemble"
    with_heuristics: ClassVar[bool] = True


# One loaded model per process: several policies (and several gateways in one test process) share it.
_LOADED: dict[str, object] = {}
_T = TypeVar("_T")


def _load(name: str, make: Callable[[], _T]) -> _T:
    if name not in _LOADED:
        _LOADED[name] = make()
    return _LOADED[name]  # type: ignore[return-value]

"""The analyzer: spaCy + Presidio, built once at start-up, analysing a batch of texts at a time.

``Detector.analyze`` is synchronous and CPU-bound; the policy calls it in worker threads
(``trio.to_thread.run_sync``). Several threads may call it at once: it keeps no per-call state, and
the spaCy part of each batch takes its turn on the pipeline (``nlp.SharedPipeline``).
"""

from __future__ import annotations

import bisect
import functools
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import attrs
import regex

from keeptrust.distributions import install_command
from keeptrust_presidio.config import PiiDetectorConfig
from keeptrust_presidio.nlp import ModelUnavailable, shared_pipeline

logger = logging.getLogger("keeptrust.policy.pii-detector")

_WARM_UP = (
    "Hi, I am Jane Doe (jane.doe@example.com, +1 415 555 0100); my card is 4111 1111 1111 1111.",
    "You are a helpful assistant.",
)


@attrs.frozen
class Found:
    """One entity in a text: its type, span and score. Never logged with the text it points into."""

    entity: str
    start: int
    end: int
    score: float


# Long texts are analysed in segments: Presidio's context step scans every token for every match,
# which is quadratic in the length of one text (a 1.4 MB prompt took minutes whole). Segments overlap
# so that an entity on a boundary is whole in one of them; entities up to OVERLAP characters long are.
SEGMENT = 2000
OVERLAP = 200


def segments(text: str) -> list[tuple[int, str]]:
    """``(offset, piece)`` covering ``text``, cut at whitespace, consecutive pieces overlapping."""
    if len(text) <= SEGMENT:
        return [(0, text)]
    out: list[tuple[int, str]] = []
    start = 0
    while True:
        end = min(len(text), start + SEGMENT)
        if end < len(text):
            space = max(text.rfind(" ", start + SEGMENT // 2, end), text.rfind("\n", start + SEGMENT // 2, end))
            if space > start:
                end = space + 1
        out.append((start, text[start:end]))
        if end >= len(text):
            return out
        back = end - OVERLAP
        space = max(text.rfind(" ", start + 1, back), text.rfind("\n", start + 1, back))
        start = space + 1 if space > start else back


# Presidio's loggers write matched values, context words and results at DEBUG and INFO ("Context
# list is: ...", "removing element ... due to conflict") and a warning per spaCy label it does not
# map. Request text must never reach a log, even at --log-level debug: below ERROR they are dropped
# whatever level the root logger has, and an error goes out without its arguments.
PRESIDIO_LOGGERS = ("presidio-analyzer", "presidio-anonymizer", "decision_process")


class _NoRequestText(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR:
            return False
        record.msg = (
            f"{record.name}: {record.levelname.lower()} in {record.module}.{record.funcName} (details withheld)"
        )
        record.args = None
        record.exc_info = None
        record.exc_text = None
        return True


def quiet_presidio_loggers() -> None:
    for name in PRESIDIO_LOGGERS:
        log = logging.getLogger(name)
        log.setLevel(logging.ERROR)
        if not any(isinstance(f, _NoRequestText) for f in log.filters):
            log.addFilter(_NoRequestText())


def _import_presidio() -> Any:
    try:
        import presidio_analyzer
        import presidio_anonymizer  # noqa: F401 - checked here so a missing one fails at start-up
    except ImportError as exc:
        raise ModelUnavailable(
            f"pii-detector needs Microsoft Presidio ({exc.name} is missing): {install_command('keeptrust-presidio')}"
        ) from exc
    return presidio_analyzer


def resolve_overlaps(found: Sequence[Found]) -> list[Found]:
    """Non-overlapping entities in text order.

    Overlapping spans of one type are merged (NER's "Janine Mac" and a cue's "Janine Mac an Abbadh"
    become the longer name: redacting less would leak the rest). Then, where two types overlap, the
    higher score wins, then the longer span, so a phone number inside a card number goes as the card.
    """
    merged: list[Found] = []
    for f in sorted(found, key=lambda f: (f.entity, f.start)):
        last = merged[-1] if merged else None
        if last is not None and last.entity == f.entity and f.start < last.end:
            merged[-1] = Found(f.entity, last.start, max(last.end, f.end), max(last.score, f.score))
        else:
            merged.append(f)
    ranked = sorted(merged, key=lambda f: (-f.score, -(f.end - f.start), f.start))
    # Kept spans never overlap, so sorted by start they are sorted by end too: a new span need only
    # be checked against its two neighbours (a long prompt may hold thousands of entities).
    starts: list[int] = []
    kept: list[Found] = []
    for f in ranked:
        i = bisect.bisect_left(starts, f.start)
        if i > 0 and kept[i - 1].end > f.start:
            continue
        if i < len(kept) and kept[i].start < f.end:
            continue
        starts.insert(i, f.start)
        kept.insert(i, f)
    return kept


class Detector:
    """Presidio's ``AnalyzerEngine`` over a trimmed spaCy pipeline, with this policy's recognizers."""

    def __init__(self, config: PiiDetectorConfig) -> None:
        presidio = _import_presidio()
        quiet_presidio_loggers()
        from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine
        from presidio_analyzer.predefined_recognizers import SpacyRecognizer

        from keeptrust_presidio.recognizers import NER_ENTITIES, REPLACED, custom_recognizers, stock_replacements

        self.language = config.language
        self.entities = list(dict.fromkeys(config.entities))
        # Profile "fast" never runs NER: names come from the lexicon and cue recognizers alone.
        self.uses_ner = bool(NER_ENTITIES & set(self.entities)) and config.profile != "fast"
        self.score_threshold = config.score_threshold
        self.allow_list = list(config.allow_list)
        # One pipeline per model in the process; the batches of every thread take turns on it and, once
        # its vocabulary has grown enough, are read in memory zones (nlp.SharedPipeline).
        self._pipeline = shared_pipeline(config.nlp_model, with_ner=self.uses_ner)
        nlp = self.nlp = self._pipeline.nlp
        self._empty = nlp.make_doc("")
        self.names = None
        if self.uses_ner or "PERSON" in self.entities:
            from keeptrust_presidio.dictionary import dictionary_words
            from keeptrust_presidio.names import NameEvidence

            self.names = NameEvidence(dictionary_words(nlp))
        engine = SpacyNlpEngine(
            models=[{"lang_code": self.language, "model_name": config.nlp_model}],
            ner_model_configuration=NerModelConfiguration(
                labels_to_ignore=["CARDINAL", "ORDINAL", "QUANTITY", "MONEY", "PERCENT"]
            ),
        )
        engine.nlp = {self.language: nlp}  # the trimmed pipeline instead of SpacyNlpEngine.load()
        self._engine = engine
        # NER reads only the sentences that could hold a name (cascade.py) when PERSON is the only
        # entity it gives; places, dates and organisations need it to read everything.
        self._cascade = self.uses_ner and self.names is not None and NER_ENTITIES & set(self.entities) == {"PERSON"}
        if self._cascade:
            from keeptrust_presidio.cascade import could_hold_a_name
            from keeptrust_presidio.recall import LexiconNameRecognizer, NameCueRecognizer

            lexicon = LexiconNameRecognizer(self.names, supported_language=self.language)

            def known_names(sentence: str) -> list[tuple[int, int]]:
                return [(r.start, r.end) for r in lexicon.analyze(sentence, ["PERSON"])]

            self._could_hold_a_name = functools.partial(
                could_hold_a_name, names=self.names, cue=NameCueRecognizer.PATTERN, known_names=known_names
            )
        self._prefilter = None
        if set(self.entities) <= PREFILTERED and not config.patterns and (self.names or "PERSON" not in self.entities):
            from keeptrust_presidio.recall import NameCueRecognizer

            self._prefilter = CleanText(self.names, NameCueRecognizer.PATTERN)
        registry = presidio.RecognizerRegistry(supported_languages=[self.language])
        # Presidio warns once per recognizer of another language it skips; that is noise here.
        presidio_log = logging.getLogger("presidio-analyzer")
        presidio_log.setLevel(logging.ERROR)
        try:
            registry.load_predefined_recognizers(languages=[self.language], nlp_engine=engine)
        finally:
            presidio_log.setLevel(logging.ERROR)
        registry.recognizers = [r for r in registry.recognizers if not isinstance(r, REPLACED)]
        if self.uses_ner:
            registry.add_recognizer(
                SpacyRecognizer(supported_language=self.language, supported_entities=sorted(NER_ENTITIES))
            )
        for recognizer in stock_replacements(self.language, list(config.phone_regions), self.names):
            registry.add_recognizer(recognizer)
        for recognizer in custom_recognizers(list(config.patterns), self.language):
            registry.add_recognizer(recognizer)
        self.known_entities = frozenset(registry.get_supported_entities(languages=[self.language]))
        from keeptrust_presidio.enhancer import InPlaceContextEnhancer

        self.analyzer = presidio.AnalyzerEngine(
            registry=registry,
            nlp_engine=engine,
            supported_languages=[self.language],
            context_aware_enhancer=InPlaceContextEnhancer(),
        )

    def warm_up(self) -> None:
        """Run once so that the first request pays no lazy initialisation (regex compiles, model)."""
        self.analyze(list(_WARM_UP))

    def _artifacts(self, texts: list[str]) -> list[Any]:
        from presidio_analyzer.nlp_engine import NlpArtifacts
        from spacy.util import filter_spans

        from keeptrust_presidio.cascade import ner_regions

        # A piece without a letter holds no name and no context word ("phone", "card"): spaCy has
        # nothing to find there, and tokenizing megabytes of digits would cost seconds.
        wordy = [i for i, t in enumerate(texts) if _LETTER.search(t)]
        docs: list[Any] = [self._empty] * len(texts)
        if not self.uses_ner:
            for i in wordy:
                docs[i] = self.nlp.make_doc(texts[i])
        else:
            # (text index, offset of the part NER reads or None for the whole text, that part)
            jobs: list[tuple[int, int | None, str]] = []
            for i in wordy:
                text = texts[i]
                regions = ner_regions(text, self._could_hold_a_name) if self._cascade else [(0, len(text))]
                if sum(e - s for s, e in regions) >= 0.9 * len(text.strip()):
                    jobs.append((i, None, text))
                    continue
                docs[i] = self.nlp.make_doc(text)
                jobs += [(i, s, text[s:e]) for s, e in regions]
            found: dict[int, list[Any]] = {}
            # One NER call for all the parts: a component's pipe() cuts its batch in four by default,
            # and each call has a fixed cost (the model's layers, its weights back into the caches)
            # that a short text pays many times over. Each part's entities are the same either way.
            # With no part to read (the word lists explain every name) there is no call at all: even
            # an empty pipe() costs some 8 µs of set-up.
            size = max(1, len(jobs))
            parsed = (
                self.nlp.pipe(
                    [part for _, _, part in jobs],
                    batch_size=size,
                    component_cfg={name: {"batch_size": 4 * size} for name in self.nlp.pipe_names},
                )
                if jobs
                else iter(())
            )
            for (i, offset, _), doc in zip(jobs, parsed, strict=True):
                if offset is None:
                    docs[i] = doc
                    continue
                whole = docs[i]
                for ent in doc.ents:
                    span = whole.char_span(
                        offset + ent.start_char, offset + ent.end_char, label=ent.label_, alignment_mode="expand"
                    )
                    if span is not None:
                        found.setdefault(i, []).append(span)
            for i, spans in found.items():
                docs[i].ents = filter_spans(spans)
        out = []
        for doc in docs:
            entities = list(doc.ents) if self.uses_ner else []
            # Presidio's own label mapping and ignore list (spaCy GPE -> LOCATION, CARDINAL dropped...),
            # private in SpacyNlpEngine but the same code its process_batch runs.
            entities, scores = self._engine._get_updated_entities(
                entities, [self._engine.ner_model_configuration.default_score] * len(entities)
            )
            # Without the lemmatizer the lower-cased form stands in for the lemma: context words
            # ("phone", "card", "email") are matched as substrings of it.
            lemmas = [t.lemma_ or t.lower_ for t in doc]
            out.append(
                NlpArtifacts(
                    entities=entities,
                    tokens=doc,
                    tokens_indices=[t.idx for t in doc],
                    lemmas=lemmas,
                    nlp_engine=self._engine,
                    language=self.language,
                    scores=scores,
                )
            )
        return out

    def analyze(self, texts: list[str], budget: Budget | None = None, batch: int = 0) -> list[list[Found]]:
        """Entities in each text (configured types only, over the threshold, allow-list applied),
        obfuscations undone (``normalize``): invisible characters, full-width and other compatibility
        forms, base64. Spans are those of the original texts.

        ``batch``: segments per spaCy call, between two budget checks (0: ``BATCH``). Each text's
        entities are the same whatever the batch; short texts of several requests analysed together
        (``coalesce``) go in one call, which costs spaCy less per text than one call each."""
        from keeptrust_presidio.normalize import base64_runs, fold

        if self._prefilter is not None:
            clean = [self._prefilter(t) for t in texts]
            if any(clean):
                rest = [t for t, c in zip(texts, clean, strict=True) if not c]
                found_rest = iter(self.analyze(rest, budget, batch) if rest else [])
                return [[] if c else next(found_rest) for c in clean]
        folded = [fold(t) for t in texts]
        views = [f.text if f is not None else t for t, f in zip(texts, folded, strict=True)]
        encoded = [(i, start, end, decoded) for i, v in enumerate(views) for start, end, decoded in base64_runs(v)]

        def back(found: list[list[Found]]) -> list[list[Found]]:
            out = []
            for f, fs in zip(folded, found, strict=True):
                if f is not None:
                    fs = [Found(x.entity, *f.span(x.start, x.end), x.score) for x in fs]
                out.append(resolve_overlaps(fs))
            return out

        try:
            found = self._analyze(views + [d for _, _, _, d in encoded], budget, batch or BATCH)
        except BudgetExceeded as exc:
            raise BudgetExceeded(back(exc.found[: len(texts)]), exc.done, exc.seconds) from None
        # A base64 run that carries personal data goes whole: its decoded entity has no span in it.
        for (i, start, end, _), inner in zip(encoded, found[len(texts) :], strict=True):
            if inner:
                best = max(inner, key=lambda f: f.score)
                found[i].append(Found(best.entity, start, end, best.score))
        return back(found[: len(texts)])

    def _analyze(self, texts: list[str], budget: Budget | None = None, size: int = 0) -> list[list[Found]]:
        """``analyze`` without the obfuscation step.

        The work goes in batches of a few segments; between batches ``budget`` is checked, so an
        abandoned request stops within one batch (a fraction of a second) and one over its CPU
        budget raises ``BudgetExceeded`` with what was found so far."""
        from keeptrust_presidio.recall import plausible_person, repeated_names

        if not texts:
            return []
        pieces = [(i, offset, piece) for i, text in enumerate(texts) for offset, piece in segments(text)]
        found: list[list[Found]] = [[] for _ in texts]
        if budget is not None:
            budget.begin()
        size = size or BATCH
        for first in range(0, len(pieces), size):
            if budget is not None:
                budget.check(found, first / len(pieces))
            batch = pieces[first : first + size]
            with self._pipeline.batch():
                # Nothing of spaCy's outlives the batch (a zone frees it): Presidio's results are offsets
                # and scores.
                artifacts = self._artifacts([piece for _, _, piece in batch])
                results = [
                    self.analyzer.analyze(
                        text=piece,
                        language=self.language,
                        entities=self.entities,
                        nlp_artifacts=nlp_artifacts,
                        score_threshold=self.score_threshold,
                        allow_list=self.allow_list or None,
                    )
                    for (_, _, piece), nlp_artifacts in zip(batch, artifacts, strict=True)
                ]
                del artifacts
            for (i, offset, piece), raw in zip(batch, results, strict=True):
                for r in raw:
                    if r.entity_type == "PERSON":
                        # A name never runs over a line break (NER joins "Henkweg" and "Apt" of an address).
                        cut = piece.find("\n", r.start, r.end)
                        if cut > r.start:
                            r.end = r.start + len(piece[r.start : cut].rstrip())
                        if not plausible_person(piece, r, self.names):
                            continue
                    found[i].append(Found(r.entity_type, offset + r.start, offset + r.end, r.score))
                persons = [(f.start - offset, f.end - offset, f.score) for f in found[i] if f.entity == "PERSON"]
                persons = [p for p in persons if p[0] >= 0 and p[1] <= len(piece)]
                for start, end, score in repeated_names(piece, persons, self.names) if persons else ():
                    found[i].append(Found("PERSON", offset + start, offset + end, score))
        return [resolve_overlaps(f) for f in found]


# Entity types whose every recognizer needs a digit run, an "@", a long token, a non-ASCII character
# or a capitalised word that may be a name: a text with none of these is skipped unanalysed.
PREFILTERED = frozenset({"PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE", "IP_ADDRESS"})
_DIGIT_RUN = regex.compile(r"\d(?:[\d.:\-/() +]*\d)?")
_LONG_TOKEN = regex.compile(r"\S{16}")
_CAPITALISED = regex.compile(r"(?<![\p{L}\p{N}'])\p{Lu}[\p{L}'\u2019\-]*")


class CleanText:
    """A cheap test that a text holds none of the ``PREFILTERED`` types, so most of a chat's
    sentences and stream pieces ("Sure! Here is how attention works:") cost no NER call. It is
    applied to every text the same way, whatever the path (request, answer, stream)."""

    def __init__(self, names: Any, cue: Any) -> None:
        self._names = names
        self._cue = cue

    def __call__(self, text: str) -> bool:
        if not text.isascii() or "@" in text or _LONG_TOKEN.search(text):
            return False
        for run in _DIGIT_RUN.finditer(text):
            if sum(ch.isdigit() for ch in run.group()) >= 4:
                return False
        names = self._names
        if names is not None:
            for word in _CAPITALISED.finditer(text):
                if names.may_be_name(word.group().strip("'-")):
                    return False
            if self._cue.search(text):
                return False
        return True


# Segments analysed between two budget checks: 4 x 2000 characters is some 0.1-0.3 s of CPU with NER.
BATCH = 4
_LETTER = regex.compile(r"\p{L}")


class AnalysisAbandoned(Exception):
    """The request this analysis was for has gone (its client disconnected, the server is stopping)."""


class BudgetExceeded(Exception):
    """The analysis used up its CPU budget. ``found`` holds the entities of the part analysed;
    ``done`` is the share of the text that part is."""

    def __init__(self, found: list[list[Found]], done: float, seconds: float) -> None:
        super().__init__(f"analysis budget of {seconds:g} s of CPU used up after {done:.0%} of the text")
        self.found = [resolve_overlaps(f) for f in found]
        self.done = done
        self.seconds = seconds


class Budget:
    """The CPU time one request's analysis may take, and the flag that abandons it.

    Set by the event loop (``cancel``), read by the worker thread between batches: threads cannot be
    cancelled, so the work is cut into pieces small enough that checking between them is prompt."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self._cancelled = threading.Event()
        self._started = 0.0

    def cancel(self) -> None:
        self._cancelled.set()

    def begin(self) -> None:
        self._started = time.thread_time()

    def check(self, found: list[list[Found]], done: float) -> None:
        if self._cancelled.is_set():
            raise AnalysisAbandoned()
        if self.seconds is not None and time.thread_time() - self._started > self.seconds:
            raise BudgetExceeded(found, done, self.seconds)

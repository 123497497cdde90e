"""The analyzer: spaCy + Presidio, built once at start-up, analysing a batch of texts at a time.

``Detector.analyze`` is synchronous and CPU-bound; the policy calls it through
``trio.to_thread.run_sync`` (request and whole-answer paths) and directly for the small windows of
a stream. It keeps no per-call state, so several threads may run it at once.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Sequence
from typing import Any

import attrs

from keeptrust.distributions import install_command
from keeptrust_presidio.config import PiiDetectorConfig
from keeptrust_presidio.nlp import ModelUnavailable, load_pipeline

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


def _import_presidio() -> Any:
    try:
        import presidio_analyzer
        import presidio_anonymizer  # noqa: F401 - checked here so a missing one fails at start-up
    except ImportError as exc:
        raise ModelUnavailable(
            f"pii-detector needs Microsoft Presidio ({exc.name} is missing): "
            f"{install_command('keeptrust-presidio')}"
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
        from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine
        from presidio_analyzer.predefined_recognizers import SpacyRecognizer

        from keeptrust_presidio.recognizers import NER_ENTITIES, REPLACED, custom_recognizers, stock_replacements

        self.language = config.language
        self.entities = list(dict.fromkeys(config.entities))
        self.uses_ner = bool(NER_ENTITIES & set(self.entities))
        self.score_threshold = config.score_threshold
        self.allow_list = list(config.allow_list)
        nlp = load_pipeline(config.nlp_model, with_ner=self.uses_ner)
        self.nlp = nlp
        self.names = None
        if self.uses_ner:
            from keeptrust_presidio.names import NameEvidence, dictionary_words

            self.names = NameEvidence(dictionary_words(nlp))
        engine = SpacyNlpEngine(
            models=[{"lang_code": self.language, "model_name": config.nlp_model}],
            ner_model_configuration=NerModelConfiguration(
                labels_to_ignore=["CARDINAL", "ORDINAL", "QUANTITY", "MONEY", "PERCENT"]
            ),
        )
        engine.nlp = {self.language: nlp}  # the trimmed pipeline instead of SpacyNlpEngine.load()
        self._engine = engine
        registry = presidio.RecognizerRegistry(supported_languages=[self.language])
        # Presidio warns once per recognizer of another language it skips; that is noise here.
        presidio_log = logging.getLogger("presidio-analyzer")
        level = presidio_log.level
        presidio_log.setLevel(logging.ERROR)
        try:
            registry.load_predefined_recognizers(languages=[self.language], nlp_engine=engine)
        finally:
            presidio_log.setLevel(level)
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
        self.analyzer = presidio.AnalyzerEngine(
            registry=registry, nlp_engine=engine, supported_languages=[self.language]
        )

    def warm_up(self) -> None:
        """Run once so that the first request pays no lazy initialisation (regex compiles, model)."""
        self.analyze(list(_WARM_UP))

    def _artifacts(self, texts: list[str]) -> list[Any]:
        from presidio_analyzer.nlp_engine import NlpArtifacts

        if self.uses_ner:
            # One batch per request; a huge text's many segments go in batches of 64 to bound memory.
            docs = list(self.nlp.pipe(texts, batch_size=min(64, max(1, len(texts)))))
        else:
            docs = [self.nlp.make_doc(t) for t in texts]
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

    def analyze(self, texts: list[str]) -> list[list[Found]]:
        """Entities in each text (configured types only, over the threshold, allow-list applied)."""
        from keeptrust_presidio.recall import plausible_person

        if not texts:
            return []
        pieces = [(i, offset, piece) for i, text in enumerate(texts) for offset, piece in segments(text)]
        found: list[list[Found]] = [[] for _ in texts]
        artifacts = self._artifacts([piece for _, _, piece in pieces])
        for (i, offset, piece), nlp_artifacts in zip(pieces, artifacts, strict=True):
            raw = self.analyzer.analyze(
                text=piece,
                language=self.language,
                entities=self.entities,
                nlp_artifacts=nlp_artifacts,
                score_threshold=self.score_threshold,
                allow_list=self.allow_list or None,
            )
            for r in raw:
                if r.entity_type == "PERSON":
                    # A name never runs over a line break (NER joins "Henkweg" and "Apt" of an address).
                    cut = piece.find("\n", r.start, r.end)
                    if cut > r.start:
                        r.end = len(piece[r.start : cut].rstrip())
                        r.end += r.start
                    if not plausible_person(piece, r, self.names):
                        continue
                found[i].append(Found(r.entity_type, offset + r.start, offset + r.end, r.score))
        return [resolve_overlaps(f) for f in found]

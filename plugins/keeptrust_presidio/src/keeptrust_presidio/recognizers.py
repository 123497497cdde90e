"""The recognizers the analyzer runs: Presidio's own, made to work offline, plus custom patterns."""

from __future__ import annotations

from typing import Any

import tldextract
from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    PhoneRecognizer,
    SpacyRecognizer,
)

from keeptrust_presidio.config import CustomPattern
from keeptrust_presidio.names import NameEvidence
from keeptrust_presidio.number_recognizers import CandidatePhoneRecognizer, CardRecognizer
from keeptrust_presidio.recall import LexiconNameRecognizer, NameCueRecognizer

# Entities spaCy's NER gives (through Presidio's label mapping); everything else is a pattern.
NER_ENTITIES = frozenset({"PERSON", "LOCATION", "NRP", "DATE_TIME", "ORGANIZATION"})


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's e-mail recognizer, validating the domain against tldextract's bundled suffix list.

    The stock recognizer calls ``tldextract.extract``, which tries to download the public suffix
    list on first use: with no network that is a stall and a traceback in the log per process.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._suffixes = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)

    def validate_result(self, pattern_text: str) -> bool:
        return self._suffixes(pattern_text).fqdn != ""


def custom_recognizers(patterns: list[CustomPattern], language: str) -> list[EntityRecognizer]:
    """One ``PatternRecognizer`` per configured ``patterns`` entry."""
    return [
        PatternRecognizer(
            supported_entity=p.entity,
            name=f"custom:{p.name}",
            supported_language=language,
            patterns=[Pattern(p.name, p.regex, p.score)],
            context=list(p.context) or None,
        )
        for p in patterns
    ]


def stock_replacements(
    language: str, phone_regions: list[str], names: NameEvidence | None = None
) -> list[EntityRecognizer]:
    """Recognizers that replace Presidio's predefined ones of the same class."""
    extra: list[EntityRecognizer] = [LexiconNameRecognizer(names, supported_language=language)] if names else []
    return [
        *extra,
        OfflineEmailRecognizer(supported_language=language),
        CandidatePhoneRecognizer(phone_regions, supported_language=language),
        CardRecognizer(supported_language=language),
        NameCueRecognizer(supported_language=language, names=names),
    ]


REPLACED = (EmailRecognizer, PhoneRecognizer, CreditCardRecognizer, SpacyRecognizer)

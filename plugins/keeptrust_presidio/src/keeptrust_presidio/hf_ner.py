"""``ner: {detector: huggingface}``: names, places and other entities found by a token-classification
model on a Hugging Face endpoint, beside Presidio's own recognizers.

The request is the one huggingface_hub's ``InferenceClient.token_classification`` sends
(huggingface_hub 2.4 ``inference/_client.py``; the task schema ``token-classification/input.json``
of huggingface.js ``@huggingface/tasks``): one text per request,
``{"inputs": "<text>", "parameters": {"aggregation_strategy": "simple"}}``, unset parameters left
out. The answer is a list of ``{"entity_group" (or "entity"), "score", "word", "start", "end"}``;
``start``/``end`` are character offsets in the text sent. Long texts are sent in pieces (models see
some 512 tokens), several at once; an entity cut by a piece boundary is found whole in the
overlapping next piece.

Labels map to Presidio entity types: the CoNLL-2003 labels of ``dslim/bert-base-NER``-style models
and the labels of ``iiiorg/piiranha-v1-detect-personal-information`` are built in, ``B-``/``I-``
prefixes are dropped, and ``labels`` in the config adds or overrides entries.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import attrs
import orjson
import trio

from keeptrust.errors import GatewayError
from keeptrust.hosted_models import HostedModel, HostedModelOptions

if TYPE_CHECKING:
    from keeptrust_presidio.analysis import Found

# Model label (upper case, without B-/I-) -> Presidio entity type. Labels not listed are ignored.
DEFAULT_LABELS = {
    # CoNLL-2003 (dslim/bert-base-NER, dbmdz/bert-large-cased-finetuned-conll03-english, ...)
    "PER": "PERSON",
    "PERSON": "PERSON",
    "LOC": "LOCATION",
    "LOCATION": "LOCATION",
    "GPE": "LOCATION",
    # iiiorg/piiranha-v1-detect-personal-information
    "GIVENNAME": "PERSON",
    "SURNAME": "PERSON",
    "EMAIL": "EMAIL_ADDRESS",
    "TELEPHONENUM": "PHONE_NUMBER",
    "CREDITCARDNUMBER": "CREDIT_CARD",
    "SOCIALNUM": "US_SSN",
    "CITY": "LOCATION",
    "STREET": "LOCATION",
    "DATEOFBIRTH": "DATE_TIME",
    "DRIVERLICENSENUM": "US_DRIVER_LICENSE",
    "ACCOUNTNUM": "US_BANK_NUMBER",
}
PIECE = 1500
PIECE_OVERLAP = 200


@attrs.frozen(kw_only=True)
class RemoteNerOptions(HostedModelOptions):
    detector: Literal["huggingface"] = "huggingface"
    model: str = "dslim/bert-base-NER"
    # Extra or overriding label -> entity type entries (labels compared case-insensitively).
    labels: dict[str, str] = attrs.Factory(dict)
    aggregation_strategy: Literal["none", "simple", "first", "average", "max"] | None = "simple"
    # Characters per request; longer texts are sent in overlapping pieces.
    max_chars: int = PIECE


class NerUnavailable(Exception):
    """The hosted model did not answer usefully in time; ``str(exc)`` says why (no text, no token)."""


def pieces(text: str, size: int, overlap: int) -> list[tuple[int, str]]:
    """``text`` as (offset, piece) pairs of at most ``size`` characters, each overlapping the next."""
    if len(text) <= size:
        return [(0, text)]
    step = max(1, size - overlap)
    return [(start, text[start : start + size]) for start in range(0, len(text) - overlap, step)]


def parse_entities(payload: Any) -> list[tuple[str, int, int, float]]:
    """``(label, start, end, score)`` for each entity of a token-classification answer (also the
    ``[[...]]`` shape some endpoints answer for one input)."""
    if isinstance(payload, list) and len(payload) == 1 and isinstance(payload[0], list):
        payload = payload[0]
    if not isinstance(payload, list):
        raise ValueError("expected a list of entities")
    out = []
    for item in payload:
        if not isinstance(item, dict):
            raise ValueError("expected an object per entity")
        label = item.get("entity_group") or item.get("entity")
        start, end = item.get("start"), item.get("end")
        if not isinstance(label, str) or not isinstance(start, int) or not isinstance(end, int):
            continue  # a slow tokenizer's answer has no offsets: nothing to redact by
        out.append((label, start, end, float(item.get("score", 0.0))))
    return out


class RemoteNer:
    """The hosted token classifier. ``find(texts)`` returns the entities of each text, or raises
    ``NerUnavailable`` within the options' deadline."""

    def __init__(
        self, options: RemoteNerOptions, entities: Sequence[str], threshold: float, path: str, logger: logging.Logger
    ) -> None:
        self.options = options
        self.model = HostedModel(options, name=f"pii-detector:{options.model}", path=path, logger=logger)
        labels = {**DEFAULT_LABELS, **{k.upper(): v for k, v in options.labels.items()}}
        wanted = set(entities)
        self.labels = {label: entity for label, entity in labels.items() if entity in wanted}
        self.threshold = threshold

    def _payload(self, text: str) -> dict[str, Any]:
        payload: dict[str, Any] = {"inputs": text}
        if self.options.aggregation_strategy is not None:
            payload["parameters"] = {"aggregation_strategy": self.options.aggregation_strategy}
        return payload

    def _entity(self, label: str) -> str | None:
        label = label.upper()
        if label[:2] in ("B-", "I-", "E-", "S-", "L-", "U-"):
            label = label[2:]
        return self.labels.get(label)

    async def _one_text(self, text: str, errors: list[str]) -> list[Found]:
        from keeptrust_presidio.analysis import Found

        found: dict[tuple[int, int], Found] = {}

        async def piece(offset: int, part: str) -> None:
            try:
                entities = parse_entities(await self.model.post(self._payload(part)))
            except GatewayError as exc:
                errors.append(f"upstream: {exc.code or type(exc).__name__}")
                return
            except (ValueError, orjson.JSONDecodeError):
                errors.append("unexpected answer shape")
                return
            for label, start, end, score in entities:
                entity = self._entity(label)
                if entity is None or score < self.threshold or not 0 <= start < end <= len(part):
                    continue
                # Offsets past whitespace the tokenizer kept are trimmed: the redaction covers the word.
                while start < end and part[start].isspace():
                    start += 1
                while end > start and part[end - 1].isspace():
                    end -= 1
                span = (offset + start, offset + end)
                if span not in found or found[span].score < score:
                    found[span] = Found(entity, span[0], span[1], round(score, 4))

        async with trio.open_nursery() as nursery:
            for offset, part in pieces(text, self.options.max_chars, PIECE_OVERLAP):
                nursery.start_soon(piece, offset, part)
        return sorted(found.values(), key=lambda f: (f.start, f.end))

    async def find(self, texts: Sequence[str]) -> list[list[Found]]:
        results: list[list[Found]] = [[] for _ in texts]
        errors: list[str] = []

        async def one(i: int, text: str) -> None:
            results[i] = await self._one_text(text, errors)

        with trio.move_on_after(self.options.timeout_seconds) as scope:
            async with trio.open_nursery() as nursery:
                for i, text in enumerate(texts):
                    nursery.start_soon(one, i, text)
        if scope.cancelled_caught:
            raise NerUnavailable("timeout")
        if errors:
            raise NerUnavailable(errors[0])
        return results

    async def aclose(self) -> None:
        await self.model.aclose()


def merge(local: Sequence[Found], remote: Sequence[Found]) -> list[Found]:
    """Presidio's findings plus the model's, without a remote span that overlaps a local one of the
    same type (the local one already covers it)."""
    out = list(local)
    for r in remote:
        if not any(f.entity == r.entity and f.start < r.end and r.start < f.end for f in local):
            out.append(r)
    return sorted(out, key=lambda f: (f.start, f.end))

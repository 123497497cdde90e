"""``detector: huggingface``: a Hugging Face text-classification model through the Inference
Providers router (``POST {router}/hf-inference/models/{model}``) or a dedicated endpoint (``url``).

The request is the one huggingface_hub's ``InferenceClient.text_classification`` sends (huggingface_hub
``inference/_client.py`` and ``inference/_providers/hf_inference.py``; the task schema
``text-classification/input.json`` of huggingface.js ``@huggingface/tasks``): one text per request,
``{"inputs": "<text>", "parameters": {"function_to_apply": ..., "top_k": ...}}`` with unset parameters
left out (no ``parameters`` key when none is set). The answer is ``[[{"label", "score"}, ...]]`` (the
router) or ``[{"label", "score"}, ...]`` (some endpoints). Several texts of one request are classified
concurrently, one HTTP request each.

The call goes through ``keeptrust.hosted_models.HostedModel`` (keeptrust's upstream transport:
pooling, timeouts, error mapping) with the token from ``secret_key_ref``. A slow or failing
classifier never hangs a request: the whole call has a deadline, and ``fail_mode`` says what
happens then: ``open`` lets the text through (recorded as ``detector_unavailable``), ``closed``
refuses it with 503.

The router is ``router_url``, else ``KEEPTRUST_HF_ROUTER_URL`` (the variable keeptrust-hf reads),
else https://router.huggingface.co.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Literal

import attrs
import orjson
import trio

from keeptrust.errors import GatewayError
from keeptrust.hosted_models import HostedModel, HostedModelOptions
from keeptrust_guard.detection import Detection, DetectorSetup, Finding, Segment, merge

# Labels of common public classifiers, mapped to the categories the policies use. Labels not listed
# (``SAFE``, ``neutral``, ``LABEL_0`` ...) count as benign. ``labels`` in the options extends this.
INJECTION_LABELS = {
    "injection": "prompt_injection",
    "jailbreak": "prompt_injection",
    "unsafe": "prompt_injection",
    "malicious": "prompt_injection",
    "label_1": "prompt_injection",
}
CONTENT_LABELS = {
    "toxic": "toxicity",
    "toxicity": "toxicity",
    "severe_toxic": "toxicity",
    "severe_toxicity": "toxicity",
    "obscene": "toxicity",
    "offensive": "toxicity",
    "insult": "harassment",
    "harassment": "harassment",
    "threat": "violence",
    "violence": "violence",
    "identity_hate": "hate_speech",
    "identity_attack": "hate_speech",
    "hate": "hate_speech",
    "hateful": "hate_speech",
    "sexual_explicit": "sexual",
    "sexual": "sexual",
    "self_harm": "self_harm",
    "self-harm": "self_harm",
}


@attrs.frozen(kw_only=True)
class HFDetectorOptions(HostedModelOptions):
    """``model``, ``secret_key_ref``, ``router_url``, ``url``, ``timeout_seconds`` and ``fail_mode``
    as ``keeptrust.hosted_models.HostedModelOptions`` documents them, and the classification task's own."""

    # Extra or overriding label → category entries (labels compared case-insensitively).
    labels: dict[str, str] = attrs.Factory(dict)
    # Texts are cut to this many characters (classifiers see ~512 tokens anyway).
    max_chars: int = 4000
    # Ask for every label's score (multi-label toxicity models answer only the top one otherwise).
    top_k: int | None = None
    # The model's output transform: sigmoid for multi-label models (toxicity), softmax otherwise.
    function_to_apply: Literal["sigmoid", "softmax", "none"] | None = None


def parse_scores(payload: Any, count: int) -> list[list[tuple[str, float]]]:
    """Normalise the answer shapes of text classification to one label list per input:
    ``[[{label, score}]]`` (batch), ``[{label, score}]`` (one input) or ``{labels, scores}``."""
    if isinstance(payload, dict) and isinstance(payload.get("labels"), list):
        scores = payload.get("scores") or []
        payload = [[{"label": lb, "score": sc} for lb, sc in zip(payload["labels"], scores, strict=False)]]
    if not isinstance(payload, list):
        raise ValueError("expected a list")
    if payload and all(isinstance(x, dict) for x in payload):
        payload = [payload] if count == 1 else [[x] for x in payload]
    out: list[list[tuple[str, float]]] = []
    for item in payload:
        row = item if isinstance(item, list) else [item]
        out.append([(str(x["label"]), float(x["score"])) for x in row if isinstance(x, dict) and "label" in x])
    if len(out) != count:
        raise ValueError(f"expected {count} results, got {len(out)}")
    return out


class HuggingFaceDetector:
    name: ClassVar[str] = "huggingface"
    config_class: ClassVar[type] = HFDetectorOptions

    def __init__(self, config: HFDetectorOptions, setup: DetectorSetup) -> None:
        self.config = config
        self.setup = setup
        self.logger = setup.logger
        self.model = HostedModel(config, name=f"guard:{setup.policy}", path=setup.path, logger=self.logger)
        self.url = self.model.url
        base = INJECTION_LABELS if setup.task == "prompt_injection" else CONTENT_LABELS
        self.labels = {**base, **{k.lower(): v for k, v in config.labels.items()}}

    def _payload(self, text: str) -> dict[str, Any]:
        payload: dict[str, Any] = {"inputs": text[: self.config.max_chars]}
        parameters = {
            k: v
            for k, v in (("function_to_apply", self.config.function_to_apply), ("top_k", self.config.top_k))
            if v is not None
        }
        if parameters:
            payload["parameters"] = parameters
        return payload

    async def _classify(self, text: str) -> list[tuple[str, float]]:
        return parse_scores(await self.model.post(self._payload(text)), 1)[0]

    async def _call(self, segments: Sequence[Segment]) -> list[list[tuple[str, float]]]:
        rows: list[list[tuple[str, float]]] = [[] for _ in segments]

        async def one(i: int, text: str) -> None:
            rows[i] = await self._classify(text)

        async with trio.open_nursery() as nursery:
            for i, segment in enumerate(segments):
                nursery.start_soon(one, i, segment.text)
        return rows

    async def detect(self, segments: Sequence[Segment]) -> Detection:
        if not segments:
            return Detection()
        rows: list[list[tuple[str, float]]] | None = None
        error = "timeout"
        with trio.move_on_after(self.config.timeout_seconds):
            try:
                rows = await self._call(segments)
            except GatewayError as exc:
                error = f"upstream: {exc.code or type(exc).__name__}"
            except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
                error = "unexpected answer shape"
        if rows is None:
            self.logger.warning(
                "policy '%s': classifier %s unavailable (%s); fail-%s",
                self.setup.policy,
                self.config.model,
                error,
                self.config.fail_mode,
            )
            return Detection(error=error)
        findings = [
            Finding(category, round(score, 4), (f"label:{label}",), "model", segment.where, segment.role)
            for segment, row in zip(segments, rows, strict=True)
            for label, score in row
            if (category := self.labels.get(label.lower())) is not None and category in self.setup.categories
        ]
        # The highest score per category and role, as every detector reports.
        return merge([Detection(tuple(findings))])

    def stream_scanner(self) -> Callable[[str], Detection] | None:
        return None

    async def aclose(self) -> None:
        await self.model.aclose()

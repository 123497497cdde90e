"""``ner: {detector: huggingface}`` against a loopback fake of the hf-inference token-classification
route, driven end to end with the openai client."""

from __future__ import annotations

import re
from typing import Any

import openai
import pytest

from keeptrust.testing import FakeHostedTask, serve_app

MODEL = "acme/pii-ner"
TOKEN = "hf_test_token_value_987654"
# Lower-case made-up names: a model trained on cased text misses them, the hosted model does not.
NAMES = re.compile(r"\b(zorblat quibbs|mirela vantongeren)\b")


class FakeTokenClassifier(FakeHostedTask):
    """hf-inference's token-classification: a list of entities with character offsets (parameters
    ``aggregation_strategy``, ``ignore_labels``, ``stride``); finds the ``NAMES``, labelled ``label``."""

    def __init__(self, delay: float = 0.0, status: int = 200, label: str = "PER") -> None:
        self.label = label
        super().__init__(("aggregation_strategy", "ignore_labels", "stride"), self._entities, delay, status)

    def _entities(self, text: str) -> list[dict[str, Any]]:
        return [
            {"entity_group": self.label, "score": 0.97, "word": m.group(0), "start": m.start(), "end": m.end()}
            for m in NAMES.finditer(text)
        ]


@pytest.fixture
def ner_server():
    servers = []

    def start(**kwargs: Any) -> tuple[FakeTokenClassifier, str]:
        app = FakeTokenClassifier(**kwargs)
        servers.append(serve_app(app))
        return app, servers[-1].url

    yield start
    for server in servers:
        server.stop()


def _ner(url: str, **options: Any) -> dict[str, Any]:
    return {
        "detector": "huggingface",
        "model": MODEL,
        "router_url": url,
        "secret_key_ref": {"env": "PII_HF_TOKEN"},
        **options,
    }


def _ask(gw: Any, text: str) -> Any:
    return gw.client().chat.completions.create(model="fake/model", messages=[{"role": "user", "content": text}])


def test_the_model_receives_what_huggingface_hub_sends(
    ner_server, echo_upstream, gateway_factory, pii_config, monkeypatch
):
    from huggingface_hub import InferenceClient

    app, url = ner_server()
    client = InferenceClient(model=f"{url}/hf-inference/models/{MODEL}", token=TOKEN)
    entities = client.token_classification("ask zorblat quibbs", aggregation_strategy="simple")
    assert [(e.entity_group, e.start, e.end) for e in entities] == [("PER", 4, 18)]
    reference = app.requests[-1]
    monkeypatch.setenv("PII_HF_TOKEN", TOKEN)
    gw = gateway_factory(pii_config(echo_upstream.url, ner=_ner(url)))
    before = len(app.requests)
    _ask(gw, "ask zorblat quibbs")
    sent = app.requests[before]  # the request's text (the answer is checked after it)
    assert (
        sent["body"]
        == reference["body"]
        == {"inputs": "ask zorblat quibbs", "parameters": {"aggregation_strategy": "simple"}}
    )
    assert sent["path"] == reference["path"] == f"/hf-inference/models/{MODEL}"
    assert sent["headers"]["authorization"] == f"Bearer {TOKEN}"


def test_the_models_entities_are_redacted_beside_presidios(
    ner_server, echo_upstream, gateway_factory, pii_config, monkeypatch
):
    _, url = ner_server()
    monkeypatch.setenv("PII_HF_TOKEN", TOKEN)
    gw = gateway_factory(pii_config(echo_upstream.url, ner=_ner(url)))
    _ask(gw, "please forward this to zorblat quibbs at zq@example.com")
    assert echo_upstream.app.last.body["messages"][0]["content"] == "please forward this to <PERSON> at <EMAIL_ADDRESS>"


def test_long_texts_go_in_pieces_with_offsets_kept(ner_server, echo_upstream, gateway_factory, pii_config, monkeypatch):
    app, url = ner_server()
    monkeypatch.setenv("PII_HF_TOKEN", TOKEN)
    gw = gateway_factory(pii_config(echo_upstream.url, ner=_ner(url, max_chars=400)))
    filler = "the weather report says it will rain again tomorrow. " * 20
    _ask(gw, filler + "call mirela vantongeren today")
    assert echo_upstream.app.last.body["messages"][0]["content"] == filler + "call <PERSON> today"
    assert len(app.requests) > 2 and all(len(r["body"]["inputs"]) <= 400 for r in app.requests)


def test_labels_map_to_entities_and_can_be_extended(
    ner_server, echo_upstream, gateway_factory, pii_config, monkeypatch
):
    _, url = ner_server(label="B-NAME")
    monkeypatch.setenv("PII_HF_TOKEN", TOKEN)
    unmapped = gateway_factory(pii_config(echo_upstream.url, ner=_ner(url)))
    _ask(unmapped, "ask zorblat quibbs")
    assert echo_upstream.app.last.body["messages"][0]["content"] == "ask zorblat quibbs"
    mapped = gateway_factory(pii_config(echo_upstream.url, ner=_ner(url, labels={"name": "PERSON"})))
    _ask(mapped, "ask zorblat quibbs")
    assert echo_upstream.app.last.body["messages"][0]["content"] == "ask <PERSON>"


def test_a_slow_model_fails_open_with_presidios_findings(
    ner_server, echo_upstream, gateway_factory, pii_config, monkeypatch
):
    _, url = ner_server(delay=2.0)
    monkeypatch.setenv("PII_HF_TOKEN", TOKEN)
    gw = gateway_factory(pii_config(echo_upstream.url, ner=_ner(url, timeout_seconds=0.2)))
    _ask(gw, "mail zorblat quibbs at zq@example.com")
    assert echo_upstream.app.last.body["messages"][0]["content"] == "mail zorblat quibbs at <EMAIL_ADDRESS>"


@pytest.mark.parametrize("kind", ["timeout", "error"])
def test_fail_closed_refuses_with_503(kind, ner_server, echo_upstream, gateway_factory, pii_config, monkeypatch):
    _, url = ner_server(delay=2.0) if kind == "timeout" else ner_server(status=500)
    monkeypatch.setenv("PII_HF_TOKEN", TOKEN)
    gw = gateway_factory(pii_config(echo_upstream.url, ner=_ner(url, timeout_seconds=0.2, fail_mode="closed")))
    with pytest.raises(openai.InternalServerError) as info:
        _ask(gw, "mail zorblat quibbs")
    assert info.value.status_code == 503 and info.value.body["code"] == "pii_ner_unavailable"
    assert TOKEN not in str(info.value.body)
    assert not echo_upstream.app.requests


def test_a_missing_token_is_a_start_up_error(echo_upstream, pii_config, monkeypatch):
    from keeptrust.errors import ConfigError
    from keeptrust.testing import start_gateway

    monkeypatch.delenv("PII_HF_TOKEN", raising=False)
    with pytest.raises(ConfigError) as info:
        start_gateway(
            pii_config(echo_upstream.url, ner=_ner("http://127.0.0.1:9")),
            environ={"KEEPTRUST_LOAD_PLUGINS": "presidio"},
        )
    assert "policies.policy.pii-detector.ner.secret_key_ref.env" in str(info.value) and "PII_HF_TOKEN" in str(
        info.value
    )

"""``detector: huggingface`` against a loopback fake of the hf-inference text-classification route."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from keeptrust.testing import FakeHostedTask, serve_app

MODEL = "acme/injection-classifier"


class FakeClassifier(FakeHostedTask):
    """hf-inference's text-classification: one label list per input (parameters ``function_to_apply``
    and ``top_k``). Texts containing "attack" (or "hate") score high."""

    def __init__(self, delay: float = 0.0, status: int = 200) -> None:
        super().__init__(("function_to_apply", "top_k"), lambda text: [self._labels(text)], delay, status)

    @staticmethod
    def _labels(text: str) -> list[dict[str, Any]]:
        bad = "attack" in text or "hate" in text
        return [
            {"label": "INJECTION" if bad else "SAFE", "score": 0.98},
            {"label": "SAFE" if bad else "INJECTION", "score": 0.02},
        ]


@pytest.fixture
def classifier():
    app = FakeClassifier()
    server = serve_app(app)
    try:
        yield app, server.url
    finally:
        server.stop()


def _policy(url: str, **options: Any) -> dict[str, Any]:
    opts = {"model": MODEL, "router_url": url, "secret_key_ref": {"env": "GUARD_HF_TOKEN"}, **options}
    return {"detector": "huggingface", "detector_options": opts}


def _ask(gw, text: str):
    return gw.client().chat.completions.create(model="fake/model", messages=[{"role": "user", "content": text}])


def test_the_classifier_receives_the_documented_wire_format(
    classifier, fake_upstream, gateway_factory, guard_config, monkeypatch
):
    app, url = classifier
    monkeypatch.setenv("GUARD_HF_TOKEN", "hf_test_token_value_123456")
    gw = gateway_factory(guard_config(fake_upstream.url, {"prompt-injection": _policy(url)}))
    assert _ask(gw, "hello there").choices[0].message.content == "You said: hello there"
    sent = app.requests[-1]
    assert sent["path"] == f"/hf-inference/models/{MODEL}"
    assert sent["headers"]["authorization"] == "Bearer hf_test_token_value_123456"
    assert sent["body"] == {"inputs": "hello there"}


def test_requests_equal_what_huggingface_hub_sends(
    classifier, fake_upstream, gateway_factory, guard_config, monkeypatch
):
    # The official client against the same fake: its request is the reference for ours.
    from huggingface_hub import InferenceClient

    app, url = classifier
    client = InferenceClient(model=f"{url}/hf-inference/models/{MODEL}", token="hf_test_token_value_123456")
    answer = client.text_classification("this is an attack", top_k=2, function_to_apply="sigmoid")
    assert answer[0].label == "INJECTION"
    reference = app.requests[-1]["body"]
    monkeypatch.setenv("GUARD_HF_TOKEN", "hf_test_token_value_123456")
    policy = _policy(url, top_k=2, function_to_apply="sigmoid")
    gw = gateway_factory(guard_config(fake_upstream.url, {"prompt-injection": policy}))
    with pytest.raises(openai.BadRequestError):
        _ask(gw, "this is an attack")
    assert (
        app.requests[-1]["body"]
        == reference
        == {"inputs": "this is an attack", "parameters": {"top_k": 2, "function_to_apply": "sigmoid"}}
    )


def test_each_text_is_its_own_request(classifier, fake_upstream, gateway_factory, guard_config, monkeypatch):
    app, url = classifier
    monkeypatch.setenv("GUARD_HF_TOKEN", "hf_test_token_value_123456")
    gw = gateway_factory(guard_config(fake_upstream.url, {"prompt-injection": _policy(url)}))
    before = len(app.requests)
    messages = [
        {"role": "user", "content": "first question"},
        {"role": "tool", "tool_call_id": "c1", "content": "a tool result"},
        {"role": "user", "content": "second question"},
    ]
    gw.client().chat.completions.create(model="fake/model", messages=messages)
    assert sorted(r["body"]["inputs"] for r in app.requests[before:]) == [
        "a tool result",
        "first question",
        "second question",
    ]


def test_a_positive_label_blocks(
    classifier, fake_upstream, gateway_factory, guard_config, monkeypatch, tmp_path, audit_decisions
):
    _, url = classifier
    monkeypatch.setenv("GUARD_HF_TOKEN", "hf_test_token_value_123456")
    gw = gateway_factory(guard_config(fake_upstream.url, {"prompt-injection": _policy(url)}, tmp_path))
    with pytest.raises(openai.BadRequestError) as info:
        _ask(gw, "this is an attack")
    assert info.value.body["param"] == "prompt-injection" and "attack" not in info.value.body["message"]
    gw.stop()
    found = next(d for d in audit_decisions(tmp_path) if d["policy"] == "prompt-injection")
    assert found["details"]["detector"] == "huggingface" and found["details"]["score"] == 0.98
    assert found["details"]["signals"] == ["label:INJECTION"]


def test_content_labels_map_to_categories(classifier, fake_upstream, gateway_factory, guard_config, monkeypatch):
    _, url = classifier
    monkeypatch.setenv("GUARD_HF_TOKEN", "hf_test_token_value_123456")
    policy = _policy(url, labels={"INJECTION": "hate_speech"})
    gw = gateway_factory(guard_config(fake_upstream.url, {"content-filter": policy}))
    with pytest.raises(openai.BadRequestError) as info:
        _ask(gw, "some hate")
    assert "hate_speech" in info.value.body["message"]


@pytest.fixture
def slow_classifier():
    app = FakeClassifier(delay=5.0)
    server = serve_app(app)
    try:
        yield server.url
    finally:
        server.stop()


def test_timeout_fails_open_and_is_recorded(
    slow_classifier, fake_upstream, gateway_factory, guard_config, monkeypatch, tmp_path, audit_decisions
):
    monkeypatch.setenv("GUARD_HF_TOKEN", "hf_test_token_value_123456")
    policy = _policy(slow_classifier, timeout_seconds=0.2, fail_mode="open")
    gw = gateway_factory(guard_config(fake_upstream.url, {"prompt-injection": policy}, tmp_path))
    assert _ask(gw, "this is an attack").choices[0].message.content.startswith("You said: ")
    gw.stop()
    found = next(d for d in audit_decisions(tmp_path) if d["policy"] == "prompt-injection")
    assert found["reason"] == "detector_unavailable" and found["details"]["fail_mode"] == "open"


def test_timeout_fails_closed_with_503(slow_classifier, fake_upstream, gateway_factory, guard_config, monkeypatch):
    monkeypatch.setenv("GUARD_HF_TOKEN", "hf_test_token_value_123456")
    policy = _policy(slow_classifier, timeout_seconds=0.2, fail_mode="closed")
    gw = gateway_factory(guard_config(fake_upstream.url, {"prompt-injection": policy}))
    with pytest.raises(openai.InternalServerError) as info:
        _ask(gw, "hello")
    assert info.value.status_code == 503 and info.value.body["param"] == "prompt-injection"
    assert not fake_upstream.app.requests


def test_an_upstream_error_fails_closed(fake_upstream, gateway_factory, guard_config, monkeypatch):
    server = serve_app(FakeClassifier(status=500))
    try:
        monkeypatch.setenv("GUARD_HF_TOKEN", "hf_test_token_value_123456")
        gw = gateway_factory(
            guard_config(fake_upstream.url, {"prompt-injection": _policy(server.url, fail_mode="closed")})
        )
        with pytest.raises(openai.InternalServerError):
            _ask(gw, "hello")
    finally:
        server.stop()


def test_missing_token_is_a_start_up_error(fake_upstream, guard_config, monkeypatch):
    from keeptrust.errors import ConfigError
    from keeptrust.testing import start_gateway

    monkeypatch.delenv("GUARD_HF_TOKEN", raising=False)
    with pytest.raises(ConfigError) as info:
        start_gateway(guard_config(fake_upstream.url, {"prompt-injection": _policy("http://127.0.0.1:9")}))
    assert "policies.policy.prompt-injection.detector_options.secret_key_ref.env" in str(info.value)
    assert "GUARD_HF_TOKEN" in str(info.value)

"""The exact request hf-inference receives for OpenAI calls, compared with the one huggingface_hub
2.4.0's own provider helper builds for the same task (called here to get the reference)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from keeptrust_hf.testing import TOKEN, hf_target, reference_request

pytest.importorskip("huggingface_hub")

TTS = "espnet/kan-bayashi_ljspeech_vits"
SDXL = "stabilityai/stable-diffusion-xl-base-1.0"
BGE = "BAAI/bge-small-en-v1.5"


def reference(patch: pytest.MonkeyPatch, task: str, hub_model: str, inputs: Any, parameters: dict[str, Any]) -> Any:
    return reference_request(patch, "hf-inference", task, hub_model, hub_model, inputs, parameters, TOKEN)


def assert_same(sent: Any, ref: Any) -> None:
    assert sent.path == httpx.URL(ref.url).path
    assert sent.header("authorization") == ref.headers["authorization"]
    assert sent.header("content-type") == ref.headers["content-type"]
    assert sent.json == ref.json


def test_text_to_speech_sends_the_parameters_object(hf, gateway, monkeypatch):
    hf.app.add_mapping(TTS, "hf-inference", task="text-to-speech")
    gateway(hf_target("open")).client().audio.speech.create(
        model=f"{TTS}:hf-inference", input="Hello!", voice="alloy"
    ).read()
    # InferenceClient.text_to_speech passes its generation parameters, all None here.
    assert_same(
        hf.app.requests_to("/hf-inference")[-1], reference(monkeypatch, "text-to-speech", TTS, "Hello!", {"seed": None})
    )


def test_text_to_image(hf, gateway, monkeypatch):
    hf.app.add_mapping(SDXL, "hf-inference", task="text-to-image")
    client = gateway(hf_target("open")).client()
    client.images.generate(model=f"{SDXL}:hf-inference", prompt="a fox")
    assert_same(
        hf.app.requests_to("/hf-inference")[-1], reference(monkeypatch, "text-to-image", SDXL, "a fox", {"width": None})
    )
    client.images.generate(model=f"{SDXL}:hf-inference", prompt="a fox", size="512x768")
    ref = reference(monkeypatch, "text-to-image", SDXL, "a fox", {"width": 512, "height": 768})
    assert_same(hf.app.requests_to("/hf-inference")[-1], ref)


def test_feature_extraction(hf, gateway, monkeypatch):
    hf.app.add_mapping(BGE, "hf-inference", task="feature-extraction")
    gateway(hf_target("open")).client().embeddings.create(model=f"{BGE}:hf-inference", input="hello")
    ref = reference(monkeypatch, "feature-extraction", BGE, "hello", {})
    assert_same(hf.app.requests_to("/hf-inference")[-1], ref)

"""The exact request fal-ai receives, compared with the one huggingface_hub 2.4.0's own provider
helper builds for the same call (the helper is called here to get the reference: path, the
headers that matter, body)."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest

from keeptrust_falai.testing import MP3
from keeptrust_hf.testing import TOKEN, reference_request

pytest.importorskip("huggingface_hub")

FLUX = "black-forest-labs/FLUX.1-dev"
KOKORO = "hexgrad/Kokoro-82M"
WHISPER = "openai/whisper-large-v3"


def reference(
    patch: pytest.MonkeyPatch, task: str, hub_model: str, provider_id: str, inputs: Any, parameters: dict[str, Any]
) -> Any:
    """What ``InferenceClient(provider="fal-ai", api_key=<hf token>)`` sends for ``task``."""
    return reference_request(patch, "fal-ai", task, hub_model, provider_id, inputs, parameters, TOKEN)


def assert_same(sent: Any, ref: Any) -> None:
    url = httpx.URL(ref.url)
    assert url.host == "router.huggingface.co"
    # The gateway's router is the fake: compare the path (and query) under it.
    assert sent.path == url.path
    assert sent.query == dict(url.params)
    assert sent.headers["authorization"] == ref.headers["authorization"]
    assert sent.headers["content-type"] == ref.headers["content-type"]
    assert sent.body == ref.json


def test_text_to_image_is_the_synchronous_route(world, gateway, monkeypatch):
    gateway().client().images.generate(model=FLUX, prompt="a lighthouse at dawn", size="1024x768")
    ref = reference(
        monkeypatch, "text-to-image", FLUX, "fal-ai/flux/dev", "a lighthouse at dawn", {"width": 1024, "height": 768}
    )
    assert [r.method for r in world.fal.requests] == ["POST"]
    assert_same(world.fal.requests[0], ref)


def test_text_to_speech_sends_text_only(world, gateway, monkeypatch):
    gateway().client().audio.speech.create(model=KOKORO, input="Hello there", voice="alloy").read()
    ref = reference(monkeypatch, "text-to-speech", KOKORO, "fal-ai/kokoro/american-english", "Hello there", {})
    assert_same(world.fal.calls("POST")[0], ref)
    assert "prompt" not in world.fal.calls("POST")[0].body


def test_speech_recognition_sends_no_task(world, gateway, monkeypatch):
    gateway().client().audio.transcriptions.create(model=WHISPER, file=("a.mp3", io.BytesIO(MP3), "audio/mpeg"))
    ref = reference(monkeypatch, "automatic-speech-recognition", WHISPER, "fal-ai/whisper", MP3, {})
    assert_same(world.fal.calls("POST")[0], ref)
    assert "task" not in world.fal.calls("POST")[0].body

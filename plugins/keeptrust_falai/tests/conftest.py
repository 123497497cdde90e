"""Fixtures: the fake fal (as the router's fal route), keeptrust-hf's fake Hub for the mapping API,
and gateways pointed at both."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest

from keeptrust.testing import BackgroundServer, RunningGateway, serve_app
from keeptrust_falai.testing import FakeFal
from keeptrust_hf.testing import LOOPBACK_DOWNLOADS, TOKEN, TOKEN_ENV, FakeHF, hf_gateways, serve_fake_hf

# Hub model → (fal app, Hub task), as the Hub mapping API lists them for fal-ai.
MODELS = {
    "black-forest-labs/FLUX.1-dev": ("fal-ai/flux/dev", "text-to-image"),
    "black-forest-labs/FLUX.1-Kontext-dev": ("fal-ai/flux-kontext/dev", "image-to-image"),
    "hexgrad/Kokoro-82M": ("fal-ai/kokoro/american-english", "text-to-speech"),
    "openai/whisper-large-v3": ("fal-ai/whisper", "automatic-speech-recognition"),
}


@attrs.define
class FalWorld:
    fal: FakeFal
    fal_server: BackgroundServer
    hub: FakeHF
    hub_server: BackgroundServer


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[FalWorld]:
    fal = FakeFal(prefix="/fal-ai", keys={f"Bearer {TOKEN}"})
    hub = FakeHF(token=TOKEN)
    for hub_model, (app, task) in MODELS.items():
        hub.add_mapping(hub_model, "fal-ai", app, task)
    fal_server = serve_app(fal)
    try:
        with serve_fake_hf(hub) as hub_server:
            # The router is the fake fal; the Hub (mapping API) is keeptrust-hf's fake.
            monkeypatch.setenv("KEEPTRUST_HF_ROUTER_URL", fal_server.url)
            monkeypatch.setenv("KEEPTRUST_HF_HUB_URL", hub_server.url)
            yield FalWorld(fal, fal_server, hub, hub_server)
    finally:
        fal_server.stop()


def hf_target(target_id: str = "hf", **keys: Any) -> dict[str, Any]:
    # Fast polls keep the queue tests quick; nothing asserts on time.
    return {
        "id": target_id,
        "provider": "huggingface",
        "secret_key_ref": {"env": TOKEN_ENV},
        "poll_interval_seconds": 0.001,
        "downloads": LOOPBACK_DOWNLOADS,
        **keys,
    }


@pytest.fixture
def gateway() -> Iterator[Callable[..., RunningGateway]]:
    """``gateway(*targets, environ=None, extra_plugins=(), disable=(), **config)``; the default
    target is ``hf_target()``."""
    with hf_gateways(hf_target()) as start:
        yield start

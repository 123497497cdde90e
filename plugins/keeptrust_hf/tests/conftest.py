"""Fixtures: a fake Hugging Face on loopback, and gateways pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from keeptrust.testing import RunningGateway
from keeptrust_hf.testing import TOKEN, FakeHF, fake_hf_environ, hf_gateways, serve_fake_hf


@pytest.fixture
def hf(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A served ``FakeHF`` (``hf.app``, ``hf.url``) with the gateway's environment pointed at it."""
    app = FakeHF(token=TOKEN)
    with serve_fake_hf(app) as server:
        for key, value in fake_hf_environ(server).items():
            monkeypatch.setenv(key, value)
        server.app = app
        yield server


@pytest.fixture
def gateway() -> Iterator[Callable[..., RunningGateway]]:
    """``gateway(*targets, environ=None, disable=(), **config)`` starts a gateway with the HF token set;
    ``disable`` names plugins to leave out (``falai``, to test the gateway without keeptrust-falai)."""
    with hf_gateways() as start:
        yield start

"""Shared fixtures: one real Presidio analyzer per test session, and loopback upstreams."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest

from keeptrust.demo import FakeOpenAI
from keeptrust.demo.asgi import accept
from keeptrust.testing import openai_target
from keeptrust.testing.servers import BackgroundServer
from keeptrust_presidio.analysis import Detector
from keeptrust_presidio.config import PiiDetectorConfig


@pytest.fixture(scope="session")
def detector() -> Detector:
    """The analyzer with the policy's default configuration, built and warmed once."""
    built = Detector(PiiDetectorConfig())
    built.warm_up()
    return built


class ChunkedUpstream:
    """An OpenAI-compatible chat upstream that streams exactly the given text pieces, so a test can
    cut an e-mail address or a card number wherever it likes."""

    def __init__(self, chunks: list[str]) -> None:
        self.chunks = chunks
        self.requests: list[Any] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        incoming = await accept(scope, receive, send)
        if incoming is None:
            return
        self.requests.append(incoming.json)
        base = {
            "id": "chatcmpl-chunked",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": "fake/model",
        }
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        events = [
            {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}
        ]
        events += [
            {**base, "choices": [{"index": 0, "delta": {"content": c}, "finish_reason": None}]} for c in self.chunks
        ]
        events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        for event in events:
            await send(
                {"type": "http.response.body", "body": b"data: " + orjson.dumps(event) + b"\n\n", "more_body": True}
            )
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": False})


def _pii_config(url: str, chain: tuple[str, ...] = ("pii-detector",), **policy: Any) -> dict[str, Any]:
    return {
        "providers": {"targets": [openai_target(url)]},
        "policies": {"chain": list(chain), "policy": {"pii-detector": policy}},
    }


@pytest.fixture
def pii_config() -> Any:
    """``pii_config(url, **policy)``: a gateway config with one target at ``url`` and the
    pii-detector configured by ``policy``."""
    return _pii_config


@pytest.fixture
def chunked_upstream(serve: Any) -> Any:
    """``chunked_upstream(chunks)`` -> a started server streaming exactly those pieces."""
    return lambda chunks: serve(ChunkedUpstream(chunks))


@pytest.fixture
def echo_upstream(serve: Any) -> BackgroundServer:
    return serve(FakeOpenAI())


@pytest.fixture
def gateway_factory(gateway_factory: Any) -> Any:
    """The core's ``gateway_factory``, loading only this plugin (and the built-ins), so these tests
    see this package alone whatever else is installed in the environment."""

    def factory(config: dict[str, Any], **kwargs: Any) -> Any:
        environ = {"KEEPTRUST_LOAD_PLUGINS": "presidio", **(kwargs.pop("environ", None) or {})}
        return gateway_factory(config, environ=environ, **kwargs)

    return factory

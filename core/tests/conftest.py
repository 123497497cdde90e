"""Shared fixtures for the core's tests: a fake upstream, gateways from config dicts, and a small
test-only policy plugin exercising every per-request method."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from keeptrust import Allow, Block, Flag, Modify, Policy, PolicyConfig, StreamBlocked, hookimpl, request_texts
from keeptrust.testing import openai_target


@attrs.frozen(kw_only=True)
class WordsConfig(PolicyConfig):
    block: list[str] = attrs.Factory(list)
    replace: dict[str, str] = attrs.Factory(dict)
    response_block: list[str] = attrs.Factory(list)
    explode: bool = False


class WordsPolicy(Policy):
    """Blocks requests containing a word, rewrites words, and filters streamed answers."""

    name = "words"
    config_class = WordsConfig

    async def on_request(self, ctx: Any) -> Any:
        if self.config.explode:
            raise RuntimeError("boom from a buggy plugin")
        changed = 0
        for ref in request_texts(ctx.operation, ctx.body):
            lowered = ref.text.lower()
            for word in self.config.block:
                if word in lowered:
                    return Block("the request contains a blocked word", reason="blocked word", details={"count": 1})
            text = ref.text
            for old, new in self.config.replace.items():
                if old in text:
                    text = text.replace(old, new)
                    changed += 1
            if text != ref.text:
                ref.set(text)
        return Modify(reason="replaced words", details={"replaced": changed}) if changed else Allow()

    async def on_response(self, ctx: Any, body: Any) -> Any:
        for choice in body.get("choices", []):
            content = choice["message"].get("content") or ""
            if any(w in content for w in self.config.response_block):
                return Block("the answer contains a blocked word", reason="blocked word in answer")
            for old, new in self.config.replace.items():
                content = content.replace(old, new)
            choice["message"]["content"] = content
        return Flag(reason="checked answer")

    def stream_filter(self, ctx: Any) -> Any:
        return _HoldBackFilter(self.config)


class _HoldBackFilter:
    """Replaces words across chunk boundaries by holding back a tail as long as the longest word."""

    def __init__(self, config: WordsConfig) -> None:
        self.config = config
        self.buffer = ""
        self.hold = max((len(w) for w in [*config.replace, *config.response_block]), default=1)

    def _apply(self, text: str) -> str:
        for word in self.config.response_block:
            if word in text:
                raise StreamBlocked("the answer contains a blocked word", reason="blocked word in stream")
        for old, new in self.config.replace.items():
            text = text.replace(old, new)
        return text

    def feed(self, text: str) -> str:
        # Replace whole matches first, then hold back a tail that may still start a match.
        self.buffer = self._apply(self.buffer + text)
        cut = max(len(self.buffer) - self.hold, 0)
        out, self.buffer = self.buffer[:cut], self.buffer[cut:]
        return out

    def flush(self) -> str:
        out, self.buffer = self.buffer, ""
        return self._apply(out)


class TestPlugin:
    """A plugin object (pluggy registers any namespace with hookimpls)."""

    @staticmethod
    @hookimpl
    def register_policies(register: Any) -> None:
        register(WordsPolicy)


@pytest.fixture
def words_plugin() -> Any:
    return TestPlugin


@pytest.fixture
def simple_config(fake_upstream: Any) -> dict[str, Any]:
    return {
        "pack": {"name": "test", "version": "1.0.0"},
        "providers": {"targets": [openai_target(fake_upstream.url, secret_key_ref={"env": "FAKE_KEY"})]},
        "policies": {"chain": []},
    }


# Core tests load only the built-ins, whatever plugin packages are installed beside them.
ENV = {"FAKE_KEY": "sk-test-upstream-key-000000", "KEEPTRUST_LOAD_PLUGINS": "none"}


@pytest.fixture
def env() -> dict[str, str]:
    return dict(ENV)

"""The provider family end to end: a real gateway on loopback whose target is keeptrust's fake
OpenAI-compatible upstream, driven with the openai client. The fixtures come from keeptrust's
pytest plugin."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from keeptrust.errors import ConfigError
from keeptrust.plugins import load_registry

NAME = "{{ cookiecutter.__name }}"


def config(upstream_url: str, **target: Any) -> dict[str, Any]:
    entry = {"id": "my-model", "provider": NAME, "base_url": upstream_url + "/v1", "model": "org/model", **target}
    return {"providers": {"targets": [entry]}}


def test_the_entry_point_registers_the_provider() -> None:
    registry = load_registry()
    assert NAME in registry.providers
    assert registry.plugins[NAME].distribution == "{{ cookiecutter.project_slug }}"


def test_chat(fake_upstream: Any, gateway_factory: Any) -> None:
    client = gateway_factory(config(fake_upstream.url, default_max_tokens=64)).client()
    answer = client.chat.completions.create(model="my-model", messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content == "You said: hi"
    sent = fake_upstream.app.last
    assert sent.path == "/v1/chat/completions"
    assert sent.body["model"] == "org/model"
    assert sent.body["max_tokens"] == 64


def test_the_client_limit_wins(fake_upstream: Any, gateway_factory: Any) -> None:
    client = gateway_factory(config(fake_upstream.url, default_max_tokens=64)).client()
    client.chat.completions.create(model="org/model", messages=[{"role": "user", "content": "hi"}], max_tokens=5)
    assert fake_upstream.app.last.body["max_tokens"] == 5


def test_streamed_chat(fake_upstream: Any, gateway_factory: Any) -> None:
    client = gateway_factory(config(fake_upstream.url)).client()
    stream = client.chat.completions.create(
        model="my-model", messages=[{"role": "user", "content": "stream me"}], stream=True
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "You said: stream me"


def test_embeddings(fake_upstream: Any, gateway_factory: Any) -> None:
    client = gateway_factory(config(fake_upstream.url)).client()
    result = client.embeddings.create(model="my-model", input=["one", "two"])
    assert len(result.data) == 2
    assert fake_upstream.app.last.path == "/v1/embeddings"


def test_an_operation_the_family_cannot_do_is_a_clear_400(fake_upstream: Any, gateway_factory: Any) -> None:
    client = gateway_factory(config(fake_upstream.url)).client()
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.generate(model="my-model", prompt="a cat")
    assert caught.value.body["code"] == "unsupported_operation"


def test_upstream_errors_reach_the_client_in_the_openai_shape(fake_upstream: Any, gateway_factory: Any) -> None:
    client = gateway_factory(config(fake_upstream.url, max_retries=0)).client()
    fake_upstream.app.fail_next(status=500)
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="my-model", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 502
    assert "my-model" in caught.value.body["message"]


def test_a_target_without_base_url_is_refused_at_start_up(gateway_factory: Any) -> None:
    with pytest.raises(ConfigError, match="needs base_url"):
        gateway_factory({"providers": {"targets": [{"id": "my-model", "provider": NAME, "model": "org/model"}]}})

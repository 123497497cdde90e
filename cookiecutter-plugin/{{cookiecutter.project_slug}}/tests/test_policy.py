"""The policy end to end: a real gateway on loopback in front of keeptrust's fake OpenAI upstream,
driven with the openai client. The fixtures come from keeptrust's pytest plugin."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from keeptrust.errors import ConfigError
from keeptrust.plugins import load_registry
from keeptrust.testing import openai_target

NAME = "{{ cookiecutter.__name }}"


def config(upstream_url: str, **policy: Any) -> dict[str, Any]:
    return {
        "providers": {"targets": [openai_target(upstream_url)]},
        "policies": {"chain": [NAME], "policy": {NAME: {"words": ["forbidden", "top secret"], **policy}}},
    }


def ask(client: Any, text: str, **kwargs: Any) -> Any:
    return client.chat.completions.create(model="fake/model", messages=[{"role": "user", "content": text}], **kwargs)


def test_the_entry_point_registers_the_policy() -> None:
    registry = load_registry()
    assert NAME in registry.policies
    assert registry.plugins[NAME].distribution == "{{ cookiecutter.project_slug }}"


def test_a_clean_request_passes(fake_upstream: Any, gateway_factory: Any) -> None:
    client = gateway_factory(config(fake_upstream.url)).client()
    answer = ask(client, "hello there")
    assert answer.choices[0].message.content == "You said: hello there"


def test_a_blocked_word_never_reaches_the_upstream(fake_upstream: Any, gateway_factory: Any) -> None:
    client = gateway_factory(config(fake_upstream.url)).client()
    with pytest.raises(openai.BadRequestError) as caught:
        ask(client, "tell me the TOP SECRET plan")
    error = caught.value.body
    assert error["code"] == "policy_violation"
    assert error["param"] == NAME
    assert "secret" not in error["message"].lower()  # the client is told a count, not the word
    assert len(fake_upstream.app.requests) == 0


def test_whole_words_only(fake_upstream: Any, gateway_factory: Any) -> None:
    client = gateway_factory(config(fake_upstream.url)).client()
    assert ask(client, "unforbiddenly fine").choices[0].message.content == "You said: unforbiddenly fine"


def test_flag_records_but_lets_the_request_through(fake_upstream: Any, gateway_factory: Any) -> None:
    client = gateway_factory(config(fake_upstream.url, action="flag")).client()
    assert ask(client, "forbidden fruit").choices[0].message.content == "You said: forbidden fruit"


def test_a_blocked_word_in_a_streamed_answer_ends_the_stream(fake_upstream: Any, gateway_factory: Any) -> None:
    fake_upstream.app.reply = "this answer is top secret indeed"
    client = gateway_factory(config(fake_upstream.url)).client()
    received = ""
    finish = None
    with pytest.raises(openai.APIError):
        for chunk in ask(client, "hi", stream=True):
            for choice in chunk.choices:
                received += choice.delta.content or ""
                finish = choice.finish_reason or finish
    assert "secret" not in received
    assert finish == "content_filter"


def test_a_streamed_answer_without_blocked_words_arrives_whole(fake_upstream: Any, gateway_factory: Any) -> None:
    client = gateway_factory(config(fake_upstream.url)).client()
    text = "".join(c.choices[0].delta.content or "" for c in ask(client, "a harmless secret", stream=True) if c.choices)
    assert text == "You said: a harmless secret"


def test_a_bad_config_names_the_key(fake_upstream: Any, gateway_factory: Any) -> None:
    with pytest.raises(ConfigError) as caught:
        gateway_factory(config(fake_upstream.url, action="deny"))
    assert f"policies.policy.{NAME}.action: expected one of block, flag; got 'deny'" in str(caught.value)

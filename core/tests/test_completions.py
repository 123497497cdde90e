"""OpenAI's legacy ``/v1/completions`` through the official client, served by a chat target."""

from __future__ import annotations

import openai
import pytest


@pytest.fixture
def gw(gateway_factory, simple_config, env):
    return gateway_factory(simple_config, environ=env)


def test_prompt_string(gw, fake_upstream):
    answer = gw.client().completions.create(model="fake/model", prompt="Hello there", max_tokens=16, temperature=0.1)
    assert answer.object == "text_completion"
    assert answer.id.startswith("cmpl-")
    assert answer.model == "fake/model"
    assert [c.text for c in answer.choices] == ["You said: Hello there"]
    assert answer.choices[0].finish_reason == "stop"
    assert answer.usage.completion_tokens == 4
    sent = fake_upstream.app.last
    assert sent.path == "/v1/chat/completions"
    assert sent.body["messages"] == [{"role": "user", "content": "Hello there"}]
    assert sent.body["max_tokens"] == 16 and sent.body["temperature"] == 0.1


def test_prompt_list_and_n_number_choices_as_openai_does(gw, fake_upstream):
    answer = gw.client().completions.create(model="fake/model", prompt=["one", "two"], n=2, max_tokens=8)
    assert [(c.index, c.text) for c in answer.choices] == [
        (0, "You said: one"),
        (1, "You said: one"),
        (2, "You said: two"),
        (3, "You said: two"),
    ]
    assert answer.usage.completion_tokens == 6  # summed over both calls (the fake counts one sample each)
    assert len([r for r in fake_upstream.app.requests if r.path.endswith("/chat/completions")]) == 2


def test_stream_and_length_finish(gw):
    stream = gw.client().completions.create(
        model="fake/model", prompt="one two three", max_tokens=2, stream=True, stream_options={"include_usage": True}
    )
    text, finish, usage = "", None, None
    for chunk in stream:
        assert chunk.object == "text_completion"
        for choice in chunk.choices:
            text += choice.text
            finish = choice.finish_reason or finish
        usage = chunk.usage or usage
    assert text == "You said: "
    assert finish == "length"
    assert usage is not None and usage.completion_tokens == 2


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"echo": True}, "echo"),
        ({"suffix": "end"}, "suffix"),
        ({"logprobs": 2}, "logprobs"),
        ({"best_of": 3}, "best_of"),
        ({"prompt": [1, 2, 3]}, "prompt"),
        ({"prompt": ["a", "b"], "stream": True}, "prompt"),
    ],
)
def test_unsupported_parameters_are_refused_by_name(gw, kwargs, param):
    args = {"model": "fake/model", "prompt": "x", **kwargs}
    with pytest.raises(openai.BadRequestError) as refused:
        gw.client().completions.create(**args)
    assert refused.value.body["param"] == param
    assert refused.value.body["code"] in ("unsupported_parameter", "invalid_type")


def test_missing_prompt(gw):
    with pytest.raises(openai.BadRequestError) as refused:
        gw.client().post("/completions", body={"model": "fake/model"}, cast_to=object)
    assert refused.value.body["code"] == "missing_required_parameter"

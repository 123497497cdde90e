"""The backend end to end: a real gateway on loopback whose huggingface target goes through
keeptrust-hf's fake Hugging Face (Hub mapping API + Inference Providers router), driven with the
openai client. The fixtures come from keeptrust's pytest plugin and keeptrust_hf.testing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest
from keeptrust_hf.testing import TOKEN, TOKEN_ENV, FakeHF, fake_hf_environ, hf_target, serve_fake_hf

NAME = "{{ cookiecutter.__name }}"
HUB_MODEL = "meta-llama/Llama-3.1-8B-Instruct"
OWN_ID = "{{ cookiecutter.__name }}/llama-3.1-8b"  # this backend's id for the Hub model
USER = [{"role": "user", "content": "hello there"}]


@pytest.fixture
def hf(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHF]:
    """A fake Hugging Face on loopback that maps the Hub model to this backend; keeptrust-hf is
    pointed at it."""
    app = FakeHF(token=TOKEN)
    app.add_mapping(HUB_MODEL, NAME, OWN_ID)
    app.add_mapping("BAAI/bge-small-en-v1.5", NAME, "bge-small", task="feature-extraction")
    with serve_fake_hf(app) as server:
        for key, value in fake_hf_environ(server).items():
            monkeypatch.setenv(key, value)
        yield app


def start(gateway_factory: Any, **target: Any) -> Any:
    config = {"providers": {"targets": [hf_target("hf", **target)]}}
    return gateway_factory(config, environ={TOKEN_ENV: TOKEN}).client()


def test_chat_goes_to_the_backend_route_with_its_own_model_id(hf: FakeHF, gateway_factory: Any) -> None:
    client = start(gateway_factory, model=HUB_MODEL, backend=NAME)
    answer = client.chat.completions.create(model="hf", messages=USER, max_completion_tokens=20)
    assert answer.choices[0].message.content == "You said: hello there"
    sent = hf.last
    assert (sent.method, sent.path) == ("POST", f"/{NAME}/v1/chat/completions")
    assert sent.header("authorization") == f"Bearer {TOKEN}"
    assert sent.json["model"] == OWN_ID
    assert sent.json["max_tokens"] == 20  # param_maps renamed it
    assert "max_completion_tokens" not in sent.json


def test_clients_can_pick_the_backend_per_request(hf: FakeHF, gateway_factory: Any) -> None:
    client = start(gateway_factory)  # an open target: the client names model and backend
    stream = client.chat.completions.create(model=f"{HUB_MODEL}:{NAME}", messages=USER, stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text.strip() == "You said: hello there"
    assert hf.last.path == f"/{NAME}/v1/chat/completions"


def test_embeddings(hf: FakeHF, gateway_factory: Any) -> None:
    client = start(gateway_factory)
    result = client.embeddings.create(model=f"huggingface/{NAME}/BAAI/bge-small-en-v1.5", input=["one", "two"])
    assert len(result.data) == 2
    assert hf.last.path == f"/{NAME}/v1/embeddings"
    assert hf.last.json["model"] == "bge-small"


def test_an_operation_the_backend_cannot_do_is_a_clear_400(hf: FakeHF, gateway_factory: Any) -> None:
    client = start(gateway_factory, model=HUB_MODEL, backend=NAME)
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.generate(model="hf", prompt="a cat")
    assert caught.value.body["code"] == "unsupported_operation"
    assert NAME in caught.value.body["message"]

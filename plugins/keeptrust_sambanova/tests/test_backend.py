"""sambanova end to end in direct mode: a real gateway on loopback calls a fake of SambaNova's
own API (keeptrust-hf's FakeHF, which checks the key and the model ids) with the user's SambaNova
key, driven with the openai client. Wire shapes: huggingface_hub before PR #4447
(inference/_providers/sambanova.py)."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
from keeptrust_hf.testing import TOKEN_ENV, DirectBackend, direct_backend

NAME = "sambanova"
KEY = "sambanova-" + "k" * 36  # a SambaNova API key: not an hf_ token
KEY_ENV = "SAMBANOVA_API_KEY"
LLAMA = "Meta-Llama-3.3-70B-Instruct"  # SambaNova's own model id
EMBED = "E5-Mistral-7B-Instruct"
USER = [{"role": "user", "content": "hello there"}]


@pytest.fixture
def sambanova(monkeypatch: pytest.MonkeyPatch) -> Iterator[DirectBackend]:
    """A fake of the provider's own API (it requires the key) whose Hub maps nothing to sambanova."""
    with direct_backend(NAME, KEY, KEY_ENV, (LLAMA, EMBED), monkeypatch) as backend:
        yield backend


def test_chat_with_the_sambanova_key_and_model_id(sambanova, gateway_factory):
    client = sambanova.client(gateway_factory, sambanova.target())
    answer = client.chat.completions.create(model=f"huggingface/{NAME}/{LLAMA}", messages=USER)
    assert answer.choices[0].message.content == "You said: hello there"
    sent = sambanova.requests()[-1]
    assert sent.path == f"/{NAME}/v1/chat/completions"
    assert sent.header("authorization") == f"Bearer {KEY}"
    assert sent.json["model"] == LLAMA
    # An own id (not org/name) needs no Hub lookup at all.
    assert not sambanova.hub_requests()


def test_streamed_chat_and_non_strict_schema(sambanova, gateway_factory):
    client = sambanova.client(gateway_factory, sambanova.target(model=LLAMA))
    stream = client.chat.completions.create(model="sambanova", messages=USER, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices).strip() == "You said: hello there"
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    client.chat.completions.create(
        model="sambanova",
        messages=USER,
        response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": schema, "strict": True}},
    )
    sent = sambanova.requests()[-1].json
    assert sent["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "x", "schema": schema, "strict": False},
    }


def test_embeddings(sambanova, gateway_factory):
    client = sambanova.client(gateway_factory, sambanova.target())
    result = client.embeddings.create(model=f"huggingface/{NAME}/{EMBED}", input="one", encoding_format="float")
    assert len(result.data) == 1
    sent = sambanova.requests()[-1]
    assert sent.path == f"/{NAME}/v1/embeddings"
    assert sent.json == {"input": "one", "model": EMBED}


def test_the_router_path_is_a_clear_400(sambanova, gateway_factory):
    hf = {"id": "hf", "provider": "huggingface", "secret_key_ref": {"env": TOKEN_ENV}}
    client = sambanova.client(gateway_factory, hf)
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=f"huggingface/{NAME}/{LLAMA}", messages=USER)
    assert caught.value.body["code"] == "unsupported_backend"
    assert "no longer served by the Inference Providers router" in caught.value.body["message"]


def test_images_are_not_a_sambanova_operation(sambanova, gateway_factory):
    client = sambanova.client(gateway_factory, sambanova.target(model=LLAMA))
    with pytest.raises(openai.BadRequestError) as caught:
        client.images.generate(model="sambanova", prompt="a fox")
    assert caught.value.body["code"] == "unsupported_operation"

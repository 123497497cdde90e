"""hyperbolic end to end in direct mode: a real gateway on loopback calls a fake of Hyperbolic's
own API (keeptrust-hf's FakeHF, which checks the key and the model ids) with the user's
Hyperbolic key, driven with the openai client. Wire shape: huggingface_hub before PR #4447
(inference/_providers/hyperbolic.py)."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
from keeptrust_hf.testing import TOKEN_ENV, DirectBackend, direct_backend

NAME = "hyperbolic"
KEY = "hyperbolic-" + "k" * 36  # a Hyperbolic API key: not an hf_ token
KEY_ENV = "HYPERBOLIC_API_KEY"
MODEL = "deepseek-ai/DeepSeek-V3"  # Hyperbolic's own id, Hub-shaped
USER = [{"role": "user", "content": "hello there"}]


@pytest.fixture
def hyperbolic(monkeypatch: pytest.MonkeyPatch) -> Iterator[DirectBackend]:
    """A fake of the provider's own API (it requires the key) whose Hub maps nothing to hyperbolic."""
    with direct_backend(NAME, KEY, KEY_ENV, (MODEL,), monkeypatch) as backend:
        yield backend


def test_chat_with_the_hyperbolic_key_whole_and_streamed(hyperbolic, gateway_factory):
    client = hyperbolic.client(gateway_factory, hyperbolic.target(model=MODEL))
    answer = client.chat.completions.create(model="hyperbolic", messages=USER, max_completion_tokens=9)
    assert answer.choices[0].message.content == "You said: hello there"
    sent = hyperbolic.requests()[-1]
    assert sent.path == f"/{NAME}/v1/chat/completions"
    assert sent.header("authorization") == f"Bearer {KEY}"
    assert sent.json["model"] == MODEL and sent.json["max_tokens"] == 9
    stream = client.chat.completions.create(model="hyperbolic", messages=USER, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices).strip() == "You said: hello there"


def test_responses_api_through_chat(hyperbolic, gateway_factory):
    client = hyperbolic.client(gateway_factory, hyperbolic.target(model=MODEL))
    assert client.responses.create(model="hyperbolic", input="hello there").output_text == "You said: hello there"


def test_an_unknown_model_id_is_a_clear_404(hyperbolic, gateway_factory):
    client = hyperbolic.client(gateway_factory, hyperbolic.target())
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model=f"huggingface/{NAME}/nobody/nothing", messages=USER)
    assert "'hyperbolic' does not know the model id 'nobody/nothing'" in caught.value.body["message"]


def test_the_router_path_is_a_clear_400(hyperbolic, gateway_factory):
    hf = {"id": "hf", "provider": "huggingface", "secret_key_ref": {"env": TOKEN_ENV}}
    client = hyperbolic.client(gateway_factory, hf)
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=f"{MODEL}:{NAME}", messages=USER)
    assert caught.value.body["code"] == "unsupported_backend"
    assert "no longer served by the Inference Providers router" in caught.value.body["message"]


def test_embeddings_are_not_a_hyperbolic_operation(hyperbolic, gateway_factory):
    client = hyperbolic.client(gateway_factory, hyperbolic.target(model=MODEL))
    with pytest.raises(openai.BadRequestError) as caught:
        client.embeddings.create(model="hyperbolic", input="x")
    assert caught.value.body["code"] == "unsupported_operation"

"""nebius end to end in direct mode: a real gateway on loopback calls a fake of Nebius' own API
(keeptrust-hf's FakeHF, which checks the key and the model ids) with the user's Nebius key,
driven with the openai client. Wire shapes: huggingface_hub before PR #4447
(inference/_providers/nebius.py)."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import openai
import pytest
from keeptrust_hf.testing import PNG, TOKEN_ENV, DirectBackend, direct_backend

NAME = "nebius"
KEY = "nebius-" + "k" * 40  # a Nebius API key: not an hf_ token
KEY_ENV = "NEBIUS_API_KEY"
LLAMA = "meta-llama/Llama-3.3-70B-Instruct"  # Nebius' own id, Hub-shaped
EMBED = "BAAI/bge-en-icl"
FLUX = "black-forest-labs/flux-dev"
USER = [{"role": "user", "content": "hello there"}]


@pytest.fixture
def nebius(monkeypatch: pytest.MonkeyPatch) -> Iterator[DirectBackend]:
    """A fake of the provider's own API (it requires the key) whose Hub maps nothing to nebius."""
    with direct_backend(NAME, KEY, KEY_ENV, (LLAMA, EMBED, FLUX), monkeypatch) as backend:
        yield backend


def test_chat_with_the_nebius_key_and_model_id(nebius, gateway_factory):
    client = nebius.client(gateway_factory, nebius.target())
    answer = client.chat.completions.create(
        model=f"huggingface/{NAME}/{LLAMA}", messages=USER, max_completion_tokens=20
    )
    assert answer.choices[0].message.content == "You said: hello there"
    sent = nebius.requests()[-1]
    assert sent.path == f"/{NAME}/v1/chat/completions"
    assert sent.header("authorization") == f"Bearer {KEY}"
    assert sent.json["model"] == LLAMA and sent.json["max_tokens"] == 20
    # The Hub is asked (nothing maps the model to nebius any more), never with the Nebius key.
    assert all(KEY not in str(r.headers) for r in nebius.hub_requests())


def test_streamed_chat_and_guided_json(nebius, gateway_factory):
    client = nebius.client(gateway_factory, nebius.target(model=LLAMA))
    stream = client.chat.completions.create(model="nebius", messages=USER, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices).strip() == "You said: hello there"
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    client.chat.completions.create(
        model="nebius",
        messages=USER,
        response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": schema}},
    )
    sent = nebius.requests()[-1].json
    assert sent["guided_json"] == schema
    assert sent["response_format"]["json_schema"]["schema"] == schema


def test_embeddings(nebius, gateway_factory):
    client = nebius.client(gateway_factory, nebius.target())
    result = client.embeddings.create(model=f"huggingface/{NAME}/{EMBED}", input=["one", "two"])
    assert len(result.data) == 2
    sent = nebius.requests()[-1]
    assert sent.path == f"/{NAME}/v1/embeddings"
    assert sent.json == {"input": ["one", "two"], "model": EMBED}


def test_images(nebius, gateway_factory):
    client = nebius.client(gateway_factory, nebius.target())
    answer = client.images.generate(
        model=f"huggingface/{NAME}/{FLUX}",
        prompt="a fox",
        size="512x512",
        response_format="b64_json",
        extra_body={"extra_params": {"seed": 3, "num_inference_steps": 20, "guidance_scale": 4.0}},
    )
    assert base64.b64decode(answer.data[0].b64_json) == PNG
    sent = nebius.requests()[-1]
    assert sent.path == f"/{NAME}/v1/images/generations"
    assert sent.json == {
        "prompt": "a fox",
        "model": FLUX,
        "width": 512,
        "height": 512,
        "seed": 3,
        "num_inference_steps": 20,
        "response_format": "b64_json",
    }


def test_the_router_path_is_a_clear_400(nebius, gateway_factory):
    hf = {"id": "hf", "provider": "huggingface", "secret_key_ref": {"env": TOKEN_ENV}}
    client = nebius.client(gateway_factory, hf)
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=f"huggingface/{NAME}/{LLAMA}", messages=USER)
    assert caught.value.body["code"] == "unsupported_backend"
    assert "no longer served by the Inference Providers router" in caught.value.body["message"]
    assert not nebius.requests()


def test_an_operation_nebius_cannot_do_is_a_clear_400(nebius, gateway_factory):
    client = nebius.client(gateway_factory, nebius.target(model=LLAMA))
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.speech.create(model="nebius", input="hi", voice="alloy")
    assert caught.value.body["code"] == "unsupported_operation"
    assert NAME in caught.value.body["message"]


def test_a_target_bound_to_nebius_without_its_key_is_a_config_error(nebius, gateway_factory):
    from keeptrust.errors import ConfigError

    target = {"id": "n", "provider": "huggingface", "backend": NAME, "secret_key_ref": {"env": TOKEN_ENV}}
    with pytest.raises(ConfigError, match="no longer served by the Inference Providers router; give the target direct"):
        nebius.client(gateway_factory, target)

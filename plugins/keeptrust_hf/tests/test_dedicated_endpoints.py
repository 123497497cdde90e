"""Dedicated Inference Endpoints and self-hosted TGI: the Messages API for ``/v1`` URLs, the native
``/generate`` API and plain pipelines for ``format: huggingface``, cold starts."""

from __future__ import annotations

import logging

import openai
import pytest

from keeptrust.testing import serve_app
from keeptrust_hf.testing import TOKEN, FakeTGI, hf_target

USER = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello there"}]


@pytest.fixture
def tgi():
    servers = []

    def start(**kwargs):
        app = FakeTGI(**kwargs)
        server = serve_app(app)
        server.app = app
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def test_benchmark_target_uses_the_messages_api_directly(tgi, gateway):
    server = tgi()
    gw = gateway(
        hf_target(
            "bench", model="bench/model", base_url=server.url + "/v1", format="huggingface", provider_type="huggingface"
        )
    )
    client = gw.client()
    answer = client.chat.completions.create(model="bench/model", messages=USER, stop=["x"])
    assert answer.choices[0].message.content == "You said: hello there"
    assert answer.choices[0].finish_reason == "stop"  # TGI's stop_sequence
    assert answer.id.startswith("chatcmpl-")  # TGI's empty id
    assert [(r.method, r.path) for r in server.app.requests] == [("POST", "/v1/chat/completions")]
    assert server.app.last.json["model"] == "bench/model"
    assert server.app.last.header("authorization") == f"Bearer {TOKEN}"
    chunks = list(client.chat.completions.create(model="bench/model", messages=USER, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks).strip() == "You said: hello there"


def test_seed_dedicated_target_and_eu_region_url(tgi, gateway):
    server = tgi()
    gw = gateway(
        hf_target(
            "hf-eu-llama-70b",
            provider="huggingface:chat:meta-llama/Meta-Llama-3.1-70B-Instruct",
            base_url=server.url + "/v1/",
        )
    )
    gw.client().chat.completions.create(model="meta-llama/Meta-Llama-3.1-70B-Instruct", messages=USER)
    assert server.app.last.path == "/v1/chat/completions"


def test_native_tgi_generate_with_mapped_parameters(tgi, gateway):
    template = (
        "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}[assistant]{% endif %}"
    )
    server = tgi(reply="the answer is here", chat_template=template)
    gw = gateway(hf_target(model="mistralai/Mistral-7B-Instruct-v0.3", base_url=server.url, format="huggingface"))
    client = gw.client()
    answer = client.chat.completions.create(
        model="mistralai/Mistral-7B-Instruct-v0.3",
        messages=USER,
        max_tokens=50,
        temperature=0,
        top_p=1.0,
        stop="END",
        seed=3,
    )
    assert answer.choices[0].message.content == "the answer is here"
    assert answer.choices[0].finish_reason == "stop"
    # usage from TGI's x-prompt-tokens header and details.generated_tokens
    assert answer.usage.prompt_tokens == 7 and answer.usage.completion_tokens == 4
    info, generate = [r for r in server.app.requests]
    assert (info.method, info.path, generate.path) == ("GET", "/info", "/generate")
    assert generate.json == {
        "inputs": "[system] Be brief.\n[user] hello there\n[assistant]",
        "parameters": {
            "details": True,
            "return_full_text": False,
            "max_new_tokens": 50,
            "do_sample": False,
            "seed": 3,
            "stop": ["END"],
        },
    }
    short = client.chat.completions.create(
        model="mistralai/Mistral-7B-Instruct-v0.3", messages=USER, max_tokens=2, temperature=0.5
    )
    assert short.choices[0].finish_reason == "length"
    assert server.app.last.json["parameters"]["temperature"] == 0.5
    assert len(server.app.requests_to("/info")) == 1  # detected once


def test_native_tgi_stream_translated_to_chunks(tgi, gateway):
    server = tgi(reply="Hi there friend")
    gw = gateway(hf_target(model="org/model", base_url=server.url, format="huggingface"))
    chunks = list(
        gw.client().chat.completions.create(
            model="org/model", messages=USER, stream=True, stream_options={"include_usage": True}
        )
    )
    deltas = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert "".join(deltas) == "Hi there friend"  # the special </s> token is dropped
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"  # eos_token
    assert chunks[-1].usage.completion_tokens == 4 and chunks[-1].usage.prompt_tokens > 0
    assert server.app.last.path == "/generate_stream"
    assert "stream" not in server.app.last.json["parameters"]


def test_native_stream_error_mid_stream(tgi, gateway):
    server = tgi(reply="one two three four")
    server.app.mid_stream_error = True
    gw = gateway(hf_target(model="org/model", base_url=server.url, format="huggingface"))
    with pytest.raises(openai.APIError):
        list(gw.client().chat.completions.create(model="org/model", messages=USER, stream=True))


def test_default_prompt_and_hub_chat_template(tgi, hf, gateway):
    server = tgi()
    gw = gateway(hf_target(model="org/model", base_url=server.url, format="huggingface"))
    gw.client().chat.completions.create(model="org/model", messages=USER)
    assert server.app.last.json["inputs"] == "<|system|>\nBe brief.</s>\n<|user|>\nhello there</s>\n<|assistant|>\n"
    # the model's own template from its tokenizer_config.json on the Hub
    hf.app.tokenizers["org/templated"] = {
        "chat_template": "{{ bos_token }}{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}",
        "bos_token": {"content": "<s>"},
    }
    server2 = tgi()
    gw2 = gateway(hf_target("t2", model="org/templated", base_url=server2.url, format="huggingface"))
    gw2.client().chat.completions.create(model="org/templated", messages=USER)
    assert server2.app.last.json["inputs"] == "<s><system>Be brief.<user>hello there"


def test_plain_pipeline_endpoint_and_unused_kwargs_retry(tgi, gateway):
    server = tgi(mode="pipeline", reply="pipeline answer", unused_kwargs=("stop", "seed"))
    gw = gateway(hf_target(model="org/model", base_url=server.url, format="huggingface", native_api="auto"))
    client = gw.client()
    answer = client.chat.completions.create(model="org/model", messages=USER, stop=["x"], seed=1, max_tokens=20)
    assert answer.choices[0].message.content == "pipeline answer"
    posts = [r for r in server.app.requests if r.method == "POST"]
    assert [p.path for p in posts] == ["/", "/"]
    assert posts[0].json["parameters"] == {"return_full_text": False, "max_new_tokens": 20, "seed": 1, "stop": ["x"]}
    assert posts[1].json["parameters"] == {"return_full_text": False, "max_new_tokens": 20}
    chunks = list(client.chat.completions.create(model="org/model", messages=USER, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "pipeline answer"
    vectors = client.embeddings.create(model="org/model", input=["a", "b"], encoding_format="float")
    assert len(vectors.data) == 2


def test_cold_start_is_waited_out_and_logged_once(tgi, gateway, caplog):
    server = tgi()
    server.app.loading = 3
    gw = gateway(hf_target(model="org/model", base_url=server.url, format="huggingface", timeout_seconds=10))
    with caplog.at_level(logging.INFO, logger="keeptrust"):
        answer = gw.client().chat.completions.create(model="org/model", messages=USER)
    assert answer.choices[0].message.content.startswith("echo:")
    assert len([r for r in server.app.requests if r.path == "/generate"]) == 4
    assert len([r for r in caplog.records if "loading" in r.getMessage()]) == 1


def test_cold_start_wait_is_not_bounded_by_max_retries(tgi, gateway):
    # A Hugging Face cold start is waited out within the time budget, whatever max_retries says
    # (a plain OpenAI-compatible target gets only its bounded retries: see the core's fault tests).
    server = tgi()
    server.app.loading = 2
    gw = gateway(
        hf_target(model="org/model", base_url=server.url, format="huggingface", timeout_seconds=10, max_retries=0)
    )
    answer = gw.client().chat.completions.create(model="org/model", messages=USER)
    assert answer.choices[0].message.content.startswith("echo:")
    assert len([r for r in server.app.requests if r.path == "/generate"]) == 3


def test_cold_start_that_never_ends_is_503_model_loading(tgi, gateway):
    server = tgi()
    server.app.loading = 1000
    gw = gateway(hf_target(model="org/model", base_url=server.url + "/v1", timeout_seconds=1, stream_timeout_seconds=1))
    server.app.fail_next(
        "/v1/chat/completions",
        503,
        {"error": "Model org/model is currently loading", "estimated_time": 0.3},
        times=1000,
    )
    with pytest.raises(openai.InternalServerError) as info:
        gw.client().chat.completions.create(model="org/model", messages=USER, stream=True)
    assert info.value.status_code == 503
    assert info.value.body["code"] == "model_loading"
    assert "estimated" in info.value.body["message"]


def test_tools_on_a_native_endpoint_point_to_the_messages_api(tgi, gateway):
    server = tgi()
    gw = gateway(hf_target(model="org/model", base_url=server.url, format="huggingface"))
    with pytest.raises(openai.BadRequestError, match="/v1"):
        gw.client().chat.completions.create(
            model="org/model", messages=USER, tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}]
        )

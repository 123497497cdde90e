"""Chat through the Inference Providers router: target forms, every chat backend's exact route and
body, parameters, quirks, streaming and usage."""

from __future__ import annotations

import json

import openai
import pytest

from keeptrust_hf.testing import TOKEN, TOKEN_ENV, hf_target

LLAMA = "meta-llama/Meta-Llama-3.1-8B-Instruct"
USER = [{"role": "user", "content": "hello there"}]

# backend -> (route after /{backend}, provider model id)
CHAT_ROUTES = {
    "baseten": "/v1/chat/completions",
    "cerebras": "/v1/chat/completions",
    "cohere": "/compatibility/v1/chat/completions",
    "deepinfra": "/v1/openai/chat/completions",
    "featherless-ai": "/v1/chat/completions",
    "fireworks-ai": "/inference/v1/chat/completions",
    "groq": "/openai/v1/chat/completions",
    "hf-inference": f"/models/{LLAMA}/v1/chat/completions",
    "novita": "/v3/openai/chat/completions",
    "nscale": "/v1/chat/completions",
    "ovhcloud": "/v1/chat/completions",
    "publicai": "/v1/chat/completions",
    "scaleway": "/v1/chat/completions",
    "together": "/v1/chat/completions",
    "zai-org": "/api/paas/v4/chat/completions",
}


def provider_id(backend: str) -> str:
    return LLAMA if backend == "hf-inference" else f"{backend}-llama-3.1-8b"


def test_shorthand_goes_to_the_auto_router_with_the_hub_id(hf, gateway):
    hf.app.add_mapping(LLAMA, "groq", "llama-3.1-8b-instant")
    gw = gateway({"id": "hf-llama-8b", "provider": f"huggingface:chat:{LLAMA}", "secret_key_ref": {"env": TOKEN_ENV}})
    answer = gw.client().chat.completions.create(model=LLAMA, messages=USER, max_tokens=20, temperature=0.7)
    assert answer.choices[0].message.content == "You said: hello there"
    assert answer.usage.total_tokens == 9  # passed through from the upstream
    sent = hf.app.last
    assert (sent.method, sent.path) == ("POST", "/v1/chat/completions")
    assert sent.header("authorization") == f"Bearer {TOKEN}"
    assert next(iter(sent.json)) == "model"  # the model leads the body, as the official client sends it
    assert sent.json == {"model": LLAMA, "messages": USER, "max_tokens": 20, "temperature": 0.7}
    # the router needs no mapping: nothing was asked of the Hub
    assert not hf.app.requests_to("/api/")


def test_bill_to_header_and_target_id_as_model(hf, gateway):
    hf.app.add_mapping(LLAMA, "groq", "llama-3.1-8b-instant")
    gw = gateway(hf_target("llama", model=LLAMA, bill_to="my-org"))
    gw.client().chat.completions.create(model="llama", messages=USER)
    assert hf.app.last.header("x-hf-bill-to") == "my-org"


@pytest.mark.parametrize("backend", sorted(CHAT_ROUTES))
def test_every_chat_backend_gets_its_route_and_provider_id(hf, gateway, backend):
    hf.app.add_mapping(LLAMA, backend, provider_id(backend))
    gw = gateway(hf_target(model=LLAMA, backend=backend, bill_to="acme"))
    client = gw.client()
    answer = client.chat.completions.create(
        model=LLAMA, messages=USER, temperature=0.5, top_p=0.9, max_tokens=16, stop=["\n\n"], seed=7, n=1
    )
    assert answer.choices[0].message.content == "You said: hello there"
    assert answer.choices[0].finish_reason == "stop"  # TGI's stop_sequence/eos_token normalised
    assert answer.id  # TGI's empty id replaced
    sent = [r for r in hf.app.requests if r.method == "POST"][-1]
    assert sent.path == f"/{backend}{CHAT_ROUTES[backend]}"
    assert sent.header("authorization") == f"Bearer {TOKEN}"
    assert sent.header("x-hf-bill-to") == "acme"
    assert sent.json["model"] == provider_id(backend)
    assert {k: sent.json[k] for k in ("temperature", "top_p", "max_tokens", "stop", "seed", "n")} == {
        "temperature": 0.5,
        "top_p": 0.9,
        "max_tokens": 16,
        "stop": ["\n\n"],
        "seed": 7,
        "n": 1,
    }
    if backend == "zai-org":
        assert sent.header("x-source-channel") == "hugging_face"
        assert sent.header("accept-language") == "en-US,en"
    mapping = hf.app.requests_to(f"/api/models/{LLAMA}")[0]
    assert mapping.query == {"expand[]": ["inferenceProviderMapping"]}
    assert mapping.header("authorization") == f"Bearer {TOKEN}"

    chunks = list(
        client.chat.completions.create(model=LLAMA, messages=USER, stream=True, stream_options={"include_usage": True})
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip() == "You said: hello there"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens == 5
    assert hf.app.last.json["stream"] is True and hf.app.last.json["stream_options"] == {"include_usage": True}
    # the mapping is cached: one Hub query for both requests
    assert len(hf.app.requests_to("/api/models/")) == 1


@pytest.mark.parametrize(
    ("backend", "expected"),
    [
        ("cohere", {"type": "json_object", "schema": {"type": "object"}}),
        ("fireworks-ai", {"type": "json_object", "schema": {"type": "object"}}),
        ("together", {"type": "json_schema", "schema": {"type": "object"}}),
        ("hf-inference", {"type": "json_object", "value": {"type": "object"}}),
        ("groq", {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}),
    ],
)
def test_response_format_dialects(hf, gateway, backend, expected):
    hf.app.add_mapping(LLAMA, backend, provider_id(backend))
    gw = gateway(hf_target(model=LLAMA, backend=backend))
    gw.client().chat.completions.create(
        model=LLAMA,
        messages=USER,
        response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}},
    )
    assert hf.app.last.json["response_format"] == expected


@pytest.mark.parametrize(
    ("backend", "kept"), [("together", True), ("hf-inference", True), ("groq", False), ("cerebras", False)]
)
def test_top_k_only_where_supported(hf, gateway, backend, kept):
    hf.app.add_mapping(LLAMA, backend, provider_id(backend))
    gw = gateway(hf_target(model=LLAMA, backend=backend))
    gw.client().chat.completions.create(model=LLAMA, messages=USER, extra_body={"top_k": 40})
    assert ("top_k" in hf.app.last.json) is kept


def test_tools_and_tgi_tool_call_quirks(hf, gateway):
    hf.app.add_mapping(LLAMA, "hf-inference", LLAMA)
    gw = gateway(hf_target(model=LLAMA, backend="hf-inference"))
    tools = [{"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}]
    answer = gw.client().chat.completions.create(model=LLAMA, messages=USER, tools=tools, tool_choice="auto")
    call = answer.choices[0].message.tool_calls[0]
    assert json.loads(call.function.arguments) == {"q": "hello there"}  # TGI's object turned into a string
    assert call.id and call.type == "function"
    assert answer.choices[0].finish_reason == "tool_calls"
    assert hf.app.last.json["tools"] == tools and hf.app.last.json["tool_choice"] == "auto"


@pytest.mark.parametrize(
    ("name", "path", "model"),
    [
        (f"{LLAMA}", "/v1/chat/completions", LLAMA),
        (f"{LLAMA}:fastest", "/v1/chat/completions", f"{LLAMA}:fastest"),
        (f"{LLAMA}:cheapest", "/v1/chat/completions", f"{LLAMA}:cheapest"),
        (f"{LLAMA}:auto", "/v1/chat/completions", LLAMA),  # the router rejects ':auto': never sent
        (f"{LLAMA}:groq", "/groq/openai/v1/chat/completions", "llama-groq"),
        (f"huggingface/groq/{LLAMA}", "/groq/openai/v1/chat/completions", "llama-groq"),
        (f"huggingface/fireworks/{LLAMA}", "/fireworks-ai/inference/v1/chat/completions", "llama-fw"),
        (f"huggingface/{LLAMA}", "/v1/chat/completions", LLAMA),
    ],
)
def test_open_target_model_names(hf, gateway, name, path, model):
    hf.app.add_mapping(LLAMA, "groq", "llama-groq")
    hf.app.add_mapping(LLAMA, "fireworks-ai", "llama-fw")
    gw = gateway(hf_target("open"))
    answer = gw.client().chat.completions.create(model=name, messages=USER)
    assert answer.choices[0].message.content == "You said: hello there"
    assert (hf.app.last.path, hf.app.last.json["model"]) == (path, model)


@pytest.mark.parametrize(
    "name",
    [
        "../etc/passwd",
        "org/na me",
        "org/name:UPPER",
        "http://evil/x",
        "org/name?x=1",
        "org//name",
        "org/a..b",
        "org/name:groq:x",
        "huggingface/x/y/z/w",
        "org/name@1",
        "org/name:unknown-backend",
    ],
)
def test_invalid_model_names_never_reach_upstream(hf, gateway, name):
    gw = gateway(hf_target("open"))
    with pytest.raises(openai.NotFoundError) as info:
        gw.client().chat.completions.create(model=name, messages=USER)
    assert info.value.body["code"] == "model_not_found"
    assert "org/name[:backend" in info.value.body["message"]
    assert not hf.app.requests


def test_router_error_passes_through_as_openai_error(hf, gateway):
    gw = gateway(hf_target("open"))
    with pytest.raises(openai.BadRequestError) as info:
        gw.client().chat.completions.create(model="nobody/unknown-model", messages=USER)
    assert "not supported by any provider" in info.value.body["message"]

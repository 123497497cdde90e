"""The model names and shapes of the backend guide: a backend's own model ids
(``huggingface/fal-ai/fal-ai/flux/dev``, ``huggingface/cerebras/llama-3.1-70b-instruct``),
``extra_params``, ``GET /v1/models`` by task with ``huggingface/{backend}/{id}`` ids, and a
``{model}`` placeholder in a serverless ``base_url``."""

from __future__ import annotations

import httpx
import openai
import pytest

from keeptrust.errors import ConfigError
from keeptrust.testing import start_gateway
from keeptrust_hf.model_ids import ModelRef, parse_model
from keeptrust_hf.testing import TOKEN, TOKEN_ENV, FakeTGI, hf_target

BACKENDS = {"cerebras", "fal-ai", "groq", "hf-inference", "together"}
LLAMA = "meta-llama/Llama-3.1-70B-Instruct"
USER = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("name", "ref"),
    [
        ("huggingface/cerebras/llama-3.1-70b-instruct", ModelRef("llama-3.1-70b-instruct", "cerebras", native=True)),
        ("huggingface/fal-ai/fal-ai/flux/dev", ModelRef("fal-ai/flux/dev", "fal-ai", native=True)),
        ("huggingface/fal/fal-ai/flux/dev", ModelRef("fal-ai/flux/dev", "fal-ai", native=True)),
        ("huggingface/groq/meta-llama/Llama-3.1-70B-Instruct", ModelRef(LLAMA, "groq")),
        ("huggingface/meta-llama/Llama-3.1-70B-Instruct", ModelRef(LLAMA)),
        ("huggingface/cerebras/../etc", None),
        ("huggingface/cerebras/a//b", None),
    ],
)
def test_backend_guide_names_parse(name, ref):
    assert parse_model(name, BACKENDS) == ref


def test_a_providers_own_chat_id_goes_to_the_backend_as_written(hf, gateway):
    hf.app.add_mapping(LLAMA, "cerebras", "llama-3.1-70b-instruct")  # the backend knows this id
    client = gateway(hf_target("open")).client()
    answer = client.chat.completions.create(model="huggingface/cerebras/llama-3.1-70b-instruct", messages=USER)
    assert answer.choices[0].message.content == "You said: hi"
    sent = hf.app.requests_to("/cerebras/")[-1]
    assert sent.path == "/cerebras/v1/chat/completions" and sent.json["model"] == "llama-3.1-70b-instruct"
    assert not hf.app.requests_to("/api/models/")  # no Hub lookup for a backend's own id


def test_an_unknown_own_id_is_a_clear_404(hf, gateway):
    client = gateway(hf_target("open")).client()
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="huggingface/cerebras/no-such-model", messages=USER)
    assert "'cerebras' does not know the model id 'no-such-model'" in info.value.body["message"]


def test_own_ids_are_audited_as_such(hf, tmp_path):
    import orjson

    hf.app.add_mapping(LLAMA, "cerebras", "llama-3.1-70b-instruct")
    config = {
        "providers": {"targets": [hf_target("open")]},
        "policies": {"chain": ["audit-logger"], "policy": {"audit-logger": {"directory": str(tmp_path)}}},
    }
    gw = start_gateway(config, environ={TOKEN_ENV: TOKEN})
    gw.client().chat.completions.create(model="huggingface/cerebras/llama-3.1-70b-instruct", messages=USER)
    gw.stop()
    records = [orjson.loads(line) for p in tmp_path.rglob("seg-*.jsonl") for line in p.read_bytes().splitlines()]
    record = next(r for r in records if r.get("type") == "request")
    assert record["model"] == "huggingface/cerebras/llama-3.1-70b-instruct"
    assert record["upstream_model"] == "llama-3.1-70b-instruct"


def test_extra_params_reach_the_backend(hf, gateway):
    sdxl = "stabilityai/stable-diffusion-xl-base-1.0"
    hf.app.add_mapping(sdxl, "hf-inference", task="text-to-image")
    client = gateway(hf_target("open")).client()
    extra = {"seed": 7, "num_inference_steps": 28, "guidance_scale": 3.5}
    client.images.generate(model=f"{sdxl}:hf-inference", prompt="a fox", extra_body={"extra_params": extra})
    assert hf.app.requests_to("/hf-inference")[-1].json == {"inputs": "a fox", "parameters": extra}
    with pytest.raises(openai.BadRequestError) as info:
        client.images.generate(
            model=f"{sdxl}:hf-inference", prompt="a fox", extra_body={"seed": 1, "extra_params": {"seed": 2}}
        )
    assert info.value.body["param"] == "extra_params.seed"


def test_models_filter_by_task_with_backend_qualified_ids(hf, gateway):
    hf.app.add_mapping(LLAMA, "groq", "g-llama")
    hf.app.add_mapping("BAAI/bge-large-en-v1.5", "hf-inference", task="feature-extraction")
    gw = gateway(hf_target("open"))
    headers = {"authorization": "Bearer x"}
    everything = httpx.get(gw.base_url + "/models", headers=headers).json()["data"]
    ids = {m["id"] for m in everything}
    assert {LLAMA, f"huggingface/groq/{LLAMA}", "huggingface/hf-inference/BAAI/bge-large-en-v1.5"} <= ids
    only = httpx.get(gw.base_url + "/models", params={"pipeline_tag": "feature-extraction"}, headers=headers)
    assert {m["id"] for m in only.json()["data"]} == {
        "BAAI/bge-large-en-v1.5",
        "huggingface/hf-inference/BAAI/bge-large-en-v1.5",
    }
    # A listed id is a name the gateway accepts.
    client = gw.client()
    client.chat.completions.create(model=f"huggingface/groq/{LLAMA}", messages=USER)
    assert hf.app.requests_to("/groq/")[-1].json["model"] == "g-llama"


def test_model_placeholder_in_a_serverless_base_url_is_filled(gateway):
    from keeptrust.testing import serve_app

    tgi = FakeTGI(reply="ok")
    tgi.prefix = "/models/org/model"
    server = serve_app(tgi)
    try:
        gw = gateway(hf_target(model="org/model", base_url=server.url + "/models/{model}/v1/chat/completions"))
        assert gw.client().chat.completions.create(model="org/model", messages=USER).choices[0].message.content
        assert tgi.last.path == "/models/org/model/v1/chat/completions"
        assert "{model}" not in str(tgi.requests)
    finally:
        server.stop()


def test_a_model_placeholder_without_a_model_is_a_config_error(gateway):
    with pytest.raises(ConfigError, match="names no 'model'"):
        gateway(hf_target(base_url="https://x.example/models/{model}/v1"))

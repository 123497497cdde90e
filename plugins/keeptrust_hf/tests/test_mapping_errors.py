"""The Hub mapping (validation, TTL cache, invalidate-on-404) and the errors users see: gated models,
bad tokens, rate limits, unknown and unserved models, missing backends."""

from __future__ import annotations

import contextlib
import re

import openai
import pytest

from keeptrust.distributions import install_command
from keeptrust.errors import ConfigError
from keeptrust_hf.testing import TOKEN, TOKEN_ENV, hf_target

LLAMA = "meta-llama/Meta-Llama-3.1-8B-Instruct"
USER = [{"role": "user", "content": "hi"}]


def test_model_not_mapped_for_the_backend_goes_as_its_own_id(hf, gateway):
    # Not a Hub repo mapped for groq: sent to groq as groq's own model id, which groq does not know.
    hf.app.add_mapping(LLAMA, "together", "t-llama")
    gw = gateway(hf_target(model=LLAMA, backend="groq"))
    with pytest.raises(openai.NotFoundError) as info:
        gw.client().chat.completions.create(model=LLAMA, messages=USER)
    assert info.value.body["code"] == "model_not_found"
    message = info.value.body["message"]
    assert "'groq' does not know the model id 'meta-llama/" in message
    assert "sent as the backend's own id" in message and "served by: together" in message
    sent = hf.app.requests_to("/groq")[-1]
    assert sent.json["model"] == LLAMA


def test_staging_mapping_is_refused(hf, gateway):
    hf.app.add_mapping(LLAMA, "groq", "g-llama", status="staging")
    gw = gateway(hf_target(model=LLAMA, backend="groq"))
    with pytest.raises(openai.BadRequestError) as info:
        gw.client().chat.completions.create(model=LLAMA, messages=USER)
    assert info.value.body["code"] == "model_staging"


def test_task_mismatch(hf, gateway):
    hf.app.add_mapping("BAAI/bge-large-en-v1.5", "hf-inference", task="feature-extraction")
    gw = gateway(hf_target(model="BAAI/bge-large-en-v1.5", backend="hf-inference"))
    with pytest.raises(openai.BadRequestError) as info:
        gw.client().chat.completions.create(model="BAAI/bge-large-en-v1.5", messages=USER)
    assert info.value.body["code"] == "task_mismatch"
    assert "task 'feature-extraction', not 'conversational'" in info.value.body["message"]


def test_unknown_model_and_model_without_mapping(hf, gateway):
    hf.app.without_mapping.add("someone/private-thing")
    gw = gateway(hf_target("open"))
    client = gw.client()
    with pytest.raises(openai.NotFoundError) as info:
        client.embeddings.create(model="nobody/nothing", input="x")
    assert "was not found on the Hugging Face Hub" in info.value.body["message"]
    with pytest.raises(openai.BadRequestError) as info:
        client.embeddings.create(model="someone/private-thing", input="x")
    assert "no inference provider mapping" in info.value.body["message"]


def test_unsupported_operation_names_backend_and_operation(hf, gateway):
    hf.app.add_mapping(LLAMA, "groq", "g-llama")
    gw = gateway(hf_target("open"))
    with pytest.raises(openai.BadRequestError) as info:
        gw.client().images.generate(model=f"{LLAMA}:groq", prompt="a cat")
    assert info.value.body["code"] == "unsupported_operation"
    assert info.value.body["message"] == "the Hugging Face backend 'groq' does not support images"
    assert not hf.app.requests_to("/groq")


def test_fal_ai_without_its_package_is_a_clear_400(hf, gateway):
    hf.app.add_mapping("black-forest-labs/FLUX.1-dev", "fal-ai", "fal-ai/flux/dev", task="text-to-image")
    gw = gateway(hf_target("open"), disable=("falai",))
    client = gw.client()
    for model in (
        "black-forest-labs/FLUX.1-dev:fal-ai",
        "huggingface/fal-ai/black-forest-labs/FLUX.1-dev",
        "black-forest-labs/FLUX.1-dev",
    ):
        with pytest.raises(openai.BadRequestError) as info:
            client.images.generate(model=model, prompt="a cat")
        assert f"install it with `{install_command('keeptrust-falai')}`" in info.value.body["message"]
    with pytest.raises(ConfigError, match=re.escape(install_command("keeptrust-falai"))):
        gateway(hf_target(model="black-forest-labs/FLUX.1-dev", backend="fal-ai"), disable=("falai",))


def test_retired_and_unknown_backends_in_config(hf, gateway):
    with pytest.raises(ConfigError, match="no longer served by the Inference Providers router"):
        gateway(hf_target(model=LLAMA, backend="sambanova"))
    with pytest.raises(ConfigError, match="unknown Hugging Face backend 'grok'; registered backends: baseten"):
        gateway(hf_target(model=LLAMA, backend="grok"))


def test_gated_model_403_says_to_accept_the_licence(hf, gateway):
    hf.app.add_mapping(LLAMA, "hf-inference")
    hf.app.gated.add(LLAMA)
    gw = gateway(hf_target("open"))
    for model in (LLAMA, f"{LLAMA}:hf-inference"):
        with pytest.raises(openai.PermissionDeniedError) as info:
            gw.client().chat.completions.create(model=model, messages=USER)
        assert info.value.body["code"] == "gated_model"
        assert f"accept its licence on https://huggingface.co/{LLAMA}" in info.value.body["message"]


def test_bad_token_401_names_the_variable_in_the_log_only(hf, gateway, caplog):
    hf.app.add_mapping(LLAMA, "groq", "g-llama")
    wrong = "hf_" + "w" * 34
    gw = gateway(hf_target(model=LLAMA), environ={TOKEN_ENV: wrong})
    with pytest.raises(openai.AuthenticationError) as info:
        gw.client().chat.completions.create(model=LLAMA, messages=USER)
    message = info.value.body["message"]
    assert TOKEN_ENV not in message and wrong not in message and TOKEN not in message
    assert TOKEN_ENV in caplog.text and wrong not in caplog.text


def test_429_passes_retry_after(hf, gateway):
    hf.app.add_mapping(LLAMA, "groq", "g-llama")
    hf.app.fail_next("/v1/chat/completions", 429, {"error": "Rate limit reached"}, {"retry-after": "300"}, times=5)
    gw = gateway(hf_target(model=LLAMA))
    with pytest.raises(openai.RateLimitError) as info:
        gw.client().chat.completions.create(model=LLAMA, messages=USER)
    assert info.value.response.headers["retry-after"] == "300"


def test_backend_404_refreshes_the_mapping_and_retries_once(hf, gateway):
    hf.app.add_mapping(LLAMA, "groq", "old-id")
    gw = gateway(hf_target(model=LLAMA, backend="groq"))
    client = gw.client()
    client.chat.completions.create(model=LLAMA, messages=USER)
    # The backend renamed the model; the Hub knows the new id.
    hf.app.add_mapping(LLAMA, "groq", "new-id")
    hf.app.fail_next("/groq/", 404, {"error": "model old-id not found"})
    answer = client.chat.completions.create(model=LLAMA, messages=USER)
    assert answer.choices[0].message.content == "You said: hi"
    assert [r.json["model"] for r in hf.app.requests_to("/groq/")] == ["old-id", "old-id", "new-id"]
    assert len(hf.app.requests_to("/api/models/")) == 2
    # a second 404 is final
    hf.app.fail_next("/groq/", 404, {"error": "gone"}, times=2)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model=LLAMA, messages=USER)


def test_gated_model_refused_by_the_hub_mapping_api(hf, gateway):
    hf.app.add_mapping(LLAMA, "groq", "g-llama")
    hf.app.hub_gated.add(LLAMA)
    gw = gateway(hf_target(model=LLAMA, backend="groq"))
    with pytest.raises(openai.PermissionDeniedError) as info:
        gw.client().chat.completions.create(model=LLAMA, messages=USER)
    assert info.value.body["code"] == "gated_model"
    assert f"https://huggingface.co/{LLAMA}" in info.value.body["message"]


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"format": "hugginface"}, "format: expected one of openai, huggingface; got 'hugginface'"),
        ({"bakend": "groq"}, "bakend: unknown key; did you mean 'backend'?"),
        ({"provider": "huggingface:chta:o/m"}, "unknown kind 'chta'"),
        ({"model": "not a repo"}, "is not a Hugging Face repo id"),
        ({"backend": "groq", "base_url": "http://127.0.0.1:9/v1"}, "cannot be combined with base_url"),
    ],
)
def test_config_errors_name_the_key(hf, gateway, keys, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("?", r"\?")):
        gateway(hf_target(**{"model": LLAMA, **keys}))


def test_invented_model_names_cost_one_hub_call_each_per_negative_ttl(hf, gateway):
    gw = gateway(hf_target("open"))
    client = gw.client()
    for _ in range(5):
        with pytest.raises(openai.NotFoundError):
            client.embeddings.create(model="nobody/invented-1", input="x")
    assert len(hf.app.requests_to("/api/models/nobody/invented-1")) == 1
    # The cached answer is a fresh error each time, with the same message.
    with pytest.raises(openai.NotFoundError) as info:
        client.embeddings.create(model="nobody/invented-1", input="x")
    assert "was not found on the Hugging Face Hub" in info.value.body["message"]


async def test_the_mapping_cache_is_bounded_and_forgets_failures_after_a_while(hf):
    from keeptrust.config.model import TargetConfig
    from keeptrust.errors import ModelNotFound
    from keeptrust.secrets import Redactor
    from keeptrust.transport import Upstream
    from keeptrust_hf.mapping import MappingCache

    hf.app.add_mapping(LLAMA, "groq", "g-llama")
    hf.app.add_mapping("org/other", "groq", "g-other")
    now = [0.0]
    auth = {"authorization": f"Bearer {TOKEN}"}
    upstream = Upstream(TargetConfig(id="hf", provider="huggingface"), redactor=Redactor(), auth_header=auth)
    cache = MappingCache(upstream, hf.url, ttl=300, clock=lambda: now[0], max_entries=2, negative_ttl=30)
    try:
        for model in (LLAMA, "org/other", "nobody/x"):
            with contextlib.suppress(ModelNotFound):
                await cache.get(None, model)
        assert list(cache._cache) == ["org/other", "nobody/x"]  # LLAMA, least recently used, went first
        with pytest.raises(ModelNotFound):
            await cache.get(None, "nobody/x")
        assert len(hf.app.requests_to("/api/models/nobody/x")) == 1
        now[0] = 31.0
        with pytest.raises(ModelNotFound):
            await cache.get(None, "nobody/x")
        assert len(hf.app.requests_to("/api/models/nobody/x")) == 2
    finally:
        await upstream.aclose()

"""``/v1/responses`` (router passthrough or translation to chat) and ``/v1/models``."""

from __future__ import annotations

from keeptrust_hf.testing import FakeTGI, hf_target

LLAMA = "meta-llama/Meta-Llama-3.1-8B-Instruct"


def test_responses_through_the_routers_responses_api(hf, gateway):
    hf.app.add_mapping(LLAMA, "groq", "g-llama")
    gw = gateway(hf_target(model=LLAMA))
    client = gw.client()
    response = client.responses.create(model=LLAMA, input="hello")
    assert response.output_text == "You said: hello"
    assert (hf.app.last.path, hf.app.last.json) == ("/v1/responses", {"model": LLAMA, "input": "hello"})
    events = list(client.responses.create(model=LLAMA, input="hello", stream=True))
    assert [e.type for e in events][-1] == "response.completed"


def test_responses_translated_to_chat_for_a_backend(hf, gateway):
    hf.app.add_mapping(LLAMA, "together", "t-llama")
    gw = gateway(hf_target(model=LLAMA, backend="together"))
    client = gw.client()
    response = client.responses.create(
        model=LLAMA,
        instructions="Be brief.",
        input=[{"role": "user", "content": [{"type": "input_text", "text": "hello"}]}],
        max_output_tokens=30,
        text={"format": {"type": "json_schema", "name": "x", "schema": {"type": "object"}}},
    )
    assert response.output_text == "You said: hello"
    assert response.usage.input_tokens == 5 and response.status == "completed"
    sent = hf.app.last
    assert sent.path == "/together/v1/chat/completions"
    assert sent.json["model"] == "t-llama" and sent.json["max_tokens"] == 30
    assert sent.json["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello"}]
    assert sent.json["response_format"] == {"type": "json_schema", "schema": {"type": "object"}}
    events = list(client.responses.create(model=LLAMA, input="hello", stream=True))
    kinds = [e.type for e in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta").strip() == "You said: hello"
    assert events[-1].response.usage.output_tokens == 3
    assert [e.sequence_number for e in events] == list(range(len(events)))


def test_responses_function_calls_round_trip(hf, gateway):
    hf.app.add_mapping(LLAMA, "hf-inference")
    gw = gateway(hf_target(model=LLAMA, backend="hf-inference"))
    response = gw.client().responses.create(
        model=LLAMA, input="weather?", tools=[{"type": "function", "name": "search", "parameters": {"type": "object"}}]
    )
    call = response.output[0]
    assert (call.type, call.name, call.arguments) == ("function_call", "search", '{"q":"weather?"}')
    assert hf.app.last.json["tools"] == [
        {"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}
    ]


def test_responses_on_a_native_endpoint(gateway):
    from keeptrust.testing import serve_app

    server = serve_app(FakeTGI(reply="native reply"))
    try:
        gw = gateway(hf_target(model="org/model", base_url=server.url, format="huggingface"))
        assert gw.client().responses.create(model="org/model", input="hi").output_text == "native reply"
    finally:
        server.stop()


def test_models_lists_targets_and_the_hubs_models_per_backend(hf, gateway):
    hf.app.add_mapping(LLAMA, "groq", "g-llama")
    hf.app.add_mapping(LLAMA, "together", "t-llama")
    hf.app.add_mapping("BAAI/bge-large-en-v1.5", "hf-inference", task="feature-extraction")
    gw = gateway(hf_target("fixed", model=LLAMA), hf_target("open"))
    client = gw.client()
    listed = {m.id: m for m in client.models.list()}
    assert {"fixed", LLAMA, "open", "BAAI/bge-large-en-v1.5"} <= set(listed)
    bge = listed["BAAI/bge-large-en-v1.5"].model_dump()
    assert bge["backends"] == ["hf-inference"] and bge["tasks"] == ["feature-extraction"]
    listing_calls = hf.app.requests_to("/api/models")
    providers = sorted(r.query["inference_provider"][0] for r in listing_calls if r.path == "/api/models")
    assert "groq" in providers and "hf-inference" in providers  # one query per backend
    client.models.list()
    assert len(hf.app.requests_to("/api/models")) == len(listing_calls)  # cached


def test_models_answers_within_its_budget_when_the_hub_never_answers(hf, gateway, monkeypatch):
    import socket

    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        monkeypatch.setenv("KEEPTRUST_HF_HUB_URL", f"http://127.0.0.1:{silent.getsockname()[1]}")
        gw = gateway(hf_target("fixed", model=LLAMA), hf_target("open"))
        # The targets' own timeout is 60 s; the listing has its own few seconds.
        listed = {m.id for m in gw.client(timeout=15).models.list()}
    assert {"fixed", LLAMA, "open"} <= listed


def test_models_serves_the_last_listing_while_the_hub_fails(hf, gateway):
    hf.app.add_mapping("BAAI/bge-large-en-v1.5", "hf-inference", task="feature-extraction")
    gw = gateway(hf_target("open", mapping_ttl_seconds=0))
    client = gw.client()
    assert "BAAI/bge-large-en-v1.5" in {m.id for m in client.models.list()}
    hf.app.fail_next("/api/models", 503, {"error": "Hub down"}, times=1000)
    assert "BAAI/bge-large-en-v1.5" in {m.id for m in client.models.list()}

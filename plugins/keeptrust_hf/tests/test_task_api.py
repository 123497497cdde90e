"""Hugging Face's native task API through the gateway, driven by huggingface_hub's own
``InferenceClient`` pointed at it, task by task: the exact request hf-inference receives (the
gateway's token, never the client's), the answer the client parses, the policies on the texts of
``inputs``/``parameters`` and of the answers, and one audit record per call."""

from __future__ import annotations

import base64
import types
from pathlib import Path
from typing import Any

import orjson
import pytest

from keeptrust import Modify, Policy, hookimpl, request_texts, response_texts
from keeptrust.testing import start_gateway
from keeptrust_hf.testing import FLAC, PNG, TOKEN, TOKEN_ENV, WAV, hf_target, vector

huggingface_hub = pytest.importorskip("huggingface_hub")
from huggingface_hub import InferenceClient  # noqa: E402
from huggingface_hub.errors import HfHubHTTPError  # noqa: E402

GATEWAY_KEY = "kt-task-api-key-0123456789"
EMAIL = "alice@example.com"

MODELS = {
    "text-classification": "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
    "token-classification": "dslim/bert-base-NER",
    "fill-mask": "google-bert/bert-base-uncased",
    "feature-extraction": "BAAI/bge-small-en-v1.5",
    "sentence-similarity": "sentence-transformers/all-MiniLM-L6-v2",
    "question-answering": "deepset/roberta-base-squad2",
    "zero-shot-classification": "facebook/bart-large-mnli",
    "summarization": "facebook/bart-large-cnn",
    "translation": "Helsinki-NLP/opus-mt-en-fr",
    "text-generation": "openai-community/gpt2",
    "text-to-speech": "espnet/kan-bayashi_ljspeech_vits",
    "text-to-image": "stabilityai/stable-diffusion-xl-base-1.0",
    "table-question-answering": "google/tapas-base-finetuned-wtq",
    "tabular-classification": "julien-c/wine-quality",
    "document-question-answering": "impira/layoutlm-document-qa",
    "visual-question-answering": "dandelin/vilt-b32-finetuned-vqa",
    "zero-shot-image-classification": "openai/clip-vit-base-patch32",
    "image-to-image": "timbrooks/instruct-pix2pix",
    "automatic-speech-recognition": "openai/whisper-large-v3",
    "audio-classification": "superb/hubert-base-superb-er",
    "audio-to-audio": "speechbrain/sepformer-wham",
    "image-classification": "google/vit-base-patch16-224",
    "image-segmentation": "nvidia/segformer-b0-finetuned-ade-512-512",
    "image-to-text": "Salesforce/blip-image-captioning-base",
    "object-detection": "facebook/detr-resnet-50",
}


class Redactor(Policy):
    """Redacts an e-mail address in requests and the word ``secret`` in answers (what a PII
    policy does), through the core's text locations only."""

    name = "test-redactor"

    async def on_request(self, ctx):
        refs = [r for r in request_texts(ctx.operation, ctx.body) if EMAIL in r.text]
        for ref in refs:
            ref.set(ref.text.replace(EMAIL, "<EMAIL>"))
        return Modify("redacted") if refs else None

    async def on_response(self, ctx, body):
        refs = [r for r in response_texts(ctx.operation, body) if "secret" in r.text]
        for ref in refs:
            ref.set(ref.text.replace("secret", "[REDACTED]"))
        return Modify("redacted") if refs else None

    def stream_filter(self, ctx):
        return _HoldAndRedact()


class _HoldAndRedact:
    """Holds a streamed answer back and redacts it whole (a word may span chunks)."""

    def __init__(self) -> None:
        self.held = ""

    def feed(self, text: str) -> str:
        self.held += text
        return ""

    def flush(self) -> str:
        return self.held.replace("secret", "[REDACTED]")


def _redactor_plugin() -> types.ModuleType:
    module = types.ModuleType("task_redactor")
    module.register_policies = hookimpl(lambda register: register(Redactor))  # type: ignore[attr-defined]
    return module


@pytest.fixture
def audit_dir(tmp_path: Path) -> Path:
    return tmp_path / "audit"


@pytest.fixture
def gw(hf, audit_dir):
    for task, model in MODELS.items():
        hf.app.add_mapping(model, "hf-inference", task=task)
    config = {
        "server": {"auth": {"keys": [{"key_ref": {"env": "KT_TASK_KEY"}}]}},
        "providers": {"targets": [hf_target("open")]},
        "policies": {
            "chain": ["test-redactor", "audit-logger"],
            "policy": {
                "audit-logger": {"directory": str(audit_dir), "include_request": True, "include_response": True}
            },
        },
    }
    running = start_gateway(
        config, environ={TOKEN_ENV: TOKEN, "KT_TASK_KEY": GATEWAY_KEY}, extra_plugins=[_redactor_plugin()]
    )
    yield running
    running.stop()


def client(gw, task: str, serverless: bool = False) -> InferenceClient:
    prefix = "" if serverless else "/hf-inference"
    return InferenceClient(model=f"{gw.url}{prefix}/models/{MODELS[task]}", api_key=GATEWAY_KEY, timeout=30)


def sent(hf, task: str):
    calls = hf.app.requests_to(f"/hf-inference/models/{MODELS[task]}")
    assert calls, f"nothing reached hf-inference for {task}"
    call = calls[-1]
    # The gateway's own Hugging Face token, never the gateway key the client presented.
    assert call.header("authorization") == f"Bearer {TOKEN}"
    assert GATEWAY_KEY not in str(call.headers)
    return call


def audit_records(audit_dir: Path) -> list[dict[str, Any]]:
    out = []
    for path in sorted(audit_dir.rglob("seg-*.jsonl")):
        out.extend(orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip())
    return [r for r in out if r.get("type") in ("request", "access")]


# ------------------------------------------------------------------------------- text in, text out
def test_text_classification(gw, hf):
    out = client(gw, "text-classification").text_classification(f"I love mailing {EMAIL}")
    assert [(o.label, o.score > 0) for o in out] == [("POSITIVE", True), ("NEGATIVE", True)]
    call = sent(hf, "text-classification")
    assert call.path == f"/hf-inference/models/{MODELS['text-classification']}"
    assert call.json == {"inputs": "I love mailing <EMAIL>", "parameters": {}}


def test_token_classification(gw, hf):
    out = client(gw, "token-classification").token_classification(f"My name is Sarah and I write to {EMAIL}")
    assert [o.word for o in out] == ["My", "Sarah", "I"]
    assert sent(hf, "token-classification").json["inputs"] == "My name is Sarah and I write to <EMAIL>"


def test_fill_mask_with_targets(gw, hf):
    out = client(gw, "fill-mask").fill_mask("The capital of France is [MASK].", targets=["paris", "secret"])
    assert [o.token_str for o in out] == ["paris", "[REDACTED]"]
    assert sent(hf, "fill-mask").json == {
        "inputs": "The capital of France is [MASK].",
        "parameters": {"targets": ["paris", "secret"]},
    }


def test_feature_extraction_uses_the_pipeline_route(gw, hf):
    out = client(gw, "feature-extraction").feature_extraction(f"hi {EMAIL}", normalize=True)
    assert out.tolist() == pytest.approx(vector("hi <EMAIL>"), rel=1e-6)
    call = sent(hf, "feature-extraction")
    assert call.path.endswith("/pipeline/feature-extraction")
    assert call.json == {"inputs": "hi <EMAIL>", "normalize": True}


def test_pipeline_suffixed_route_as_the_router_spells_it(gw, hf):
    model = MODELS["sentence-similarity"]
    url = f"{gw.url}/hf-inference/models/{model}/pipeline/sentence-similarity"
    out = InferenceClient(model=url, api_key=GATEWAY_KEY).sentence_similarity(
        f"from {EMAIL}", other_sentences=["one", "two"]
    )
    assert out == [1.0, 0.5]
    call = sent(hf, "sentence-similarity")
    assert call.path == f"/hf-inference/models/{model}/pipeline/sentence-similarity"
    assert call.json == {"inputs": {"source_sentence": "from <EMAIL>", "sentences": ["one", "two"]}, "parameters": {}}


def test_question_answering_sees_question_and_context(gw, hf):
    out = client(gw, "question-answering").question_answering(
        question=f"Who is {EMAIL}?", context=f"The secret owner is {EMAIL}. Nobody else."
    )
    assert out.answer == "The [REDACTED] owner is <EMAIL>"
    assert sent(hf, "question-answering").json == {
        "inputs": {"question": "Who is <EMAIL>?", "context": "The secret owner is <EMAIL>. Nobody else."},
        "parameters": {},
    }


def test_zero_shot_classification_labels_are_policed(gw, hf):
    out = client(gw, "zero-shot-classification").zero_shot_classification(
        f"write to {EMAIL}", candidate_labels=["spam", EMAIL], hypothesis_template="This is {}."
    )
    assert [o.label for o in out] == ["spam", "<EMAIL>"]
    assert sent(hf, "zero-shot-classification").json == {
        "inputs": "write to <EMAIL>",
        "parameters": {
            "candidate_labels": ["spam", "<EMAIL>"],
            "multi_label": False,
            "hypothesis_template": "This is {}.",
        },
    }


def test_summarization_answer_passes_the_response_policies(gw, hf, audit_dir):
    out = client(gw, "summarization").summarization(f"the secret plan of {EMAIL}")
    assert out.summary_text == "Summary: the [REDACTED] plan of <EMAIL>"
    assert sent(hf, "summarization").json == {"inputs": "the secret plan of <EMAIL>", "parameters": {}}
    gw.stop()
    record = audit_records(audit_dir)[-1]
    assert record["operation"] == "hf-task:summarization"
    assert record["endpoint"] == f"/hf-inference/models/{MODELS['summarization']}"
    assert record["status"] == 200 and record["target"] == "open"
    assert record["model"] == MODELS["summarization"]
    assert record["request"] == {"inputs": "the secret plan of <EMAIL>", "parameters": {}}
    assert record["response"] == [{"summary_text": "Summary: the [REDACTED] plan of <EMAIL>"}]
    assert EMAIL not in orjson.dumps(record).decode()


def test_translation(gw, hf):
    out = client(gw, "translation").translation("a secret", src_lang="en", tgt_lang="fr")
    assert out.translation_text == "Traduction: a [REDACTED]"
    assert sent(hf, "translation").json == {"inputs": "a secret", "parameters": {"src_lang": "en", "tgt_lang": "fr"}}


def test_text_generation_whole_and_streamed(gw, hf):
    c = client(gw, "text-generation")
    assert c.text_generation(f"tell {EMAIL} a secret", max_new_tokens=5) == "tell <EMAIL> a [REDACTED] and so on"
    assert sent(hf, "text-generation").json == {
        "inputs": "tell <EMAIL> a secret",
        "parameters": {"max_new_tokens": 5},
    }
    tokens = list(c.text_generation("my secret", stream=True))
    assert "".join(tokens) == "my [REDACTED] and so on"
    # Streams are replayed after the response policies checked the whole answer.
    assert sent(hf, "text-generation").json["stream"] is False


def test_text_to_speech_sends_parameters(gw, hf):
    audio = client(gw, "text-to-speech").text_to_speech(f"hello {EMAIL}")
    assert audio == FLAC
    assert sent(hf, "text-to-speech").json == {"inputs": "hello <EMAIL>", "parameters": {}}


def test_text_to_image(gw, hf):
    image = client(gw, "text-to-image").text_to_image(f"a portrait of {EMAIL}", negative_prompt=EMAIL, seed=3)
    assert image.size == (1, 1)
    call = sent(hf, "text-to-image")
    assert call.json == {"inputs": "a portrait of <EMAIL>", "parameters": {"negative_prompt": "<EMAIL>", "seed": 3}}
    assert call.header("accept") == "image/png"


def test_table_question_answering(gw, hf):
    table = {"owner": [EMAIL, "bob"], "repos": ["1", "2"]}
    out = client(gw, "table-question-answering").table_question_answering(table, query=f"repos of {EMAIL}?")
    assert out.answer == "<EMAIL>" and out.cells == ["<EMAIL>"]
    assert sent(hf, "table-question-answering").json == {
        "inputs": {"query": "repos of <EMAIL>?", "table": {"owner": ["<EMAIL>", "bob"], "repos": ["1", "2"]}},
        "parameters": {},
    }


def test_tabular_classification(gw, hf):
    out = client(gw, "tabular-classification").tabular_classification({"fixed_acidity": ["7.4", "7.8"]})
    assert out == [0, 1]
    assert sent(hf, "tabular-classification").json["table"] == {"fixed_acidity": ["7.4", "7.8"]}


# ------------------------------------------------------------------------------------ binary in
def test_image_tasks_send_raw_bytes(gw, hf):
    assert [o.label for o in client(gw, "image-classification").image_classification(PNG)] == ["cat", "dog"]
    call = sent(hf, "image-classification")
    assert call.raw == PNG and call.json is None
    assert [o.label for o in client(gw, "object-detection").object_detection(PNG)] == ["cat"]
    assert sent(hf, "object-detection").raw == PNG
    assert client(gw, "image-to-text").image_to_text(PNG).generated_text == "a photo of two cats"
    segments = client(gw, "image-segmentation").image_segmentation(PNG)
    assert segments[0].label == "cat"


def test_binary_with_parameters_goes_as_base64_json(gw, hf, audit_dir):
    out = client(gw, "zero-shot-image-classification").zero_shot_image_classification(
        PNG, candidate_labels=["cat", EMAIL]
    )
    assert [o.label for o in out] == ["cat", "<EMAIL>"]
    assert sent(hf, "zero-shot-image-classification").json == {
        "inputs": base64.b64encode(PNG).decode(),
        "parameters": {"candidate_labels": ["cat", "<EMAIL>"]},
    }
    image = client(gw, "image-to-image").image_to_image(PNG, prompt=f"sign it {EMAIL}")
    assert image.size == (1, 1)
    assert sent(hf, "image-to-image").json["parameters"] == {"prompt": "sign it <EMAIL>"}
    gw.stop()
    # The audit log keeps the image's size, never its base64.
    record = audit_records(audit_dir)[-1]
    assert record["request"]["inputs"] == {
        "filename": "inputs",
        "content_type": "application/octet-stream",
        "bytes": len(PNG),
    }


def test_visual_and_document_question_answering(gw, hf):
    out = client(gw, "visual-question-answering").visual_question_answering(PNG, f"who mailed {EMAIL}?")
    assert out[0].answer == "two cats"
    vqa = sent(hf, "visual-question-answering").json
    assert vqa["question"] == "who mailed <EMAIL>?" and vqa["inputs"] == base64.b64encode(PNG).decode()
    out = client(gw, "document-question-answering").document_question_answering(PNG, f"invoice of {EMAIL}?")
    assert out[0].answer == "us-001"
    assert sent(hf, "document-question-answering").json["inputs"]["question"] == "invoice of <EMAIL>?"


def test_audio_tasks(gw, hf):
    text = client(gw, "automatic-speech-recognition").automatic_speech_recognition(WAV)
    assert text.text == "hello world"
    call = sent(hf, "automatic-speech-recognition")
    assert call.raw == WAV
    assert [o.label for o in client(gw, "audio-classification").audio_classification(WAV)] == ["speech", "music"]
    out = client(gw, "audio-to-audio").audio_to_audio(WAV)
    assert out[0].blob == FLAC


# ------------------------------------------------------------------------------- paths and errors
def test_serverless_path_reaches_hf_inference(gw, hf):
    out = client(gw, "summarization", serverless=True).summarization("text")
    assert out.summary_text == "Summary: text"
    assert sent(hf, "summarization").path == f"/hf-inference/models/{MODELS['summarization']}"


def test_the_gateway_key_is_required(gw, hf):
    with pytest.raises(HfHubHTTPError) as info:
        InferenceClient(model=f"{gw.url}/models/{MODELS['summarization']}", api_key="wrong").summarization("x")
    assert info.value.response.status_code == 401
    assert not hf.app.requests_to("/hf-inference")


def test_model_not_on_hf_inference_is_a_clear_400(gw, hf):
    hf.app.add_mapping("meta-llama/Llama-3.1-8B-Instruct", "groq", "llama-3.1-8b-instant")
    with pytest.raises(HfHubHTTPError) as info:
        InferenceClient(model=f"{gw.url}/models/meta-llama/Llama-3.1-8B-Instruct", api_key=GATEWAY_KEY).summarization(
            "x"
        )
    assert info.value.response.status_code == 400
    body = info.value.response.json()["error"]
    assert body["code"] == "model_not_supported" and "served by: groq" in body["message"]


def test_pipeline_of_another_task_is_a_task_mismatch(gw, hf):
    url = f"{gw.url}/hf-inference/models/{MODELS['summarization']}/pipeline/feature-extraction"
    with pytest.raises(HfHubHTTPError) as info:
        InferenceClient(model=url, api_key=GATEWAY_KEY).feature_extraction("x")
    assert info.value.response.json()["error"]["code"] == "task_mismatch"


def test_chat_completion_on_the_model_url(gw, hf):
    llama = "meta-llama/Llama-3.1-8B-Instruct"
    hf.app.add_mapping(llama, "hf-inference", task="conversational")
    c = InferenceClient(model=f"{gw.url}/hf-inference/models/{llama}", api_key=GATEWAY_KEY)
    out = c.chat_completion([{"role": "user", "content": f"mail {EMAIL} a secret"}], max_tokens=9)
    assert out.choices[0].message.content == "You said: mail <EMAIL> a [REDACTED]"
    call = hf.app.requests_to(f"/hf-inference/models/{llama}/v1/chat/completions")[-1]
    assert call.header("authorization") == f"Bearer {TOKEN}"
    assert call.json["messages"] == [{"role": "user", "content": "mail <EMAIL> a secret"}]
    chunks = c.chat_completion([{"role": "user", "content": "a secret"}], stream=True)
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert "secret" not in text and "[REDACTED]" in text


def test_unknown_tail_and_invalid_model_ids(gw, hf):
    import httpx

    headers = {"authorization": f"Bearer {GATEWAY_KEY}"}
    r = httpx.post(f"{gw.url}/models/a/b/whatever", json={"inputs": "x"}, headers=headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "route_not_found"
    r = httpx.post(f"{gw.url}/models/a--b/c", json={"inputs": "x"}, headers=headers)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_model"
    r = httpx.get(f"{gw.url}/models/a/b", headers=headers)
    assert r.status_code == 405
    assert not hf.app.requests_to("/hf-inference")


def test_a_pipeline_endpoint_target_takes_the_task_from_the_path(hf):
    # A Dedicated Endpoint running a plain pipeline (format: huggingface): no Hub lookup, the task is
    # the path's, the payload goes to the endpoint's root.
    from keeptrust.testing import serve_app
    from keeptrust_hf.testing import FakeTGI

    endpoint = FakeTGI(mode="pipeline", reply=" and a secret")
    server = serve_app(endpoint)
    target = hf_target(model="org/generator", base_url=server.url, format="huggingface", native_api="pipeline")
    gw = start_gateway(
        {"providers": {"targets": [target]}, "policies": {"chain": ["test-redactor"]}},
        environ={TOKEN_ENV: TOKEN},
        extra_plugins=[_redactor_plugin()],
    )
    try:
        url = f"{gw.url}/models/org/generator/pipeline/text-generation"
        out = InferenceClient(model=url).text_generation(f"write to {EMAIL}", max_new_tokens=5)
        assert out == "write to <EMAIL> and a [REDACTED]"
        call = endpoint.last
        assert call.path == "/" and call.json == {"inputs": "write to <EMAIL>", "parameters": {"max_new_tokens": 5}}
        assert call.header("authorization") == f"Bearer {TOKEN}"
        with pytest.raises(HfHubHTTPError) as info:
            InferenceClient(model=f"{gw.url}/models/org/generator").text_generation("x")
        assert info.value.response.json()["error"]["code"] == "task_required"
    finally:
        gw.stop()
        server.stop()

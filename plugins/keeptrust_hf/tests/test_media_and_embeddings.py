"""Embeddings, images, image edits, speech and transcriptions on every backend of the capability
table: the exact upstream request and the OpenAI-shaped answer."""

from __future__ import annotations

import base64
import io
import struct

import openai
import pytest

from keeptrust_hf.testing import FLAC, MP3, PNG, TOKEN, WAV, hf_target, vector

BGE = "BAAI/bge-large-en-v1.5"
FLUX = "black-forest-labs/FLUX.1-dev"
TTS = "hexgrad/Kokoro-82M"
WHISPER = "openai/whisper-large-v3"


def open_gateway(gateway):
    return gateway(hf_target("open", poll_interval_seconds=0.01)).client()


def floats(b64: str) -> list[float]:
    raw = base64.b64decode(b64)
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


# ------------------------------------------------------------------------------------ embeddings
def test_bge_embeddings_example_end_to_end(hf, gateway):
    hf.app.add_mapping(BGE, "hf-inference", task="feature-extraction")
    gw = gateway(
        {"id": "hf-bge-embeddings", "provider": "huggingface", "model": BGE, "secret_key_ref": {"env": "HF_API_TOKEN"}}
    )
    embedding = gw.client().embeddings.create(model=BGE, input="enterprise AI governance policy enforcement gateway")
    assert len(embedding.data) == 1
    # the SDK asked for base64 (its default) and decoded it: the same floats, float32-rounded
    assert embedding.data[0].embedding == pytest.approx(
        vector("enterprise AI governance policy enforcement gateway"), rel=1e-6
    )
    sent = hf.app.requests_to("/hf-inference")[0]
    assert sent.path == f"/hf-inference/models/{BGE}/pipeline/feature-extraction"
    assert sent.json == {"inputs": "enterprise AI governance policy enforcement gateway"}
    assert sent.header("authorization") == f"Bearer {TOKEN}"


def test_hf_inference_batch_params_float_and_token_level_pooling(hf, gateway):
    hf.app.add_mapping(BGE, "hf-inference", task="feature-extraction")
    client = open_gateway(gateway)
    batch = client.embeddings.create(
        model=BGE, input=["a b", "c"], encoding_format="float", extra_body={"normalize": True, "truncate": True}
    )
    assert [d.embedding for d in batch.data] == [vector("a b"), vector("c")]
    assert [d.index for d in batch.data] == [0, 1]
    assert hf.app.last.json == {"inputs": ["a b", "c"], "normalize": True, "truncate": True}
    hf.app.token_level_embeddings = True
    pooled = client.embeddings.create(model=BGE, input="a b", encoding_format="float")
    expected = [(x + y) / 2 for x, y in zip(vector("a"), vector("b"), strict=True)]
    assert pooled.data[0].embedding == pytest.approx(expected)
    with pytest.raises(openai.BadRequestError, match="dimensions"):
        client.embeddings.create(model=BGE, input="a", dimensions=64)


@pytest.mark.parametrize(
    ("backend", "path"),
    [
        ("together", "/together/v1/embeddings"),
        ("scaleway", "/scaleway/v1/embeddings"),
        ("deepinfra", "/deepinfra/v1/openai/embeddings"),
    ],
)
def test_openai_style_embedding_backends(hf, gateway, backend, path):
    hf.app.add_mapping(BGE, backend, f"{backend}-bge", task="feature-extraction")
    client = open_gateway(gateway)
    result = client.embeddings.create(model=f"{BGE}:{backend}", input=["x", "y"], dimensions=8)
    assert len(result.data) == 2 and result.model == BGE and result.usage.prompt_tokens == 4
    sent = hf.app.last
    assert sent.path == path
    assert sent.json == {"input": ["x", "y"], "dimensions": 8, "model": f"{backend}-bge"}
    raw = client.embeddings.with_raw_response.create(model=f"{BGE}:{backend}", input="x", encoding_format="base64")
    assert floats(raw.http_response.json()["data"][0]["embedding"]) == pytest.approx(vector("x"), rel=1e-6)


# ------------------------------------------------------------------------------------ images
@pytest.mark.parametrize(
    ("backend", "path", "check"),
    [
        (
            "hf-inference",
            f"/hf-inference/models/{FLUX}",
            lambda r: (
                r.json == {"inputs": "a cat", "parameters": {"width": 512, "height": 256}}
                and r.header("accept") == "image/png"
            ),
        ),
        (
            "together",
            "/together/v1/images/generations",
            lambda r: (
                r.json
                == {"prompt": "a cat", "model": "t-flux", "width": 512, "height": 256, "response_format": "base64"}
            ),
        ),
        (
            "nscale",
            "/nscale/v1/images/generations",
            lambda r: (
                r.json == {"prompt": "a cat", "model": "n-flux", "response_format": "b64_json", "size": "512x256"}
            ),
        ),
        (
            "replicate",
            "/replicate/v1/models/r-owner/flux/predictions",
            lambda r: (
                r.json == {"input": {"prompt": "a cat", "width": 512, "height": 256}} and r.header("prefer") == "wait"
            ),
        ),
        ("wavespeed", "/wavespeed/api/v3/w-flux", lambda r: r.json == {"prompt": "a cat", "width": 512, "height": 256}),
        (
            "zai-org",
            "/zai-org/api/paas/v4/async/images/generations",
            lambda r: r.json == {"model": "z-flux", "prompt": "a cat", "size": "512x256"},
        ),
    ],
)
def test_images_on_every_image_backend(hf, gateway, backend, path, check):
    ids = {
        "hf-inference": FLUX,
        "together": "t-flux",
        "nscale": "n-flux",
        "replicate": "r-owner/flux",
        "wavespeed": "w-flux",
        "zai-org": "z-flux",
    }
    hf.app.add_mapping(FLUX, backend, ids[backend], task="text-to-image")
    client = open_gateway(gateway)
    b64 = client.images.generate(model=f"{FLUX}:{backend}", prompt="a cat", size="512x256", response_format="b64_json")
    assert base64.b64decode(b64.data[0].b64_json) == PNG
    sent = next(r for r in hf.app.requests if r.method == "POST" and r.path == path)
    assert check(sent), sent.json
    assert sent.header("authorization") == f"Bearer {TOKEN}"
    url = client.images.generate(model=f"{FLUX}:{backend}", prompt="a cat")
    assert url.data[0].url.startswith(("http://127.0.0.1", "data:image/png;base64,"))


def test_async_jobs_poll_through_the_router(hf, gateway):
    hf.app.add_mapping(FLUX, "wavespeed", "w-flux", task="text-to-image")
    hf.app.add_mapping(FLUX, "zai-org", "z-flux", task="text-to-image")
    hf.app.add_mapping(FLUX, "replicate", "r-owner/flux", task="text-to-image")
    hf.app.pending_polls = 2
    hf.app.replicate_pending = True
    client = open_gateway(gateway)
    for backend, poll_prefix in (
        ("wavespeed", "/wavespeed/api/v3/predictions/"),
        ("zai-org", "/zai-org/api/paas/v4/async-result/"),
        ("replicate", "/replicate/v1/predictions/"),
    ):
        client.images.generate(model=f"{FLUX}:{backend}", prompt="a cat", response_format="b64_json")
        polls = [r for r in hf.app.requests if r.method == "GET" and r.path.startswith(poll_prefix)]
        assert len(polls) == 3, backend
        assert all(r.header("authorization") == f"Bearer {TOKEN}" for r in polls)
    # result files are downloaded without the gateway's credentials
    assert all(r.header("authorization") is None for r in hf.app.requests_to("/files/"))


def test_image_edits(hf, gateway):
    hf.app.add_mapping(FLUX, "hf-inference", task="image-to-image")
    hf.app.add_mapping(FLUX, "together", "FLUX.1-kontext-dev", task="image-to-image")
    hf.app.add_mapping(FLUX, "replicate", "r-owner/kontext", task="image-to-image")
    hf.app.add_mapping(FLUX, "wavespeed", "w-kontext", task="image-to-image")
    client = open_gateway(gateway)
    uri = "data:image/png;base64," + base64.b64encode(PNG).decode()
    for backend in ("hf-inference", "together", "replicate", "wavespeed"):
        result = client.images.edit(
            model=f"{FLUX}:{backend}",
            image=("cat.png", io.BytesIO(PNG), "image/png"),
            prompt="make it blue",
            response_format="b64_json",
        )
        assert base64.b64decode(result.data[0].b64_json) == PNG
    bodies = {r.path.split("/")[1]: r.json for r in hf.app.requests if r.method == "POST"}
    assert bodies["hf-inference"] == {
        "inputs": base64.b64encode(PNG).decode(),
        "parameters": {"prompt": "make it blue"},
    }
    assert bodies["together"]["image_url"] == uri and bodies["together"]["prompt"] == "make it blue"
    assert bodies["replicate"]["input"]["input_image"] == uri and bodies["replicate"]["input"]["images"] == [uri]
    assert bodies["wavespeed"] == {"prompt": "make it blue", "image": uri}


def test_upload_over_the_backend_limit_is_413(hf, gateway):
    hf.app.add_mapping(FLUX, "hf-inference", task="image-to-image")
    # the gateway takes large bodies; the backend's own limit is what answers
    client = gateway(hf_target("open"), server={"max_body_bytes": 5_000_000}).client()
    big = PNG + b"\x00" * 2_000_000
    with pytest.raises(openai.APIStatusError) as info:
        client.images.edit(model=f"{FLUX}:hf-inference", image=("big.png", io.BytesIO(big), "image/png"), prompt="x")
    assert info.value.status_code == 413
    assert not hf.app.requests_to("/hf-inference")  # refused before any upstream call
    assert "'hf-inference' accepts at most 2000000 bytes" in info.value.body["message"]


# ------------------------------------------------------------------------------------ audio
@pytest.mark.parametrize(
    ("backend", "path", "audio"),
    [
        ("hf-inference", f"/hf-inference/models/{TTS}", FLAC),
        ("together", "/together/v1/audio/speech", MP3),
        ("deepinfra", "/deepinfra/v1/openai/audio/speech", MP3),
        ("replicate", "/replicate/v1/models/r-owner/tts/predictions", MP3),
    ],
)
def test_speech(hf, gateway, backend, path, audio):
    ids = {"hf-inference": TTS, "together": "t-tts", "deepinfra": "d-tts", "replicate": "r-owner/tts"}
    hf.app.add_mapping(TTS, backend, ids[backend], task="text-to-speech")
    client = open_gateway(gateway)
    speech = client.audio.speech.create(model=f"{TTS}:{backend}", input="Hello!", voice="af_heart")
    assert speech.content == audio
    assert speech.response.headers["content-type"].startswith("audio/")
    sent = next(r for r in hf.app.requests if r.method == "POST")
    assert sent.path == path
    expected = {
        "hf-inference": {"inputs": "Hello!", "parameters": {}},
        "together": {"input": "Hello!", "voice": "af_heart", "model": "t-tts"},
        "deepinfra": {"input": "Hello!", "voice": "af_heart", "model": "d-tts"},
        "replicate": {"input": {"text": "Hello!", "voice": "af_heart"}},
    }[backend]
    assert sent.json == expected


def test_transcriptions(hf, gateway):
    hf.app.add_mapping(WHISPER, "hf-inference", task="automatic-speech-recognition")
    hf.app.add_mapping(WHISPER, "deepinfra", "d-whisper", task="automatic-speech-recognition")
    hf.app.add_mapping(WHISPER, "replicate", "r-owner/whisper:abc123", task="automatic-speech-recognition")
    client = open_gateway(gateway)
    for backend in ("hf-inference", "deepinfra", "replicate"):
        text = client.audio.transcriptions.create(
            model=f"{WHISPER}:{backend}", file=("a.wav", io.BytesIO(WAV), "audio/wav")
        )
        assert text.text == "hello world", backend
    raw = hf.app.requests_to("/hf-inference")[0]
    assert raw.raw == WAV and raw.header("content-type") == "audio/wav"  # raw bytes, typed by MIME
    multipart = hf.app.requests_to("/deepinfra")[0]
    assert multipart.path == "/deepinfra/v1/openai/audio/transcriptions"
    assert multipart.header("content-type").startswith("multipart/form-data") and b'name="model"' in multipart.raw
    assert b"d-whisper" in multipart.raw and WAV in multipart.raw
    replicate = hf.app.requests_to("/replicate")[0]
    assert replicate.path == "/replicate/v1/predictions"
    assert replicate.json == {
        "input": {"audio": "data:audio/wav;base64," + base64.b64encode(WAV).decode()},
        "version": "abc123",
    }
    verbose = client.audio.transcriptions.create(
        model=f"{WHISPER}:hf-inference", response_format="verbose_json", file=("a.flac", io.BytesIO(FLAC), "audio/flac")
    )
    assert [s.text for s in verbose.segments] == ["hello", " world"]
    assert hf.app.requests_to("/hf-inference")[-1].json["parameters"] == {"return_timestamps": True}
    srt = client.audio.transcriptions.create(
        model=f"{WHISPER}:deepinfra", response_format="srt", file=("a.wav", io.BytesIO(WAV), "audio/wav")
    )
    assert "00:00:00,000 --> 00:00:01,500" in srt


def test_result_urls_on_non_public_addresses_are_refused_by_default(hf, gateway):
    # The fake answers with result URLs on 127.0.0.1: a real target refuses to fetch them, so an
    # upstream answer cannot make the gateway read its own network (and nothing is fetched).
    hf.app.add_mapping(FLUX, "wavespeed", "w-flux", task="text-to-image")
    target = hf_target("strict", poll_interval_seconds=0.01)
    del target["downloads"]
    client = gateway(target).client()
    with pytest.raises(openai.APIStatusError) as caught:
        client.images.generate(model=f"{FLUX}:wavespeed", prompt="a cat", response_format="b64_json")
    assert caught.value.status_code == 502
    error = caught.value.body
    assert error["code"] == "unsafe_result_url" and "non-public address" in error["message"]
    assert hf.app.requests_to("/files/") == []

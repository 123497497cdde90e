"""End to end: the openai client → a real gateway → the fake fal (as the router's fal route), with
keeptrust-hf's fake Hub answering the mapping API. Every test asserts what fal received."""

from __future__ import annotations

import base64
import io

import httpx
import openai
import pytest

from keeptrust_falai.testing import MP3, PNG, TRANSCRIPT, JobPlan
from keeptrust_hf.testing import TOKEN, TOKEN_ENV

FLUX = "huggingface/fal-ai/black-forest-labs/FLUX.1-dev"
KONTEXT = "huggingface/fal-ai/black-forest-labs/FLUX.1-Kontext-dev"
KOKORO = "huggingface/fal-ai/hexgrad/Kokoro-82M"
WHISPER = "huggingface/fal-ai/openai/whisper-large-v3"
QUEUE = {"_subdomain": "queue"}
TEXT = "".join(t for t, _, _ in TRANSCRIPT)


def queued(**target):
    """A target whose fal-ai image generations go through fal's queue (backend_options)."""
    return {
        "id": "hf",
        "provider": "huggingface",
        "secret_key_ref": {"env": TOKEN_ENV},
        "poll_interval_seconds": 0.001,
        "backend": "fal-ai",
        "backend_options": {"modes": {"images": "queue"}},
        **target,
    }


def test_images_generate_is_a_sync_run_like_the_official_client(world, gateway):
    answer = gateway().client().images.generate(model=FLUX, prompt="a lighthouse at dawn", size="1024x768")
    assert [(r.method, r.path, r.query) for r in world.fal.requests] == [("POST", "/fal-ai/fal-ai/flux/dev", {})]
    assert world.fal.requests[0].body == {
        "prompt": "a lighthouse at dawn",
        "image_size": {"width": 1024, "height": 768},
    }
    assert answer.data[0].url.startswith(world.fal_server.url + "/files/")


def test_images_generate_through_the_router_queue(world, gateway):
    client = gateway(queued()).client()
    answer = client.images.generate(
        model=FLUX, prompt="a lighthouse at dawn", n=2, size="1024x768", extra_body={"seed": 7}
    )
    submit = world.fal.calls("POST")[0]
    assert (submit.path, submit.query) == ("/fal-ai/fal-ai/flux/dev", QUEUE)
    assert submit.headers["authorization"] == f"Bearer {TOKEN}"
    assert submit.body == {
        "prompt": "a lighthouse at dawn",
        "num_images": 2,
        "image_size": {"width": 1024, "height": 768},
        "seed": 7,
    }
    polled = [(r.method, r.path, r.query) for r in world.fal.requests[1:]]
    assert polled[-1] == ("GET", "/fal-ai/fal-ai/flux/requests/req-0001", QUEUE)
    assert polled[:-1] == [("GET", "/fal-ai/fal-ai/flux/requests/req-0001/status", QUEUE)] * 3
    assert len(answer.data) == 2 and all(d.url.startswith(world.fal_server.url + "/files/") for d in answer.data)
    assert answer.created > 0 and answer.size == "1024x768"
    # The mapping came from the Hub, asked with the HF token.
    hub = world.hub.requests_to("/api/models/black-forest-labs/FLUX.1-dev")
    assert hub and hub[0].header("authorization") == f"Bearer {TOKEN}"


def test_images_b64_json(world, gateway):
    answer = (
        gateway()
        .client()
        .images.generate(
            model=FLUX, prompt="x", response_format="b64_json", extra_body={"output_format": "jpg", "moderation": "low"}
        )
    )
    assert world.fal.calls("POST")[0].body == {
        "prompt": "x",
        "sync_mode": True,
        "output_format": "jpeg",
        "enable_safety_checker": False,
    }
    assert base64.b64decode(answer.data[0].b64_json) == PNG


def test_images_stream(world, gateway):
    events = list(gateway().client().images.generate(model=FLUX, prompt="x", stream=True, size="64x64"))
    assert [e.type for e in events] == ["image_generation.partial_image"] * 2 + ["image_generation.completed"]
    assert base64.b64decode(events[-1].b64_json) == PNG
    sent = world.fal.calls("POST")[0]
    assert sent.path == "/fal-ai/fal-ai/flux/dev/stream" and sent.body["sync_mode"] is True


def test_invalid_size_is_a_400_before_fal(world, gateway):
    with pytest.raises(openai.BadRequestError) as info:
        gateway().client().images.generate(model=FLUX, prompt="x", size="huge")
    assert info.value.body["param"] == "size"
    assert not world.fal.requests


def test_images_edit_multipart(world, gateway):
    client = gateway().client()
    answer = client.images.edit(
        model=KONTEXT,
        prompt="add a hat",
        image=("cat.png", io.BytesIO(PNG), "image/png"),
        mask=("mask.png", io.BytesIO(PNG), "image/png"),
        response_format="b64_json",
    )
    uri = "data:image/png;base64," + base64.b64encode(PNG).decode()
    sent = world.fal.calls("POST")[0]
    assert (sent.path, sent.query) == ("/fal-ai/fal-ai/flux-kontext/dev", QUEUE)
    assert sent.body == {
        "prompt": "add a hat",
        "sync_mode": True,
        "image_url": uri,
        "image_urls": [uri],
        "mask_url": uri,
    }
    assert base64.b64decode(answer.data[0].b64_json) == PNG


def test_images_edit_several_images(world, gateway):
    client = gateway().client()
    client.images.edit(
        model=KONTEXT,
        prompt="merge",
        image=[("a.png", io.BytesIO(PNG), "image/png"), ("b.png", io.BytesIO(PNG), "image/png")],
    )
    body = world.fal.calls("POST")[0].body
    assert len(body["image_urls"]) == 2 and "image_url" not in body


def test_images_edit_json_body_with_url(world, gateway):
    gw = gateway()
    response = httpx.post(
        gw.base_url + "/images/edits",
        json={"model": KONTEXT, "prompt": "p", "image": "https://example.com/cat.png"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert world.fal.calls("POST")[0].body["image_url"] == "https://example.com/cat.png"


def test_edit_on_another_backend_is_unsupported(world, gateway):
    with pytest.raises(openai.BadRequestError) as info:
        gateway().client().images.edit(
            model="huggingface/groq/black-forest-labs/FLUX.1-Kontext-dev",
            prompt="p",
            image=("a.png", io.BytesIO(PNG), "image/png"),
        )
    assert info.value.body["code"] == "unsupported_operation"


def test_speech(world, gateway):
    client = gateway().client()
    with client.audio.speech.with_streaming_response.create(
        model=KOKORO, input="Hello there", voice="alloy", speed=1.5
    ) as response:
        assert response.headers["content-type"] == "audio/mpeg"
        audio = b"".join(response.iter_bytes())
    assert audio == MP3
    sent = world.fal.calls("POST")[0]
    assert (sent.path, sent.query) == ("/fal-ai/fal-ai/kokoro/american-english", {})
    assert sent.body == {"text": "Hello there", "speed": 1.5}
    assert [d.headers.get("authorization") for d in world.fal.downloads] == [None]


@pytest.mark.parametrize("fmt", ["json", "verbose_json", "text", "srt", "vtt"])
def test_transcriptions(world, gateway, fmt):
    client = gateway().client()
    kwargs = {"timestamp_granularities": ["word"]} if fmt == "verbose_json" else {}
    answer = client.audio.transcriptions.create(
        model=WHISPER,
        file=("talk.wav", io.BytesIO(b"RIFF\0\0\0\0WAVE"), "audio/wav"),
        language="en",
        prompt="fox",
        response_format=fmt,
        **kwargs,
    )
    sent = world.fal.calls("POST")[0]
    assert (sent.path, sent.query) == ("/fal-ai/fal-ai/whisper", {})
    expected = {
        "audio_url": "data:audio/x-wav;base64," + base64.b64encode(b"RIFF\0\0\0\0WAVE").decode(),
        "language": "en",
        "prompt": "fox",
    }
    if fmt in ("verbose_json", "srt", "vtt"):
        expected["chunk_level"] = "word" if fmt == "verbose_json" else "segment"
    assert sent.body == expected
    if fmt == "json":
        assert answer.text == TEXT
    elif fmt == "verbose_json":
        assert answer.text == TEXT and answer.language == "en" and answer.duration == 3.25
        assert [w.word for w in answer.words][:2] == ["The", "quick"]
    elif fmt == "text":
        assert answer.strip() == TEXT
    else:
        assert "00:00:01" in answer and "The quick brown fox" in answer


def test_unsupported_audio_format(world, gateway):
    with pytest.raises(openai.BadRequestError) as info:
        gateway().client().audio.transcriptions.create(
            model=WHISPER, file=("a.m4a", io.BytesIO(b"\0\0\0 ftypM4A "), "audio/mp4")
        )
    assert info.value.body["code"] == "unsupported_audio_format" and not world.fal.requests


def test_failed_job_is_a_502_with_fal_message(world, gateway):
    world.fal.plan_next(JobPlan(fail="CUDA out of memory"))
    with pytest.raises(openai.APIStatusError) as info:
        gateway(queued()).client().images.generate(model=FLUX, prompt="x")
    assert info.value.status_code == 502
    assert "CUDA out of memory" in info.value.body["message"]


def test_validation_error_in_a_job_is_a_400(world, gateway):
    world.fal.plan_next(
        JobPlan(
            result_status=422, result_detail=[{"loc": ["body", "prompt"], "msg": "too long", "type": "value_error"}]
        )
    )
    with pytest.raises(openai.BadRequestError) as info:
        gateway(queued()).client().images.generate(model=FLUX, prompt="x")
    assert "too long" in info.value.body["message"]


def test_slow_job_times_out_and_is_cancelled(world, gateway):
    world.fal.plan_next(JobPlan(hold=True))
    gw = gateway(queued(poll_interval_seconds=0.01, timeout_seconds=0.5))
    with pytest.raises(openai.APIStatusError) as info:
        gw.client().images.generate(model=FLUX, prompt="x")
    assert info.value.status_code == 504
    assert world.fal.jobs["req-0001"].cancelled
    assert world.fal.calls("PUT")[0].path == "/fal-ai/fal-ai/flux/requests/req-0001/cancel"


def test_client_disconnect_cancels_the_job(world, gateway):
    world.fal.plan_next(JobPlan(hold=True))
    gw = gateway(queued())
    with pytest.raises(httpx.ReadTimeout):
        # The client gives up while the job is still running.
        httpx.post(gw.base_url + "/images/generations", json={"model": FLUX, "prompt": "x"}, timeout=0.5)
    assert world.fal.cancelled.wait(10)
    assert world.fal.calls("PUT")[0].path == "/fal-ai/fal-ai/flux/requests/req-0001/cancel"


def test_images_edit_stream(world, gateway):
    client = gateway().client()
    events = list(
        client.images.edit(model=KONTEXT, prompt="hat", image=("a.png", io.BytesIO(PNG), "image/png"), stream=True)
    )
    assert [e.type for e in events] == ["image_edit.partial_image"] * 2 + ["image_edit.completed"]
    assert world.fal.calls("POST")[0].path == "/fal-ai/fal-ai/flux-kontext/dev/stream"


def test_bill_to_reaches_every_queue_call(world, gateway):
    gw = gateway(queued(bill_to="acme"))
    gw.client().images.generate(model=FLUX, prompt="x")
    assert {r.headers.get("x-hf-bill-to") for r in world.fal.requests} == {"acme"}
    assert not world.fal.calls("PUT")  # a finished job is left alone

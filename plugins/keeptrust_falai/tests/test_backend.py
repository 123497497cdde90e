"""The FalAI backend driven with a hand-built ``BackendCall`` against the fake fal: the exact
upstream request of every operation, in both call styles, and the OpenAI answer built from it."""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

from keeptrust import context as ops
from keeptrust.config.model import TargetConfig
from keeptrust.context import RequestContext, UploadedFile
from keeptrust.downloads import Downloader, DownloadSettings
from keeptrust.errors import UnsupportedOperation, UpstreamError
from keeptrust.results import BinaryResult, JSONResult, StreamResult
from keeptrust.secrets import Redactor
from keeptrust.testing import serve_app
from keeptrust.transport import Upstream
from keeptrust_falai.backend import ROUTER_MAX_AUDIO_BYTES, FalAI
from keeptrust_falai.testing import MP3, PNG, FakeFal
from keeptrust_hf.backend import BackendCall
from keeptrust_hf.mapping import MappingEntry

ENDPOINTS = {
    ops.IMAGES: "/v1/images/generations",
    ops.IMAGE_EDIT: "/v1/images/edits",
    ops.SPEECH: "/v1/audio/speech",
    ops.TRANSCRIPTION: "/v1/audio/transcriptions",
}


@pytest.fixture
def fal() -> Iterator[tuple[FakeFal, str]]:
    app = FakeFal(prefix="/fal-ai")
    server = serve_app(app)
    try:
        yield app, server.url
    finally:
        server.stop()


# The fake's CDN is on loopback, which only an explicitly allowed network may be.
_DOWNLOADS = Downloader(DownloadSettings(allow_networks=["127.0.0.0/8"]))


def _call(
    url: str,
    operation: str,
    body: dict[str, Any],
    *,
    model: str = "fal-ai/flux/dev",
    mapping: MappingEntry | None = None,
    options: dict[str, Any] | None = None,
) -> BackendCall:
    config = TargetConfig(id="hf", provider="huggingface", max_retries=0)
    ctx = RequestContext(request_id="r", operation=operation, endpoint=ENDPOINTS[operation], body=body)
    return BackendCall(
        ctx=ctx,
        operation=operation,
        hub_model="black-forest-labs/FLUX.1-dev",
        provider_model=model,
        mapping=mapping,
        base_url=url + "/fal-ai",
        via_router=True,
        upstream=Upstream(config, redactor=Redactor()),
        headers={"x-hf-bill-to": "acme"},
        downloads=_DOWNLOADS,
        logger=logging.getLogger("test"),
        timeout=10.0,
        poll_interval=0.001,
        options=options or {},
    )


async def test_images_through_the_queue_when_a_target_asks(fal):
    app, url = fal
    body = {"prompt": "a red fox", "n": 2, "size": "512x512", "output_format": "jpg", "moderation": "low"}
    result = await FalAI().execute(_call(url, ops.IMAGES, body, options={"modes": {ops.IMAGES: "queue"}}))
    submit = app.calls("POST")[0]
    assert (submit.path, submit.query) == ("/fal-ai/fal-ai/flux/dev", {"_subdomain": "queue"})
    assert submit.body == {
        "prompt": "a red fox",
        "num_images": 2,
        "image_size": {"width": 512, "height": 512},
        "output_format": "jpeg",
        "enable_safety_checker": False,
    }
    assert submit.headers["x-hf-bill-to"] == "acme"
    assert isinstance(result, JSONResult)
    answer = result.body
    assert [d["url"].startswith(url + "/files/") for d in answer["data"]] == [True, True]
    assert answer["size"] == "512x512" and answer["output_format"] == "jpeg" and isinstance(answer["created"], int)


@pytest.mark.parametrize("ignores_sync_mode", [False, True])
async def test_b64_images_inline_or_fetched(fal, ignores_sync_mode):
    app, url = fal
    app.ignore_sync_mode = ignores_sync_mode
    result = await FalAI().execute(_call(url, ops.IMAGES, {"prompt": "x", "response_format": "b64_json", "n": 2}))
    assert app.calls("POST")[0].body["sync_mode"] is True
    assert [base64.b64decode(d["b64_json"]) for d in result.body["data"]] == [PNG, PNG]


async def test_lora_mapping_adds_the_adapter(fal):
    app, url = fal
    entry = MappingEntry(
        provider="fal-ai",
        provider_id="fal-ai/lora",
        task="text-to-image",
        adapter="lora",
        adapter_weights_path="w.safetensors",
        hf_model_id="me/my-lora",
    )
    await FalAI().execute(_call(url, ops.IMAGES, {"prompt": "x"}, model="fal-ai/lora", mapping=entry))
    body = app.calls("POST")[0].body
    assert body["loras"] == [{"path": "https://huggingface.co/me/my-lora/resolve/main/w.safetensors", "scale": 1}]
    assert body["model_name"] == "stabilityai/stable-diffusion-xl-base-1.0"


async def test_edit_sends_data_uris(fal):
    app, url = fal
    body = {"prompt": "add a hat", "image": UploadedFile("cat.png", "image/png", PNG), "response_format": "b64_json"}
    result = await FalAI().execute(_call(url, ops.IMAGE_EDIT, body, model="fal-ai/flux-kontext/dev"))
    sent = app.calls("POST")[0]
    uri = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert sent.path == "/fal-ai/fal-ai/flux-kontext/dev"
    assert sent.body == {"prompt": "add a hat", "sync_mode": True, "image_url": uri, "image_urls": [uri]}
    assert base64.b64decode(result.body["data"][0]["b64_json"]) == PNG
    # Status and result go to the app's path without the sub-path, as fal's response_url says.
    assert app.calls("GET")[-1].path == "/fal-ai/fal-ai/flux-kontext/requests/req-0001"


async def test_image_stream_events(fal):
    app, url = fal
    result = await FalAI().execute(_call(url, ops.IMAGES, {"prompt": "x", "stream": True, "size": "64x64"}))
    assert isinstance(result, StreamResult) and result.event_names and not result.done_marker
    try:
        events = [e async for e in result.chunks]
    finally:
        await result.aclose()
    sent = app.calls("POST")[0]
    assert sent.path == "/fal-ai/fal-ai/flux/dev/stream" and sent.body["sync_mode"] is True
    assert sent.headers["accept"] == "text/event-stream"
    assert [e["type"] for e in events] == ["image_generation.partial_image"] * 2 + ["image_generation.completed"]
    assert [e.get("partial_image_index") for e in events] == [0, 1, None]
    assert all(base64.b64decode(e["b64_json"]) == PNG and e["size"] == "64x64" for e in events)


async def test_image_stream_error_event(fal):
    app, url = fal
    app.stream_error_after = 2
    result = await FalAI().execute(
        _call(url, ops.IMAGE_EDIT, {"prompt": "x", "stream": True, "image": "https://example.com/a.png"})
    )
    seen = []
    with pytest.raises(UpstreamError, match="the runner crashed"):
        async for event in result.chunks:
            seen.append(event["type"])
    await result.aclose()
    assert seen == ["image_edit.partial_image"]


async def test_speech_is_a_sync_run_streamed_back(fal):
    app, url = fal
    body = {"model": "m", "input": "Hello there", "voice": "af_heart", "speed": 1.25}
    result = await FalAI().execute(_call(url, ops.SPEECH, body, model="fal-ai/kokoro/american-english"))
    sent = app.calls("POST")[0]
    assert (sent.path, sent.query) == ("/fal-ai/fal-ai/kokoro/american-english", {})
    assert sent.body == {"text": "Hello there", "voice": "af_heart", "speed": 1.25}
    assert isinstance(result, BinaryResult) and result.content_type == "audio/mpeg"
    assert not isinstance(result.content, bytes)  # relayed as it arrives, not buffered
    parts = [p async for p in result.content]
    await result.aclose()
    assert b"".join(parts) == MP3
    # The CDN download carries none of the target's headers or credentials.
    assert [r.headers.get("authorization") for r in app.downloads] == [None]
    assert "x-hf-bill-to" not in app.downloads[0].headers


async def test_transcription_verbose(fal):
    app, url = fal
    body = {
        "file": UploadedFile("a.mp3", "audio/mpeg", MP3),
        "language": "en",
        "response_format": "verbose_json",
        "timestamp_granularities": ["segment"],
    }
    result = await FalAI().execute(_call(url, ops.TRANSCRIPTION, body, model="fal-ai/whisper"))
    sent = app.calls("POST")[0]
    assert sent.path == "/fal-ai/fal-ai/whisper" and sent.query == {}
    assert sent.body == {
        "audio_url": "data:audio/mpeg;base64," + base64.b64encode(MP3).decode(),
        "language": "en",
        "chunk_level": "segment",
    }
    assert result.body["text"] == "The quick brown fox jumps over the lazy dog."
    assert [s["end"] for s in result.body["segments"]] == [1.5, 3.25] and result.body["duration"] == 3.25


async def test_transcription_text_formats_are_plain_text(fal):
    _, url = fal
    body = {"file": UploadedFile("a.mp3", "audio/mpeg", MP3), "response_format": "srt"}
    result = await FalAI().execute(_call(url, ops.TRANSCRIPTION, body, model="fal-ai/whisper"))
    # JSON for the response policies, rendered as SubRip after them.
    assert isinstance(result, JSONResult) and result.body["segments"][0]["text"] == "The quick brown fox"
    data, ctype = result.render(result.body)
    assert ctype.startswith("text/plain")
    assert data.startswith(b"1\n00:00:00,000 --> 00:00:01,500\nThe quick brown fox\n")


async def test_router_audio_limit(fal):
    _, url = fal
    body = {"file": UploadedFile("a.mp3", "audio/mpeg", b"ID3" + b"\x00" * ROUTER_MAX_AUDIO_BYTES)}
    with pytest.raises(Exception) as info:
        await FalAI().execute(_call(url, ops.TRANSCRIPTION, body, model="fal-ai/whisper"))
    assert getattr(info.value, "status", None) == 413 and "Hugging Face router" in info.value.message


async def test_other_operations_are_unsupported(fal):
    _, url = fal
    config = TargetConfig(id="hf", provider="huggingface")
    ctx = RequestContext(request_id="r", operation=ops.CHAT, endpoint="/v1/chat/completions", body={})
    call = BackendCall(
        ctx=ctx,
        operation=ops.CHAT,
        hub_model="a/b",
        provider_model="a/b",
        mapping=None,
        base_url=url,
        via_router=True,
        upstream=Upstream(config, redactor=Redactor()),
        headers={},
        downloads=_DOWNLOADS,
        logger=logging.getLogger("t"),
        timeout=1.0,
    )
    with pytest.raises(UnsupportedOperation):
        await FalAI().execute(call)


async def test_images_are_a_sync_run_by_default(fal):
    # huggingface_hub 2.4.0 FalAITextToImageTask: fal's synchronous route, not the queue.
    app, url = fal
    result = await FalAI().execute(_call(url, ops.IMAGES, {"prompt": "x"}))
    assert [(r.method, r.path, r.query) for r in app.requests] == [("POST", "/fal-ai/fal-ai/flux/dev", {})]
    assert result.body["data"][0]["url"].startswith(url + "/files/")


async def test_sync_validation_error_is_a_400_with_fal_detail(fal):
    app, url = fal
    app.fail_next(422, {"detail": [{"loc": ["body", "audio_url"], "msg": "Unsupported data URL", "type": "x"}]})
    body = {"file": UploadedFile("a.mp3", "audio/mpeg", MP3)}
    with pytest.raises(Exception) as info:
        await FalAI().execute(_call(url, ops.TRANSCRIPTION, body, model="fal-ai/whisper"))
    assert getattr(info.value, "status", None) == 400 and "Unsupported data URL" in info.value.message


async def test_image_stream_route_answering_json(fal):
    app, url = fal
    # An app without progressive output answers its stream route with the whole result.
    app.fail_next(200, {"images": [{"url": "data:image/png;base64," + base64.b64encode(PNG).decode()}]}, path="/stream")
    result = await FalAI().execute(_call(url, ops.IMAGES, {"prompt": "x", "stream": True}))
    events = [e async for e in result.chunks]
    await result.aclose()
    assert [e["type"] for e in events] == ["image_generation.completed"]


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"modes": {"images": "later"}}, "modes.images: expected 'sync' or 'queue'"),
        ({"modes": {"chat": "sync"}}, "modes.chat: not a fal-ai operation"),
        ({"mode": {}}, "unknown option(s) mode"),
    ],
)
def test_backend_options_are_checked(options, error):
    with pytest.raises(ValueError, match=re.escape(error)):
        FalAI.check_options(options)

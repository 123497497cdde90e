"""The direct fal path (a fal key), the gateway without this package, and the policy chain and
audit log around fal requests."""

from __future__ import annotations

import base64
import io
import types
from typing import Any

import openai
import pytest

from keeptrust import Block, Modify, Policy, hookimpl, request_texts, response_texts
from keeptrust.distributions import install_command
from keeptrust.testing import serve_app
from keeptrust_falai.testing import MP3, PNG, FakeFal

FLUX = "huggingface/fal-ai/black-forest-labs/FLUX.1-dev"
KOKORO = "huggingface/fal-ai/hexgrad/Kokoro-82M"
KONTEXT = "huggingface/fal-ai/black-forest-labs/FLUX.1-Kontext-dev"
WHISPER = "huggingface/fal-ai/openai/whisper-large-v3"
FAL_KEY = "fal-key-0123456789abcdef"


def _plugin(name: str, **hooks: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    for hook, impl in hooks.items():
        setattr(module, hook, hookimpl(impl))
    return module


@pytest.fixture
def direct_fal():
    app = FakeFal(keys={f"Key {FAL_KEY}"})
    server = serve_app(app)
    try:
        yield app, server.url
    finally:
        server.stop()


def _direct_gateway(gateway, url: str, **target: Any):
    spec = {
        "id": "fal",
        "provider": "huggingface",
        "model": "black-forest-labs/FLUX.1-dev",
        "backend": "fal-ai",
        "direct": {"secret_key_ref": {"env": "FAL_KEY"}, "base_url": url},
        "backend_options": {"modes": {"images": "queue"}},
        "poll_interval_seconds": 0.001,
        **target,
    }
    return gateway(spec, environ={"FAL_KEY": FAL_KEY})


def test_direct_fal_key_path(world, gateway, direct_fal):
    app, url = direct_fal
    answer = _direct_gateway(gateway, url).client().images.generate(model="fal", prompt="x", response_format="url")
    submit = app.calls("POST")[0]
    assert submit.headers["authorization"] == f"Key {FAL_KEY}"
    # A direct base other than fal.run follows the router's queue convention (see endpoints.py).
    assert (submit.path, submit.query) == ("/fal-ai/flux/dev", {"_subdomain": "queue"})
    assert {r.headers["authorization"] for r in app.requests} == {f"Key {FAL_KEY}"}
    assert app.calls("GET")[-1].path == "/fal-ai/flux/requests/req-0001"
    assert answer.data[0].url.startswith(url + "/files/")
    assert not world.fal.requests  # nothing went through the router


def test_direct_fal_key_is_not_sent_to_the_hub(world, gateway, direct_fal):
    _, url = direct_fal
    _direct_gateway(gateway, url).client().images.generate(model="fal", prompt="x")
    sent = world.hub.requests_to("/api/models/")
    assert sent and all(FAL_KEY not in (r.header("authorization") or "") for r in sent)


def test_without_this_package_fal_models_say_how_to_get_it(world, gateway):
    with pytest.raises(openai.BadRequestError) as info:
        gateway(disable=["falai"]).client().images.generate(model=FLUX, prompt="x")
    assert install_command("keeptrust-falai") in info.value.body["message"]
    assert not world.fal.requests


# ---------------------------------------------------------------------------------------- policies


def _guard_plugin(seen: list[dict[str, Any]]) -> types.ModuleType:
    """A test-only request-phase policy: redacts an e-mail address, blocks a word, and records
    what on_complete sees (sizes, status) as an audit sink would."""

    class PromptGuard(Policy):
        name = "prompt-guard"

        async def on_request(self, ctx):
            changed = False
            for ref in request_texts(ctx.operation, ctx.body):
                if "forbidden" in ref.text:
                    return Block("the prompt names a forbidden topic", reason="forbidden-topic")
                if "alice@example.com" in ref.text:
                    ref.set(ref.text.replace("alice@example.com", "<EMAIL_ADDRESS>"))
                    changed = True
            return Modify("redacted", details={"count": 1}) if changed else None

        async def on_response(self, ctx, body):
            refs = [r for r in response_texts(ctx.operation, body) if "lazy dog" in r.text]
            for ref in refs:
                ref.set(ref.text.replace("lazy dog", "[REDACTED]"))
            return Modify("redacted") if refs else None

        async def on_complete(self, ctx):
            seen.append(
                {
                    "operation": ctx.operation,
                    "status": ctx.status,
                    "request_bytes": ctx.request_size,
                    "response_bytes": ctx.response_size,
                    "falai": dict(ctx.extra.get("falai", {})),
                }
            )

    return _plugin("prompt_guard", register_policies=lambda register: register(PromptGuard))


@pytest.fixture
def guarded(world, gateway):
    seen: list[dict[str, Any]] = []
    gw = gateway(extra_plugins=[_guard_plugin(seen)], policies={"chain": ["prompt-guard"]})
    return gw, seen


def test_image_and_speech_prompts_are_redacted_before_fal(world, guarded):
    gw, seen = guarded
    client = gw.client()
    client.images.generate(model=FLUX, prompt="a portrait of alice@example.com")
    client.audio.speech.create(model=KOKORO, input="mail alice@example.com now", voice="alloy").read()
    client.images.edit(model=KONTEXT, prompt="sign it alice@example.com", image=("a.png", io.BytesIO(PNG), "image/png"))
    gw.stop()  # on_complete runs after the answer is sent: let the requests finish
    bodies = [r.body for r in world.fal.calls("POST")]
    assert bodies[0]["prompt"] == "a portrait of <EMAIL_ADDRESS>"
    assert bodies[1] == {"text": "mail <EMAIL_ADDRESS> now"}
    assert bodies[2]["prompt"] == "sign it <EMAIL_ADDRESS>"
    assert "alice@example.com" not in str(world.fal.requests)
    assert [s["operation"] for s in seen] == ["images", "speech", "image_edit"]
    assert all(s["status"] == 200 and s["request_bytes"] > 0 and s["response_bytes"] > 0 for s in seen)
    assert seen[0]["falai"] == {"mode": "sync", "images_in": 0, "images_out": 1}
    assert seen[1]["falai"] == {"mode": "sync"}
    assert seen[1]["response_bytes"] == len(MP3)


@pytest.mark.parametrize("call", ["images", "speech"])
def test_blocked_prompts_never_reach_fal(world, guarded, call):
    gw, _ = guarded
    client = gw.client()
    with pytest.raises(openai.BadRequestError) as info:
        if call == "images":
            client.images.generate(model=FLUX, prompt="something forbidden")
        else:
            client.audio.speech.create(model=KOKORO, input="something forbidden", voice="alloy")
    assert info.value.body["code"] == "policy_violation" and info.value.body["param"] == "prompt-guard"
    assert not world.fal.requests


@pytest.mark.parametrize("fmt", ["text", "srt", "vtt", "verbose_json"])
def test_transcripts_pass_the_response_policies_in_every_format(world, guarded, fmt):
    gw, _ = guarded
    answer = gw.client().audio.transcriptions.create(
        model=WHISPER, file=("a.mp3", io.BytesIO(MP3), "audio/mpeg"), response_format=fmt
    )
    text = answer if isinstance(answer, str) else answer.model_dump_json()
    assert "[REDACTED]" in text and "lazy dog" not in text


def test_audit_records_sizes_not_payloads(world, gateway, tmp_path):
    audit = {"destination": "jsonl", "directory": str(tmp_path), "include_request": True, "include_response": True}
    gw = gateway(policies={"chain": ["audit-logger"], "policy": {"audit-logger": audit}})
    client = gw.client()
    client.images.edit(
        model=KONTEXT, prompt="hat", image=("a.png", io.BytesIO(PNG * 50), "image/png"), response_format="b64_json"
    )
    client.audio.transcriptions.create(model=WHISPER, file=("a.mp3", io.BytesIO(MP3), "audio/mpeg"))
    client.audio.speech.create(model=KOKORO, input="hello", voice="alloy").read()
    gw.stop()  # flushes the audit writer
    text = "".join(p.read_text() for p in sorted(tmp_path.rglob("*")) if p.is_file() and p.suffix == ".jsonl")
    import orjson

    records = [orjson.loads(line) for line in text.splitlines() if line.strip()]
    requests = [r for r in records if r.get("type") == "request"]
    assert [r["operation"] for r in requests] == ["image_edit", "transcription", "speech"]
    assert all(r["status"] == 200 and r["request_bytes"] > 0 and r["response_bytes"] > 0 for r in requests)
    assert requests[0]["request"]["prompt"] == "hat"
    for payload in (PNG * 50, PNG, MP3):
        assert base64.b64encode(payload).decode()[:40] not in text

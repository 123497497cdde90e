"""The backend API other packages build on (BACKEND_API.md): the hook, a third-party backend end to
end, start-up errors; plus the README's generated capability table and the package's hygiene."""

from __future__ import annotations

import re
import types
from pathlib import Path

import pytest

from keeptrust import context as ops
from keeptrust import hookimpl
from keeptrust.errors import PluginError
from keeptrust.plugins import load_registry
from keeptrust.testing import start_gateway
from keeptrust_hf.backend import Backend, BackendCall
from keeptrust_hf.backends import BUILTIN_BACKENDS, collect_backends
from keeptrust_hf.capabilities import builtin_table, capability_table
from keeptrust_hf.model_ids import ModelRef, parse_model
from keeptrust_hf.testing import PNG, TOKEN, TOKEN_ENV, FakeResponse, hf_target

PACKAGE = Path(__file__).resolve().parents[1]


class Acme(Backend):
    """A backend as keeptrust-falai would write one: its own wire format for images."""

    name = "acme-ai"
    operations = frozenset({ops.IMAGES, ops.CHAT})
    routes = {ops.CHAT: "/v1/chat/completions", ops.IMAGES: "/generate/{model}"}

    async def execute(self, call: BackendCall):
        if call.operation != ops.IMAGES:
            return await super().execute(call)
        from keeptrust.transport import parse_json_response
        from keeptrust_hf import media

        url = call.url(self.route(ops.IMAGES, call.provider_model))
        response = await call.upstream.request(
            call.ctx, "POST", url, json={"text": call.body["prompt"]}, headers=call.headers
        )
        answer = parse_json_response(response, "acme")
        return await media.images_result([answer["image_url"]], call.body.get("response_format"), call.download)


def plugin_module(*classes: type[Backend]) -> types.ModuleType:
    module = types.ModuleType("acme_plugin")

    @hookimpl
    def register_hf_backends(register):
        for cls in classes:
            register(cls)

    module.register_hf_backends = register_hf_backends
    return module


def test_the_hook_is_known_to_the_core_plugin_manager():
    registry = load_registry()
    assert registry.pm.hook.register_hf_backends.spec is not None
    names = set(collect_backends(registry))
    assert {cls.name for cls in BUILTIN_BACKENDS} <= names


def test_a_third_party_backend_end_to_end(hf):
    hf.app.add_mapping("acme/painter", "acme-ai", "painter-v2", task="text-to-image")

    async def generate(request):
        assert request.json == {"text": "a cat"}
        return FakeResponse(200, {"image_url": f"{request.base_url}/files/image.png"})

    hf.app.add_route("POST", "/acme-ai/generate/", generate)
    gw = start_gateway(
        {"providers": {"targets": [hf_target("open")]}}, environ={TOKEN_ENV: TOKEN}, extra_plugins=[plugin_module(Acme)]
    )
    try:
        result = gw.client().images.generate(model="acme/painter:acme-ai", prompt="a cat", response_format="b64_json")
    finally:
        gw.stop()
    import base64

    assert base64.b64decode(result.data[0].b64_json) == PNG
    sent = hf.app.requests_to("/acme-ai")[0]
    assert sent.path == "/acme-ai/generate/painter-v2"
    assert sent.header("authorization") == f"Bearer {TOKEN}"


def test_registering_a_name_twice_fails_at_start_up(hf):
    class Twin(Acme):
        name = "groq"

    with pytest.raises(PluginError, match=r"registers hf backend 'groq', which plugin 'hf' .* already registered"):
        start_gateway(
            {"providers": {"targets": [hf_target("open")]}},
            environ={TOKEN_ENV: TOKEN},
            extra_plugins=[plugin_module(Twin)],
        )


def test_a_misspelt_hook_argument_fails_at_start_up():
    module = types.ModuleType("bad_plugin")

    @hookimpl
    def register_hf_backends(registr):
        pass

    module.register_hf_backends = register_hf_backends
    with pytest.raises(PluginError):
        load_registry(extra_plugins=[module])


def test_readme_capability_table_is_generated():
    readme = (PACKAGE / "README.md").read_text()
    block = re.search(r"<!-- capability-table:start -->\n(.*?)\n<!-- capability-table:end -->", readme, re.S)
    assert block is not None, "README.md lacks the capability table markers"
    assert block.group(1).strip() == builtin_table(), (
        "README table is stale; regenerate with: python -m keeptrust_hf.capabilities"
    )


def test_capability_table_follows_the_specs():
    table = capability_table({"acme-ai": Acme()})
    assert table.splitlines()[-1] == "| acme-ai | yes | yes | - | yes | - | - | - |"


def test_modules_stay_small():
    for path in (PACKAGE / "src").rglob("*.py"):
        assert len(path.read_text().splitlines()) <= 500, path


@pytest.mark.parametrize(
    ("name", "ref"),
    [
        ("org/name", ModelRef("org/name")),
        ("org/name:groq", ModelRef("org/name", "groq")),
        ("org/name:fastest", ModelRef("org/name", policy="fastest")),
        ("org/name:auto", ModelRef("org/name")),
        ("huggingface/together/org/name", ModelRef("org/name", "together")),
        ("huggingface/z-ai/org/name", ModelRef("org/name", "zai-org")),
        ("huggingface/org/name", ModelRef("org/name")),
        ("Org_1/Name-2.5", ModelRef("Org_1/Name-2.5")),
        ("org/name:", None),
        ("org", None),
        ("/name", None),
        ("org/na%2Fme", None),
        ("org/-name", None),
        ("org/name--x", None),
        ("a" * 97 + "/x", None),
        ("org/näme", None),
        ("org/name\n", None),
    ],
)
def test_model_name_parsing(name, ref):
    assert parse_model(name) == ref


def test_a_backend_key_goes_only_to_the_backends_own_host(hf):
    hf.app.add_mapping("acme/painter", "acme-ai", "painter-v2", task="conversational")

    class DirectAcme(Acme):
        direct_base_url = hf.url + "/direct-acme"

    async def chat(request):
        return FakeResponse(
            200,
            {
                "id": "x",
                "object": "chat.completion",
                "created": 1,
                "model": "painter-v2",
                "choices": [
                    {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "direct"}}
                ],
            },
        )

    hf.app.add_route("POST", "/direct-acme/", chat)
    key = "acme_" + "k" * 30
    gw = start_gateway(
        {"providers": {"targets": [hf_target("open")]}},
        environ={TOKEN_ENV: key},
        extra_plugins=[plugin_module(DirectAcme)],
    )
    try:
        client = gw.client()
        answer = client.chat.completions.create(
            model="acme/painter:acme-ai", messages=[{"role": "user", "content": "x"}]
        )
        assert answer.choices[0].message.content == "direct"
        import openai

        with pytest.raises(openai.BadRequestError, match="needs a Hugging Face token"):
            client.chat.completions.create(model="acme/painter", messages=[{"role": "user", "content": "x"}])
    finally:
        gw.stop()
    direct = hf.app.requests_to("/direct-acme/")[0]
    assert direct.path == "/direct-acme/v1/chat/completions" and direct.header("authorization") == f"Bearer {key}"
    assert hf.app.requests_to("/api/models/")[0].header("authorization") is None  # never the Hub
    assert not hf.app.requests_to("/v1/") and not hf.app.requests_to("/acme-ai")

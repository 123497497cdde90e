"""Test kit for backends reached with the provider's own key (a target's ``direct``), and the
reference requests of huggingface_hub's provider helpers for conformance tests."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import attrs

from keeptrust.testing import BackgroundServer, serve_app
from keeptrust_hf.testing.environ import TOKEN, TOKEN_ENV, fake_hf_environ
from keeptrust_hf.testing.fake_hf import FakeHF


@contextmanager
def serve_backend_api(backend: str, key: str, models: Iterable[str]) -> Iterator[BackgroundServer]:
    """A fake of ``backend``'s own API under ``/{backend}`` (``server.app`` is the ``FakeHF``): it
    requires ``Authorization: Bearer {key}`` and serves ``models`` under those ids, and its Hub maps
    none of them (what a backend the router dropped looks like)."""
    app = FakeHF(token=key)
    for model in models:
        app.add_backend_model(backend, model)
    server = serve_app(app)
    server.app = app  # type: ignore[attr-defined]
    try:
        yield server
    finally:
        server.stop()


def direct_target(target_id: str, backend: str, key_env: str, server: BackgroundServer, **keys: Any) -> dict[str, Any]:
    """A ``huggingface`` target calling ``backend`` directly, on a ``serve_backend_api`` server."""
    return {
        "id": target_id,
        "provider": "huggingface",
        "backend": backend,
        "direct": {"secret_key_ref": {"env": key_env}, "base_url": f"{server.url}/{backend}"},
        **keys,
    }


@attrs.frozen
class DirectBackend:
    """A served fake of one backend's own API (``serve_backend_api``) and what a test needs to reach
    it with a direct target: the backend's key, the variable that holds it, what it received."""

    name: str
    key: str
    key_env: str
    server: BackgroundServer

    def target(self, **keys: Any) -> dict[str, Any]:
        """A target with id ``name`` calling the backend directly, plus ``keys``."""
        return direct_target(self.name, self.name, self.key_env, self.server, **keys)

    def client(self, gateway_factory: Any, *targets: dict[str, Any]) -> Any:
        """The openai client of a gateway serving ``targets``, with the backend's key and a Hugging
        Face token (``TOKEN_ENV``) in its environment (``gateway_factory`` is keeptrust's pytest
        fixture)."""
        config = {"providers": {"targets": list(targets)}}
        return gateway_factory(config, environ={self.key_env: self.key, TOKEN_ENV: TOKEN}).client()

    def requests(self) -> list[Any]:
        """The requests that reached the backend's own API (not the Hub)."""
        return self.server.app.requests_to(f"/{self.name}/")  # type: ignore[attr-defined]

    def hub_requests(self) -> list[Any]:
        return self.server.app.requests_to("/api/")  # type: ignore[attr-defined]


@contextmanager
def direct_backend(
    name: str, key: str, key_env: str, models: Iterable[str], monkeypatch: Any
) -> Iterator[DirectBackend]:
    """``serve_backend_api(name, key, models)`` with keeptrust-hf's router and Hub pointed at it
    (through ``monkeypatch``, pytest's fixture), as a ``DirectBackend``."""
    with serve_backend_api(name, key, models) as server:
        for variable, value in fake_hf_environ(server).items():
            monkeypatch.setenv(variable, value)
        yield DirectBackend(name, key, key_env, server)


def reference_request(
    patch: Any,
    provider: str,
    task: str,
    hub_model: str,
    provider_id: str,
    inputs: Any,
    parameters: dict[str, Any],
    token: str,
) -> Any:
    """What huggingface_hub's ``InferenceClient(provider=..., api_key=token)`` sends for ``task``:
    its provider helper's ``RequestParameters`` (url, headers, json/data). The Hub mapping lookup is
    answered offline with ``provider_id``; ``patch`` (pytest's ``monkeypatch``) undoes that on the
    shared helper after the test."""
    from huggingface_hub.hf_api import InferenceProviderMapping
    from huggingface_hub.inference._providers import get_provider_helper

    helper = get_provider_helper(provider, task, hub_model)
    mapping = InferenceProviderMapping(
        provider=provider, providerId=provider_id, hf_model_id=hub_model, task=task, status="live"
    )
    patch.setattr(helper, "_prepare_mapping_info", lambda model: mapping)
    return helper.prepare_request(inputs=inputs, parameters=parameters, headers={}, model=hub_model, api_key=token)

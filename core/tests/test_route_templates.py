"""Plugin routes with path templates and raw bodies, plugin-declared operation texts, and the
``GET /v1/models`` query filter."""

from __future__ import annotations

import types
from collections.abc import Callable

import httpx
import pytest

from keeptrust import JSONResult, hookimpl
from keeptrust.plugins import Route, route_pattern
from keeptrust.server.models import filter_models
from keeptrust.testing import openai_target, start_gateway
from keeptrust.texts import TextRef, register_operation_texts, request_texts, response_texts


def test_templates_match_segments_and_a_path_tail():
    route = Route(
        "POST",
        "/models/{org}/{name}{tail:path}",
        lambda r: None,
        "p",
        True,
        route_pattern("/models/{org}/{name}{tail:path}"),
    )
    assert route.match("/models/a/b") == {"org": "a", "name": "b", "tail": ""}
    assert route.match("/models/a/b/pipeline/x") == {"org": "a", "name": "b", "tail": "/pipeline/x"}
    assert route.match("/models/a") is None
    assert route.match("/v1/models/a/b") is None
    literal = Route("GET", "/x.y", lambda r: None, "p")
    assert literal.match("/x.y") == {} and literal.match("/xzy") is None
    assert route_pattern("/plain") is None


def _echo_plugin() -> types.ModuleType:
    async def echo(request):
        return JSONResult({"params": request.params, "bytes": len(request.body), "kind": type(request.body).__name__})

    @hookimpl
    def register_routes(register: Callable[..., None]) -> None:
        register("POST", "/echo/{a}/{rest:path}", echo, raw_body=True)

    module = types.ModuleType("echo_routes")
    module.register_routes = register_routes  # type: ignore[attr-defined]
    return module


def test_a_templated_raw_route_end_to_end(fake_upstream):
    gw = start_gateway({"providers": {"targets": [openai_target(fake_upstream.url)]}}, extra_plugins=[_echo_plugin()])
    try:
        r = httpx.post(f"{gw.url}/echo/one/two/three", content=b"\x89PNG", headers={"content-type": "image/png"})
        assert r.json() == {"params": {"a": "one", "rest": "two/three"}, "bytes": 4, "kind": "bytes"}
        assert httpx.get(f"{gw.url}/echo/one/two").status_code == 405
        assert httpx.post(f"{gw.url}/echo").status_code == 404
    finally:
        gw.stop()


def test_plugin_operations_declare_their_texts():
    def request(body):
        return [TextRef(body, "q", "user", "q")] if isinstance(body.get("q"), str) else []

    def response(body):
        return [TextRef(body[0], "a", "assistant", "[0].a")] if isinstance(body, list) and body else []

    register_operation_texts("test-op:ask", request, response)
    register_operation_texts("test-op:ask", request, response)  # idempotent
    assert [t.text for t in request_texts("test-op:ask", {"q": "hi"})] == ["hi"]
    assert [t.text for t in response_texts("test-op:ask", [{"a": "yo"}])] == ["yo"]
    with pytest.raises(ValueError, match="already declared"):
        register_operation_texts("test-op:ask", response, request)
    with pytest.raises(ValueError, match="built in"):
        register_operation_texts("chat", request, response)


def test_models_filter():
    data = [
        {"id": "a", "pipeline_tag": "text-to-image", "tasks": ["text-to-image"]},
        {"id": "b", "pipeline_tag": "feature-extraction", "tasks": ["feature-extraction", "sentence-similarity"]},
    ]
    assert [m["id"] for m in filter_models(data, b"pipeline_tag=text-to-image")] == ["a"]
    assert [m["id"] for m in filter_models(data, b"tasks=sentence-similarity")] == ["b"]
    assert filter_models(data, b"") == data
    assert filter_models(data, b"nothing=here") == []

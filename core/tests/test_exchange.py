"""A route family plugs into the route table and gets the exchange's bookkeeping: its errors become
OpenAI-shaped answers, and every exchange reaches ``on_complete`` with its status."""

from __future__ import annotations

import types

import httpx

from keeptrust import Policy, hookimpl
from keeptrust.errors import RateLimited
from keeptrust.server.exchange import Exchange
from keeptrust.testing import openai_target, start_gateway

SEEN: list[tuple[str, str, int | None, str | None]] = []


class Recorder(Policy):
    name = "recorder"

    async def on_complete(self, ctx):
        SEEN.append((ctx.operation, ctx.endpoint, ctx.status, ctx.error_code))


@hookimpl
def register_policies(register):
    register(Recorder)


recorder_plugin = types.ModuleType("recorder_plugin")
recorder_plugin.register_policies = register_policies


def test_a_route_family_gets_status_errors_and_on_complete(fake_upstream):
    SEEN.clear()
    config = {
        "providers": {"targets": [openai_target(fake_upstream.url)]},
        "policies": {"chain": ["recorder"], "policy": {"recorder": {}}},
    }
    gw = start_gateway(config, extra_plugins=[recorder_plugin])
    try:

        async def hello(exchange: Exchange) -> None:
            exchange.admit()
            body = await exchange.read_body()
            await exchange.send_json(200, {"hello": body.get("name")})

        async def refuse(exchange: Exchange) -> None:
            exchange.admit()
            raise RateLimited("slow down", headers={"retry-after": "3"})

        async def crash(exchange: Exchange) -> None:
            raise RuntimeError("a bug with a secret inside")

        gw.app.routes.add("POST", "/v1/hello", hello, operation="hello")
        gw.app.routes.add("POST", "/v1/refuse", refuse, operation="refuse")
        gw.app.routes.add("POST", "/v1/crash", crash, operation="crash")
        with httpx.Client(base_url=gw.url, timeout=10) as client:
            assert client.post("/v1/hello", json={"name": "ada"}).json() == {"hello": "ada"}
            refused = client.post("/v1/refuse", json={})
            assert refused.status_code == 429 and refused.headers["retry-after"] == "3"
            assert refused.json()["error"]["message"] == "slow down"
            crashed = client.post("/v1/crash", json={})
            assert crashed.status_code == 500 and "secret" not in crashed.text
            assert crashed.json()["error"]["message"].startswith("internal error (request id ")
            assert client.get("/v1/hello").status_code == 405
    finally:
        gw.stop()
    assert SEEN == [
        ("hello", "/v1/hello", 200, None),
        ("refuse", "/v1/refuse", 429, "rate_limit_exceeded"),
        ("crash", "/v1/crash", 500, "internal_error"),
        ("route", "/v1/hello", 405, "method_not_allowed"),
    ]

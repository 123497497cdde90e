"""The tracing hook (``register_tracers``, ``keeptrust.tracing``): what the core reports to a tracer
and when, with a recording tracer that needs no tracing library."""

from __future__ import annotations

import time
import types
from typing import Any

import openai
import pytest

from keeptrust import hookimpl
from keeptrust.errors import PluginError
from keeptrust.plugins import load_registry
from keeptrust.server.lifespan import build_tracer
from keeptrust.testing import openai_target

CALLS: list[tuple[Any, ...]] = []


class RecordedSpan:
    def __init__(self, *what: Any) -> None:
        self.what = what

    def end(self, *args: Any, **kwargs: Any) -> None:
        if self.what[0] == "policy":
            decisions, error = args[0], args[1] if len(args) > 1 else kwargs.get("error")
            CALLS.append(("policy.end", *self.what[1:], [d.action for d in decisions], error))
        else:
            CALLS.append(("attempt.end", self.what[1], kwargs.get("status"), kwargs.get("cause")))


class RecordedTrace:
    def policy(self, policy: str, phase: str) -> RecordedSpan:
        return RecordedSpan("policy", policy, phase)

    def attempt(self, target: str, request: Any, number: int, reason: str | None) -> RecordedSpan:
        request.headers["traceparent"] = f"00-{'1' * 32}-{number:016x}-01"
        CALLS.append(("attempt", target, number, reason))
        return RecordedSpan("attempt", target)

    def fallback(self, from_target: str, to_target: str, reason: str) -> None:
        CALLS.append(("fallback", from_target, to_target, reason))

    def finish(self, ctx: Any) -> None:
        CALLS.append(("finish", ctx.status, ctx.request_id.startswith("req_")))


class Recorder:
    name = "recorder"

    def __init__(self, env: Any) -> None:
        CALLS.append(("built", env.version))

    def start(self, ctx: Any, route: str, method: str, headers: Any) -> RecordedTrace:
        CALLS.append(("start", method, route, dict(headers).get(b"traceparent")))
        return RecordedTrace()

    async def aclose(self) -> None:
        CALLS.append(("aclose",))


class TracerPlugin:
    @staticmethod
    @hookimpl
    def register_tracers(register: Any) -> None:
        register(Recorder)


def _wait_for(entry: str, count: int = 1) -> None:
    deadline = time.monotonic() + 10
    while sum(1 for c in CALLS if c[0] == entry) < count and time.monotonic() < deadline:
        time.sleep(0.01)


@pytest.fixture
def recorder():
    CALLS.clear()
    yield CALLS
    CALLS.clear()


def test_the_core_reports_phases_attempts_and_fallbacks_to_the_tracer(
    recorder, fake_upstream, gateway_factory, words_plugin, env
):
    config = {
        "providers": {
            "targets": [
                openai_target(fake_upstream.url, "first", "m1", max_retries=1),
                openai_target(fake_upstream.url, "second", "m2", max_retries=0),
                {"id": "pool", "strategy": "fallback", "members": ["first", "second"]},
            ]
        },
        "policies": {"chain": ["words"], "policy": {"words": {"block": ["forbidden"]}}},
    }
    gw = gateway_factory(config, environ=env, extra_plugins=[words_plugin, TracerPlugin])
    assert recorder[0][0] == "built"
    client = gw.client(default_headers={"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"})
    # The first member fails twice (a retry, then the group falls back), the second answers.
    fake_upstream.app.fail_next(status=503)
    fake_upstream.app.fail_next(status=503)
    client.chat.completions.create(model="pool", messages=[{"role": "user", "content": "hi"}])
    _wait_for("finish")
    calls = [c for c in recorder if c[0] != "built"]
    assert calls == [
        ("start", "POST", "/v1/chat/completions", b"00-" + b"a" * 32 + b"-" + b"b" * 16 + b"-01"),
        ("policy.end", "words", "request", [], None),
        ("attempt", "first", 1, None),
        ("attempt.end", "first", 503, None),
        ("attempt", "first", 2, "status_503"),
        ("attempt.end", "first", 503, None),
        ("fallback", "first", "second", "status_503"),
        ("attempt", "second", 1, None),
        ("attempt.end", "second", 200, None),
        ("policy.end", "words", "response", ["flag"], None),
        ("finish", 200, True),
    ]
    # What the tracer put on the attempt's request reached the upstream.
    assert fake_upstream.app.last.headers["traceparent"] == f"00-{'1' * 32}-{1:016x}-01"

    recorder.clear()
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="pool", messages=[{"role": "user", "content": "forbidden"}])
    _wait_for("finish")
    assert next(c for c in recorder if c[0] == "policy.end") == ("policy.end", "words", "request", ["block"], None)
    assert not [c for c in recorder if c[0] == "attempt"]

    recorder.clear()
    stream = client.chat.completions.create(model="pool", messages=[{"role": "user", "content": "a b c"}], stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    _wait_for("finish")
    ends = [c[1:3] for c in recorder if c[0] == "policy.end"]
    assert ends == [("words", "request"), ("words", "stream")]
    # Probes are not traced.
    recorder.clear()
    import httpx

    assert httpx.get(gw.url + "/healthz").status_code == 200
    assert not [c for c in recorder if c[0] == "start"]
    gw.stop()
    assert recorder[-1] == ("aclose",)


def test_a_tracer_class_is_checked_at_register_and_only_one_may_be_installed():
    class NoStart:
        name = "nostart"

        async def aclose(self) -> None: ...

    plugin = types.SimpleNamespace(register_tracers=hookimpl(lambda register: register(NoStart)))
    with pytest.raises(PluginError, match=r"tracer 'nostart'.*has no 'start'"):
        load_registry(extra_plugins=[_module("nostartplugin", plugin)], environ={"KEEPTRUST_LOAD_PLUGINS": "none"})

    class Other(Recorder):
        name = "other"

    other = types.SimpleNamespace(register_tracers=hookimpl(lambda register: register(Other)))
    registry = load_registry(
        extra_plugins=[TracerPlugin, _module("otherplugin", other)], environ={"KEEPTRUST_LOAD_PLUGINS": "none"}
    )
    with pytest.raises(PluginError, match="more than one tracer is installed") as err:
        build_tracer(registry)
    assert "'recorder' (plugin TracerPlugin)" in str(err.value) and "'other' (plugin otherplugin)" in str(err.value)
    assert build_tracer(load_registry(environ={"KEEPTRUST_LOAD_PLUGINS": "none"})) is None


def _module(name: str, namespace: Any) -> types.ModuleType:
    module = types.ModuleType(name)
    module.register_tracers = namespace.register_tracers  # type: ignore[attr-defined]
    return module

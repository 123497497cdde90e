"""``GET /metrics``: what the gateway counts, in the Prometheus text format."""

from __future__ import annotations

import socket

import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from keeptrust.testing import openai_target

MSG = [{"role": "user", "content": "hello"}]


def scrape(url: str, **kwargs) -> dict[tuple[str, frozenset], float]:
    r = httpx.get(url + "/metrics", timeout=10, **kwargs)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=")
    out = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(samples: dict, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


def delta(before: dict, after: dict, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


CHAT = "/v1/chat/completions"


def test_requests_are_counted_by_route_target_status_and_outcome(
    fake_upstream, gateway_factory, simple_config, env, words_plugin
):
    simple_config["policies"] = {"chain": ["words"], "policy": {"words": {"block": ["forbidden"]}}}
    gw = gateway_factory(simple_config, environ=env, extra_plugins=[words_plugin])
    before = scrape(gw.url)
    client = gw.client()
    client.chat.completions.create(model="fake/model", messages=MSG)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="fake/model", messages=[{"role": "user", "content": "forbidden"}])
    json_type = {"content-type": "application/json"}
    r = httpx.post(gw.base_url + "/chat/completions", content=b"{not json", headers=json_type)
    assert r.status_code == 400
    httpx.get(gw.url + "/nowhere")
    after = scrape(gw.url)

    requests = "keeptrust_requests_total"
    assert delta(before, after, requests, route=CHAT, target="fake", status="200", outcome="answered") == 1
    assert delta(before, after, requests, route=CHAT, outcome="blocked", policy="words") == 1
    assert delta(before, after, requests, route=CHAT, status="400", outcome="refused", target="none") == 1
    assert delta(before, after, requests, route="unmatched", status="404", outcome="refused") == 1
    assert delta(before, after, "keeptrust_policy_decisions_total", policy="words", action="block") == 1
    assert delta(before, after, "keeptrust_request_duration_seconds_count", route=CHAT, outcome="answered") == 1
    assert delta(before, after, "keeptrust_upstream_duration_seconds_count", target="fake") == 1
    # Probes and the scrape itself are not client traffic.
    assert value(after, requests, route="/metrics") == 0
    assert value(after, "keeptrust_requests_in_flight") == 0


def test_streams_time_to_first_byte_and_in_flight(fake_upstream, gateway_factory, simple_config, env):
    fake_upstream.app.chunk_delay = 0.2
    fake_upstream.app.reply = "one two three four"
    gw = gateway_factory(simple_config, environ=env)
    before = scrape(gw.url)
    with gw.client().chat.completions.create(model="fake/model", messages=MSG, stream=True) as stream:
        next(iter(stream))
        during = scrape(gw.url)
        list(stream)
    after = scrape(gw.url)
    assert value(during, "keeptrust_streams_in_flight") == 1
    assert value(during, "keeptrust_requests_in_flight") == 1
    assert value(after, "keeptrust_streams_in_flight") == 0
    assert value(after, "keeptrust_requests_in_flight") == 0
    assert delta(before, after, "keeptrust_stream_first_byte_seconds_count", route=CHAT, target="fake") == 1


def test_retries_and_upstream_errors(fake_upstream, gateway_factory, simple_config, env):
    simple_config["providers"]["targets"].append(
        openai_target(f"http://127.0.0.1:{_closed_port()}", "down", model="down/model", max_retries=1)
    )
    gw = gateway_factory(simple_config, environ=env)
    before = scrape(gw.url)
    fake_upstream.app.fail_next(status=503)
    gw.client().chat.completions.create(model="fake/model", messages=MSG)
    with pytest.raises(openai.InternalServerError):
        gw.client().chat.completions.create(model="down/model", messages=MSG)
    after = scrape(gw.url)
    assert delta(before, after, "keeptrust_upstream_retries_total", target="fake", reason="status_503") == 1
    assert delta(before, after, "keeptrust_upstream_retries_total", target="down", reason="refused") == 1
    assert delta(before, after, "keeptrust_upstream_failures_total", target="down", cause="refused") == 2
    assert delta(before, after, "keeptrust_requests_total", target="down", status="502", outcome="upstream_error") == 1


def test_audit_queue_commit_latency_and_records(fake_upstream, gateway_factory, simple_config, env, tmp_path):
    simple_config["policies"] = {
        "chain": ["audit-logger"],
        "policy": {
            "audit-logger": {"destination": "jsonl", "directory": str(tmp_path / "audit"), "batch_max_delay_ms": 0}
        },
    }
    gw = gateway_factory(simple_config, environ=env)
    before = scrape(gw.url)
    for _ in range(3):
        gw.client().chat.completions.create(model="fake/model", messages=MSG)
    after = scrape(gw.url)
    assert delta(before, after, "keeptrust_audit_records_written_total") >= 3
    assert delta(before, after, "keeptrust_audit_batch_commit_seconds_count") >= 1
    assert ("keeptrust_audit_queue_depth", frozenset()) in after
    assert ("keeptrust_audit_records_dropped_total", frozenset()) in after


def test_a_metrics_key_is_required_as_bearer(fake_upstream, gateway_factory, simple_config, env):
    simple_config["server"] = {"metrics": {"key_ref": {"env": "METRICS_KEY"}}}
    gw = gateway_factory(simple_config, environ={**env, "METRICS_KEY": "mk-secret-0123456789"})
    r = httpx.get(gw.url + "/metrics")
    assert r.status_code == 401
    assert "server.metrics.key_ref" in r.json()["error"]["message"]
    assert httpx.get(gw.url + "/metrics", headers={"authorization": "Bearer wrong"}).status_code == 401
    scrape(gw.url, headers={"authorization": "Bearer mk-secret-0123456789"})


def test_a_missing_metrics_key_variable_is_a_config_error(fake_upstream, gateway_factory, simple_config, env):
    from keeptrust.errors import ConfigError

    simple_config["server"] = {"metrics": {"key_ref": {"env": "METRICS_KEY_UNSET"}}}
    with pytest.raises(ConfigError, match=r"server\.metrics\.key_ref\.env: environment variable METRICS_KEY_UNSET"):
        gateway_factory(simple_config, environ=env)


def test_metrics_on_their_own_address(fake_upstream, gateway_factory, simple_config, env):
    port = _closed_port()
    simple_config["server"] = {"metrics": {"listen": f"127.0.0.1:{port}"}}
    gw = gateway_factory(simple_config, environ=env)
    gw.client().chat.completions.create(model="fake/model", messages=MSG)
    assert httpx.get(gw.url + "/metrics").status_code == 404
    samples = scrape(f"http://127.0.0.1:{port}")
    assert value(samples, "keeptrust_requests_total", route=CHAT, outcome="answered") >= 1
    assert httpx.get(f"http://127.0.0.1:{port}/v1/models").status_code == 404


def test_metrics_can_be_turned_off(fake_upstream, gateway_factory, simple_config, env):
    simple_config["server"] = {"metrics": {"enabled": False}}
    gw = gateway_factory(simple_config, environ=env)
    try:
        assert httpx.get(gw.url + "/metrics").status_code == 404
    finally:
        from keeptrust import metrics

        metrics.configure(True)  # the other tests of this process count


def test_fallbacks_are_counted_through_the_public_api(fake_upstream, gateway_factory, simple_config, env):
    from keeptrust import metrics

    gw = gateway_factory(simple_config, environ=env)
    before = scrape(gw.url)
    metrics.upstream_fallback("primary", "secondary", "upstream_error")
    after = scrape(gw.url)
    labels = {"from_target": "primary", "to_target": "secondary", "reason": "upstream_error"}
    assert delta(before, after, "keeptrust_upstream_fallbacks_total", **labels) == 1


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_grafana_dashboard_queries_only_metrics_the_gateway_exposes(
    fake_upstream, gateway_factory, simple_config, env
):
    import json
    import re
    from pathlib import Path

    dashboard = Path(__file__).parents[2] / "examples" / "grafana" / "keeptrust-dashboard.json"
    exprs = [t["expr"] for p in json.loads(dashboard.read_text())["panels"] for t in p["targets"]]
    names = {re.sub(r"_bucket$", "", n) for e in exprs for n in re.findall(r"keeptrust_[a-z_]+", e)}
    exposed = httpx.get(gateway_factory(simple_config, environ=env).url + "/metrics").text
    declared = set(re.findall(r"^# (?:HELP|TYPE) (\S+)", exposed, re.M))
    assert names and names <= declared, names - declared

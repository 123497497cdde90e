"""The rate-limiter as clients see it: 429s with Retry-After and OpenAI's x-ratelimit-* headers,
token budgets charged from usage (streams included), limits shared by gateways through real Redis."""

from __future__ import annotations

import httpx
import openai
import pytest

from keeptrust.errors import ConfigError
from keeptrust.testing import openai_target

KEYS = {"KEY_A": "gw-key-aaaaaaaaaaaaaaaa", "KEY_B": "gw-key-bbbbbbbbbbbbbbbb"}
MSG = [{"role": "user", "content": "one two three four"}]


def _config(upstream_url: str, **limits) -> dict:
    return {
        "pack": {"name": "rl", "version": "1.0.0"},
        "server": {
            "auth": {
                "keys": [{"key_ref": {"env": "KEY_A"}, "role": "dev"}, {"key_ref": {"env": "KEY_B"}, "role": "ops"}]
            }
        },
        "providers": {"targets": [openai_target(upstream_url, secret_key_ref={"env": "FAKE_KEY"})]},
        "policies": {"chain": ["rate-limiter"], "policy": {"rate-limiter": limits}},
    }


def _chat(gw, key: str, **extra) -> httpx.Response:
    return httpx.post(
        gw.base_url + "/chat/completions",
        headers={"authorization": f"Bearer {KEYS[key]}"},
        json={"model": "fake/model", "messages": MSG, **extra},
        timeout=10,
    )


def test_requests_per_minute_per_key(gateway_factory, fake_upstream, env):
    gw = gateway_factory(_config(fake_upstream.url, requests_per_minute=3), environ={**env, **KEYS})
    answers = [_chat(gw, "KEY_A") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.headers["x-ratelimit-remaining-requests"] for a in answers] == ["2", "1", "0"]
    assert answers[0].headers["x-ratelimit-limit-requests"] == "3"
    assert answers[2].headers["x-ratelimit-reset-requests"] == "1m0s"
    refused = _chat(gw, "KEY_A")
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["type"] == "rate_limit_error" and error["code"] == "rate_limit_exceeded"
    assert error["param"] == "rate-limiter" and "3 requests per minute per key" in error["message"]
    # The next unit frees up one interval (20 s) after the first request.
    assert 15 <= int(refused.headers["retry-after"]) <= 20
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert len([r for r in fake_upstream.app.requests if r.path.endswith("/chat/completions")]) == 3
    # Another key has its own allowance.
    assert _chat(gw, "KEY_B").status_code == 200
    # The official client sees a RateLimitError it can back off on.
    client = gw.client(api_key=KEYS["KEY_A"])
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="fake/model", messages=MSG)
    assert 15 <= int(caught.value.response.headers["retry-after"]) <= 20


def test_a_burst_smaller_than_the_minute(gateway_factory, fake_upstream, env):
    gw = gateway_factory(_config(fake_upstream.url, requests_per_minute=60, burst=2), environ={**env, **KEYS})
    statuses = [_chat(gw, "KEY_A").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_tokens_per_minute_are_charged_from_usage_and_from_streams(gateway_factory, fake_upstream, env):
    # Each answer here uses 4 prompt + ~8 completion tokens; the budget allows one answer a minute.
    gw = gateway_factory(_config(fake_upstream.url, tokens_per_minute=10, per="role"), environ={**env, **KEYS})
    first = _chat(gw, "KEY_A")
    assert first.status_code == 200 and first.headers["x-ratelimit-remaining-tokens"] == "10"
    refused = _chat(gw, "KEY_A")
    assert refused.status_code == 429 and "10 tokens per minute per role" in refused.json()["error"]["message"]
    assert int(refused.headers["retry-after"]) >= 1
    # A stream without usage is charged too (estimated from its text).
    streamed = httpx.post(
        gw.base_url + "/chat/completions",
        headers={"authorization": f"Bearer {KEYS['KEY_B']}"},
        json={"model": "fake/model", "messages": MSG, "stream": True},
        timeout=10,
    )
    assert streamed.status_code == 200 and streamed.text.rstrip().endswith("data: [DONE]")
    assert _chat(gw, "KEY_B").status_code == 429


def test_shadow_mode_records_but_never_refuses(gateway_factory, fake_upstream, env):
    gw = gateway_factory(_config(fake_upstream.url, requests_per_minute=1, mode="shadow"), environ={**env, **KEYS})
    assert [_chat(gw, "KEY_A").status_code for _ in range(3)] == [200, 200, 200]


def test_two_gateways_share_one_limit_through_redis(gateway_factory, fake_upstream, env, redis_url):
    config = _config(fake_upstream.url, requests_per_minute=5, store=redis_url)
    gateways = [gateway_factory(config, environ={**env, **KEYS}) for _ in range(2)]
    statuses = [_chat(gateways[i % 2], "KEY_A").status_code for i in range(8)]
    assert statuses.count(200) == 5 and statuses.count(429) == 3
    assert statuses[:5] == [200] * 5


@pytest.mark.parametrize("on_error, status", [("allow", 200), ("deny", 503)])
def test_a_store_that_is_down(gateway_factory, fake_upstream, env, caplog, on_error, status):
    config = _config(
        fake_upstream.url,
        requests_per_minute=5,
        store="redis://127.0.0.1:9/0",
        store_timeout_ms=200,
        on_store_error=on_error,
    )
    gw = gateway_factory(config, environ={**env, **KEYS})
    answer = _chat(gw, "KEY_A")
    assert answer.status_code == status
    if status == 503:
        assert answer.json()["error"]["code"] == "rate_limit_store_unavailable"
    assert "rate-limiter: the store is unavailable" in caplog.text


@pytest.mark.parametrize(
    "limits, expected",
    [
        ({}, "set requests_per_minute, tokens_per_minute or both"),
        ({"requests_per_minute": 0}, "'requests_per_minute' must be a number above 0"),
        ({"requests_per_minute": 5, "store": "memcached://x"}, "'store' must be 'memory' or a redis:// URL"),
        ({"requests_per_minute": 5, "per": "planet"}, "per"),
    ],
)
def test_config_errors_name_the_field(gateway_factory, fake_upstream, env, limits, expected):
    with pytest.raises(ConfigError) as caught:
        gateway_factory(_config(fake_upstream.url, **limits), environ={**env, **KEYS})
    assert "rate-limiter" in str(caught.value) and expected in str(caught.value)

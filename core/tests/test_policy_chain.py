"""The policy chain as a user sees it: blocks, rewrites, shadow mode, stream filters, plugin bugs."""

from __future__ import annotations

import json
import logging

import httpx
import openai
import pytest

from keeptrust.testing import openai_target

MSG = [{"role": "user", "content": "tell me about apples"}]


def _gw(gateway_factory, fake_upstream, env, words_plugin, words, mode="enforce", chain=("words",), audit=None):
    config = {
        "providers": {"targets": [openai_target(fake_upstream.url)]},
        "policies": {"chain": list(chain), "policy": {"words": {"mode": mode, **words}}},
    }
    if audit is not None:  # a directory: every decision goes to the audit log there
        config["policies"]["chain"].append("audit-logger")
        config["policies"]["policy"]["audit-logger"] = {"directory": str(audit), "immutable": False}
    return gateway_factory(config, environ=env, extra_plugins=[words_plugin])


def _recorded(gw, audit) -> list[dict]:
    """The ``words`` decisions of every audit record, once the gateway has stopped (and flushed)."""
    gw.stop()
    records = [json.loads(line) for path in sorted(audit.rglob("*.jsonl")) for line in path.read_text().splitlines()]
    return [d for r in records for d in r.get("decisions") or [] if d["policy"] == "words"]


def test_block_is_400_policy_violation_without_echoing_text(
    gateway_factory, fake_upstream, env, words_plugin, tmp_path
):
    gw = _gw(gateway_factory, fake_upstream, env, words_plugin, {"block": ["apples"]}, audit=tmp_path)
    with pytest.raises(openai.BadRequestError) as err:
        gw.client().chat.completions.create(model="fake/model", messages=MSG)
    body = err.value.body
    assert body["code"] == "policy_violation" and body["param"] == "words"
    assert "apples" not in body["message"]
    assert not any(r.path.endswith("/chat/completions") for r in fake_upstream.app.requests)
    assert _recorded(gw, tmp_path) == [
        {"policy": "words", "phase": "request", "action": "block", "reason": "blocked word", "details": {"count": 1}}
    ]


def test_modify_rewrites_what_the_upstream_receives(gateway_factory, fake_upstream, env, words_plugin):
    gw = _gw(gateway_factory, fake_upstream, env, words_plugin, {"replace": {"apples": "pears"}})
    answer = gw.client().chat.completions.create(model="fake/model", messages=MSG)
    assert fake_upstream.app.last.body["messages"][0]["content"] == "tell me about pears"
    assert answer.choices[0].message.content == "You said: tell me about pears"


def test_shadow_mode_decides_but_never_changes_traffic(gateway_factory, fake_upstream, env, words_plugin):
    gw = _gw(gateway_factory, fake_upstream, env, words_plugin, {"block": ["apples"]}, mode="shadow")
    answer = gw.client().chat.completions.create(model="fake/model", messages=MSG)
    assert answer.choices[0].message.content == "You said: tell me about apples"
    gw2 = _gw(gateway_factory, fake_upstream, env, words_plugin, {"replace": {"apples": "pears"}}, mode="shadow")
    gw2.client().chat.completions.create(model="fake/model", messages=MSG)
    assert fake_upstream.app.last.body["messages"][0]["content"] == "tell me about apples"


def test_response_phase_blocks_whole_answers(gateway_factory, fake_upstream, env, words_plugin, tmp_path):
    gw = _gw(gateway_factory, fake_upstream, env, words_plugin, {"response_block": ["said"]}, audit=tmp_path)
    with pytest.raises(openai.BadRequestError) as err:
        gw.client().chat.completions.create(model="fake/model", messages=MSG)
    assert err.value.body["code"] == "policy_violation"
    assert _recorded(gw, tmp_path) == [
        {"policy": "words", "phase": "response", "action": "block", "reason": "blocked word in answer"}
    ]


def test_stream_filter_rewrites_across_chunk_boundaries(gateway_factory, fake_upstream, env, words_plugin):
    # "You said: tell me about apples" arrives one word per chunk; the filter replaces whole words.
    gw = _gw(gateway_factory, fake_upstream, env, words_plugin, {"replace": {"about apples": "about plums"}})
    fake_upstream.app.reply = "I know about apples and more about apples"
    stream = gw.client().chat.completions.create(model="fake/model", messages=MSG, stream=True)
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "I know about plums and more about plums"
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_stream_block_ends_with_content_filter(gateway_factory, fake_upstream, env, words_plugin):
    gw = _gw(gateway_factory, fake_upstream, env, words_plugin, {"response_block": ["forbidden"]})
    fake_upstream.app.reply = "this answer has a forbidden word in the middle of it"
    received = []
    with httpx.stream(
        "POST", gw.base_url + "/chat/completions", json={"model": "fake/model", "messages": MSG, "stream": True}
    ) as response:
        for line in response.iter_lines():
            if line.startswith("data: "):
                received.append(line[6:])
    assert received[-1] == "[DONE]"
    assert '"finish_reason":"content_filter"' in received[-3]
    assert '"policy_violation"' in received[-2]
    assert "forbidden" not in "".join(received)


def test_a_raising_policy_is_a_500_naming_it_and_the_gateway_keeps_serving(
    gateway_factory, fake_upstream, env, words_plugin, caplog
):
    gw = _gw(gateway_factory, fake_upstream, env, words_plugin, {"explode": True})
    with caplog.at_level(logging.ERROR, logger="keeptrust"), pytest.raises(openai.InternalServerError) as err:
        gw.client().chat.completions.create(model="fake/model", messages=MSG)
    assert err.value.body["code"] == "internal_error"
    assert "words" in err.value.body["message"] and "boom" not in err.value.body["message"]
    assert "policy 'words' (plugin TestPlugin) raised in request" in caplog.text
    assert httpx.get(gw.url + "/healthz").status_code == 200


def test_router_routes_by_role_header_and_default(gateway_factory, fake_upstream, env):
    config = {
        "providers": {
            "targets": [
                openai_target(fake_upstream.url, "small", "org/small"),
                openai_target(fake_upstream.url, "large", "org/large"),
            ]
        },
        "policies": {
            "chain": ["router"],
            "policy": {
                "router": {
                    "rules": [{"when_role": "production", "target": "large"}, {"default": True, "target": "small"}]
                }
            },
        },
    }
    gw = gateway_factory(config, environ=env)
    body = {"model": "anything", "messages": MSG}
    httpx.post(gw.base_url + "/chat/completions", json=body, headers={"x-keeptrust-role": "production"})
    assert fake_upstream.app.last.body["model"] == "org/large"
    httpx.post(gw.base_url + "/chat/completions", json=body)
    assert fake_upstream.app.last.body["model"] == "org/small"


def test_gateway_keys_give_roles_and_reject_others(gateway_factory, fake_upstream, env):
    config = {
        "server": {
            "auth": {
                "keys": [
                    {"key_ref": {"env": "PROD_KEY"}, "role": "production"},
                    {"key_ref": {"env": "DEV_KEY"}, "role": "developer"},
                ]
            }
        },
        "providers": {
            "targets": [
                openai_target(fake_upstream.url, "small", "org/small"),
                openai_target(fake_upstream.url, "large", "org/large"),
            ]
        },
        "policies": {
            "chain": ["router"],
            "policy": {
                "router": {"rules": [{"when_role": "production", "target": "large"}, {"default": {"target": "small"}}]}
            },
        },
    }
    gw = gateway_factory(config, environ={**env, "PROD_KEY": "prod-key-123456", "DEV_KEY": "dev-key-123456"})
    with pytest.raises(openai.AuthenticationError):
        gw.client(api_key="wrong-key").chat.completions.create(model="x", messages=MSG)
    gw.client(api_key="prod-key-123456").chat.completions.create(model="x", messages=MSG)
    assert fake_upstream.app.last.body["model"] == "org/large"
    # A role header cannot override the key's role.
    gw.client(api_key="dev-key-123456", default_headers={"x-keeptrust-role": "production"}).chat.completions.create(
        model="x", messages=MSG
    )
    assert fake_upstream.app.last.body["model"] == "org/small"
    assert "prod-key-123456" not in fake_upstream.app.last.headers.get("authorization", "")


def test_responses_api_stream_is_filtered_in_deltas_and_final_events(gateway_factory, fake_upstream, env, words_plugin):
    gw = _gw(gateway_factory, fake_upstream, env, words_plugin, {"replace": {"apples": "pears"}})
    client = gw.client()
    whole = client.responses.create(model="fake/model", input="tell me about apples")
    assert whole.output_text == "You said: tell me about pears"
    assert fake_upstream.app.last.body["input"] == "tell me about pears"
    fake_upstream.app.reply = "green apples and red apples"
    events = list(client.responses.create(model="fake/model", input="fruit", stream=True))
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == "green pears and red pears"
    done = next(e for e in events if e.type == "response.output_text.done")
    completed = next(e for e in events if e.type == "response.completed")
    assert done.text == deltas and completed.response.output_text == deltas
    assert "apples" not in str([e.model_dump() for e in events])

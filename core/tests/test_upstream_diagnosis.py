"""Upstream failures say which target and host failed and why, in the answer and in the log
(one line per failed attempt), against real sockets."""

from __future__ import annotations

import logging
import socket

import httpx
import openai
import pytest
import trustme

from keeptrust.demo import FakeOpenAI
from keeptrust.testing import BackgroundServer, openai_target

MSG = [{"role": "user", "content": "hello"}]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(base: str, **target) -> dict:
    return {
        "pack": {"name": "diag", "version": "1.0.0"},
        "providers": {"targets": [openai_target(base, "down", secret_key_ref={"env": "FAKE_KEY"}, **target)]},
    }


def _attempt_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "target 'down': attempt" in r.getMessage()]


def test_connection_refused_names_target_host_and_cause(gateway_factory, env, caplog):
    port = _closed_port()
    caplog.set_level(logging.WARNING)
    gw = gateway_factory(_config(f"http://127.0.0.1:{port}", max_retries=1), environ=env)
    with pytest.raises(openai.InternalServerError) as err:
        gw.client().chat.completions.create(model="fake/model", messages=MSG)
    message = err.value.body["message"]
    assert err.value.status_code == 502
    assert f"target 'down': the upstream http://127.0.0.1:{port} could not be reached: connection refused" in message
    assert "(2 attempts)" in message
    lines = _attempt_lines(caplog)
    assert len(lines) == 2
    assert f"attempt 1 to http://127.0.0.1:{port} failed: connection refused [refused]" in lines[0]
    assert lines[0].endswith("; retrying") and not lines[1].endswith("; retrying")
    assert "request req_" in lines[1] or "request " in lines[1]


def test_an_unresolvable_host_is_a_dns_failure(gateway_factory, env, caplog):
    caplog.set_level(logging.WARNING)
    gw = gateway_factory(_config("http://no-such-upstream.invalid:8080", max_retries=0), environ=env)
    with pytest.raises(openai.InternalServerError) as err:
        gw.client().chat.completions.create(model="fake/model", messages=MSG)
    message = err.value.body["message"]
    assert "http://no-such-upstream.invalid:8080 could not be reached: the host name does not resolve" in message
    assert any("[dns]" in line for line in _attempt_lines(caplog))


def test_an_untrusted_certificate_is_a_tls_failure(gateway_factory, env, tmp_path, caplog):
    ca = trustme.CA()  # a CA the gateway does not trust
    pem = tmp_path / "server.pem"
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(pem))
    server = BackgroundServer(FakeOpenAI())
    server.config.certfile = server.config.keyfile = str(pem)
    server.start()
    try:
        port = int(server.url.rsplit(":", 1)[1])
        caplog.set_level(logging.WARNING)
        gw = gateway_factory(_config(f"https://127.0.0.1:{port}", max_retries=0), environ=env)
        with pytest.raises(openai.InternalServerError) as err:
            gw.client().chat.completions.create(model="fake/model", messages=MSG)
        message = err.value.body["message"]
        assert f"https://127.0.0.1:{port} could not be reached: TLS certificate verification failed" in message
        assert any("[tls]" in line for line in _attempt_lines(caplog))
    finally:
        server.stop()


def test_a_server_that_accepts_and_never_answers_is_a_first_byte_timeout(gateway_factory, env, caplog):
    with socket.socket() as silent:  # the kernel accepts connections; nobody ever reads or answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        caplog.set_level(logging.WARNING)
        gw = gateway_factory(_config(f"http://127.0.0.1:{port}", timeout_seconds=1, max_retries=0), environ=env)
        with pytest.raises(openai.APIStatusError) as err:
            gw.client().chat.completions.create(model="fake/model", messages=MSG)
    assert err.value.status_code == 504
    message = err.value.body["message"]
    assert (
        f"the upstream http://127.0.0.1:{port} timed out: no answer within 1s (timeout before the first byte)"
        in message
    )
    assert any("[first_byte_timeout]" in line for line in _attempt_lines(caplog))


def test_a_stream_that_stalls_between_chunks_says_so(fake_upstream, gateway_factory, env, caplog):
    fake_upstream.app.chunk_delay = 1.5
    fake_upstream.app.reply = "one two three"
    caplog.set_level(logging.WARNING)
    config = _config(fake_upstream.url, stream_timeout_seconds=0.5, model="fake/model")
    gw = gateway_factory(config, environ=env)
    with httpx.stream(
        "POST", gw.base_url + "/chat/completions", json={"model": "fake/model", "messages": MSG, "stream": True}
    ) as r:
        body = r.read().decode()
    assert r.status_code == 200  # the stream had started: the error is its last event
    assert f"the upstream {fake_upstream.url}: the answer stalled: no data within 0.5s between chunks" in body
    assert any("[read_timeout]" in r.getMessage() for r in caplog.records)


def test_no_credentials_path_or_query_string_in_the_error(gateway_factory, env):
    port = _closed_port()
    base = f"http://user:PASSWORD-MARKER@127.0.0.1:{port}/v1/secret-path?sig=QUERY-MARKER"
    gw = gateway_factory(_config(base, max_retries=0), environ=env)
    with pytest.raises(openai.InternalServerError) as err:
        gw.client().chat.completions.create(model="fake/model", messages=MSG)
    message = err.value.body["message"]
    assert f"http://127.0.0.1:{port}" in message
    for leak in ("PASSWORD-MARKER", "QUERY-MARKER", "secret-path", "user:"):
        assert leak not in message

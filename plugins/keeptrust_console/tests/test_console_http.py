"""The console over plain HTTP: what it shows for a real gateway's log, read-only, escaping, auth."""

from __future__ import annotations

import base64
import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import httpx
import orjson
import pytest
from keeptrust_console.app import Credential

from .conftest import ANSWERED, BLOCKED, serve_console, write_gateway_log

KT = str(Path(sys.executable).with_name("kt"))


def test_overview_counts_outcomes_and_verified_chain(console):
    page = httpx.get(console.url + "/")
    assert page.status_code == 200
    text = page.text
    assert f"<strong id=total>{ANSWERED + BLOCKED + 2}</strong>" in text
    assert "VERIFIED: 1 chain(s)" in text and "verified up to record" in text
    assert f'outcome=answered">answered</a></td><td class=num>{ANSWERED}<' in text
    assert f"blocked by forbidden-words</a></td><td class=num>{BLOCKED}<" in text
    assert "refused at the edge" in text
    assert "forbidden-words · block" in text and "<svg id=chart" in text
    assert "developer" in text and "analyst" in text


def test_security_headers_and_no_inline_script(console):
    for path in ("/", "/records", "/static/console.css", "/export.csv"):
        response = httpx.get(console.url + path)
        assert response.status_code == 200, path
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert "<script" not in response.text.lower().replace("&lt;script", "")
        assert " style=" not in response.text


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_anything_but_get_is_405(console, method):
    response = httpx.request(method, console.url + "/records", content=b"x")
    assert response.status_code == 405 and response.headers["allow"] == "GET, HEAD"


def test_a_hostile_request_path_renders_as_text(console):
    records = httpx.get(console.url + "/records", params={"outcome": "refused at the edge"}).text
    links = [part.split('"')[0] for part in records.split('href="/record/')[1:]]
    pages = [httpx.get(console.url + "/record/" + link).text for link in links]
    hostile = [p for p in pages if "alert(1)" in p]
    assert hostile, pages
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile[0]
    assert "<script>" not in hostile[0]


def test_records_filter_detail_and_export(console):
    page = httpx.get(console.url + "/records", params={"outcome": "blocked"}).text
    assert f"<span id=matching>{BLOCKED}</span>" in page
    assert "blocked-0" in page and "ok-0" not in page
    detail_link = page.split('href="/record/')[1].split('"')[0]
    detail = httpx.get(console.url + "/record/" + detail_link).text
    assert "forbidden term" in detail and "banned-term" in detail and "0.97" in detail
    assert "prev_hash" in detail and "a forbidden thing" in detail  # the body as recorded

    by_id = httpx.get(console.url + "/records", params={"q": "ok-", "role": "analyst"}).text
    assert "ok-1" in by_id and "ok-3" in by_id and "ok-0" not in by_id

    exported = httpx.get(console.url + "/export.csv", params={"outcome": "blocked"})
    assert exported.headers["content-disposition"] == 'attachment; filename="keeptrust-audit.csv"'
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert sorted(r["request_id"] for r in rows) == [f"blocked-{i}" for i in range(BLOCKED)]
    assert all(r["outcome"] == "blocked by forbidden-words" for r in rows)

    lines = httpx.get(console.url + "/export.jsonl", params={"policy": "forbidden-words"}).text.splitlines()
    records = [orjson.loads(line) for line in lines]
    assert len(records) == BLOCKED  # allows are not recorded as decisions
    assert all("hash" in r and "prev_hash" in r for r in records)


def test_a_flipped_byte_is_named_at_its_record(console, log_copy):
    segment = next(log_copy.rglob("seg-*.jsonl"))
    lines = segment.read_bytes().splitlines(keepends=True)
    target = next(i for i, line in enumerate(lines) if b'"blocked-1"' in line)
    seq = orjson.loads(lines[target])["seq"]
    lines[target] = lines[target].replace(b'"blocked-1"', b'"blocked-X"')
    segment.write_bytes(b"".join(lines))
    text = httpx.get(console.url + "/").text
    assert "BROKEN: 1 of 1 chain(s)" in text
    assert f"(seq {seq}): edited" in text and f"verified up to record {seq - 1}" in text


def test_sqlite_log(tmp_path):
    log = write_gateway_log(tmp_path / "audit", destination="sqlite")
    server = serve_console(log)
    try:
        text = httpx.get(server.url + "/").text
        assert "VERIFIED: 1 chain(s)" in text and f"<strong id=total>{ANSWERED + BLOCKED + 2}</strong>" in text
        page = httpx.get(server.url + "/records", params={"outcome": "blocked"}).text
        link = page.split('href="/record/')[1].split('"')[0]
        assert "forbidden term" in httpx.get(server.url + "/record/" + link).text
    finally:
        server.stop()


def test_basic_auth_and_bearer_key(log_copy):
    key = "console-key-0123456789"
    server = serve_console(log_copy, Credential(key))
    try:
        assert httpx.get(server.url + "/").status_code == 401
        assert httpx.get(server.url + "/").headers["www-authenticate"].startswith("Basic")
        assert httpx.get(server.url + "/", headers={"authorization": "Bearer wrong"}).status_code == 401
        assert httpx.get(server.url + "/", headers={"authorization": f"Bearer {key}"}).status_code == 200
        assert httpx.get(server.url + "/", auth=("auditor", key)).status_code == 200
        assert httpx.post(server.url + "/", auth=("auditor", key)).status_code == 405
        assert key not in httpx.get(server.url + "/", auth=("auditor", key)).text
    finally:
        server.stop()
    server = serve_console(log_copy, Credential("auditor:s3cret-passphrase"))
    try:
        assert httpx.get(server.url + "/", auth=("auditor", "s3cret-passphrase")).status_code == 200
        assert httpx.get(server.url + "/", auth=("other", "s3cret-passphrase")).status_code == 401
        token = base64.b64encode(b"auditor:s3cret-passphrase").decode()
        assert httpx.get(server.url + "/export.csv", headers={"authorization": f"Basic {token}"}).status_code == 200
    finally:
        server.stop()


def test_cli_refuses_a_public_bind_without_a_credential(log_copy):
    env = {**os.environ, "KEEPTRUST_LOAD_PLUGINS": "console"}
    result = subprocess.run(
        [KT, "audit", "serve", str(log_copy), "--listen", "0.0.0.0:41999"], capture_output=True, text=True, env=env
    )
    assert result.returncode == 2 and "--auth-env" in result.stderr
    env["CONSOLE_KEY"] = "short"
    result = subprocess.run(
        [KT, "audit", "serve", str(log_copy), "--listen", "0.0.0.0:41999", "--auth-env", "CONSOLE_KEY"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 2 and "12 or more characters" in result.stderr and "short" not in result.stderr


def test_kt_audit_serve_serves_the_page_with_a_key(log_copy):
    import socket
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    key = "console-key-for-the-cli-test"
    env = {**os.environ, "KEEPTRUST_LOAD_PLUGINS": "console", "CONSOLE_KEY": key}
    proc = subprocess.Popen(
        [KT, "audit", "serve", str(log_copy), "--listen", f"127.0.0.1:{port}", "--auth-env", "CONSOLE_KEY"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/", headers={"authorization": f"Bearer {key}"})
                break
            except httpx.ConnectError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read().decode()
                time.sleep(0.2)
        assert response.status_code == 200 and "VERIFIED: 1 chain(s)" in response.text
        assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 401
    finally:
        proc.terminate()
        proc.wait(10)
    output = proc.stdout.read().decode()
    assert "indexed" in output and key not in output


def test_csv_cells_a_spreadsheet_would_run_are_written_as_text():
    from keeptrust_console.app import _csv_rows

    row = (1, "2026-12-01T00:00:00.000Z", '=HYPERLINK("http://x")', "+role", "-t", "@m", 200, 1.5, "answered", "")
    text = _csv_rows([(*row, "chain", 3, 0, 0, 10)]).decode()
    cells = next(csv.reader(io.StringIO(text)))
    assert cells[1:5] == ['\'=HYPERLINK("http://x")', "'+role", "'-t", "'@m"]

"""Keyset paging, filters and running totals on a generated log bigger than a page, and retention
anchors on a pruned log."""

from __future__ import annotations

import importlib.util
import re
import time
from pathlib import Path

import httpx

from .conftest import serve_console, write_gateway_log

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "console_pages.py"


def _generated_log(directory: Path, count: int) -> Path:
    spec = importlib.util.spec_from_file_location("console_pages", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.write_log(directory, count)
    return directory


def _ids(page: str) -> list[str]:
    return re.findall(r'<a class=rid href="[^"]+">([^<]+)</a>', page)


def test_keyset_pages_cover_every_record_once_and_totals_follow_the_log(tmp_path):
    log = _generated_log(tmp_path / "audit", 180)
    server = serve_console(log)
    try:
        overview = httpx.get(server.url + "/").text
        total = int(re.search(r"<strong id=total>(\d+)</strong>", overview).group(1))
        assert "VERIFIED: 1 chain(s), 180 record(s)" in overview
        seen: list[str] = []
        url = server.url + "/records"
        while url:
            page = httpx.get(url).text
            seen.extend(_ids(page))
            older = re.search(r'<a id=older href="([^"]+)"', page)
            url = server.url + older.group(1).replace("&amp;", "&") if older else ""
        assert len(seen) == total and len(set(seen)) == total

        blocked = httpx.get(server.url + "/records", params={"outcome": "blocked"}).text
        matching = int(re.search(r"<span id=matching>(\d+)</span>", blocked).group(1))
        assert 0 < matching < total and "blocked by" in blocked
        csv_rows = httpx.get(server.url + "/export.csv", params={"outcome": "blocked"}).text.splitlines()
        assert len(csv_rows) == matching + 1

        # A record appended after start shows up on the next page load (this one is a copy: it does not chain).
        segment = sorted(log.rglob("seg-*.jsonl"))[-1]
        lines = segment.read_bytes().splitlines(keepends=True)
        with open(segment, "ab") as f:
            f.write(lines[-1].replace(b'"seq":179', b'"seq":180'))
        overview = httpx.get(server.url + "/").text
        assert f"<strong id=total>{total + 1}</strong>" in overview
        assert "BROKEN" in overview and "(seq 180)" in overview
    finally:
        server.stop()


def test_retention_anchor_is_shown_and_the_kept_records_verify(tmp_path):
    from keeptrust.audit.sqlite_sink import connect, prune_database
    from keeptrust.audit.verify import find_logs

    log = write_gateway_log(tmp_path / "audit", destination="sqlite")
    database = next(where for kind, where in find_logs(log) if kind == "sqlite")
    db = connect(database)
    try:
        assert prune_database(db, time.time() + 1) > 0
    finally:
        db.close()
    server = serve_console(log)
    try:
        overview = httpx.get(server.url + "/").text
        assert "Retention anchors" in overview and "pruned" in overview
        assert "VERIFIED: 1 chain(s)" in overview, overview
    finally:
        server.stop()

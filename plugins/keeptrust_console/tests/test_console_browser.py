"""The console in a real browser (headless Chromium through selenium and Debian's chromedriver), on a
log written by a real gateway run: counts and chain state, filter to the blocked requests, open one,
export CSV; then, after a byte of one record is flipped, the broken state named at that record."""

from __future__ import annotations

import csv
import io
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from .conftest import ANSWERED, BLOCKED


def _binary(env: str, name: str) -> str | None:
    return os.environ.get(env) or shutil.which(name)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    chromium = _binary("KEEPTRUST_TEST_CHROMIUM", "chromium")
    driver_path = _binary("KEEPTRUST_TEST_CHROMEDRIVER", "chromedriver")
    if not chromium or not driver_path:
        message = 'Chromium and chromedriver are not available: run `eval "$(scripts/test-services)"`'
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.downloads = downloads  # type: ignore[attr-defined]
    try:
        yield driver
    finally:
        driver.quit()


def _shows(browser: Any, element_id: str, expected: str, timeout: float = 15.0) -> bool:
    """Whether an element of the page a click is loading comes to read ``expected``. Chromium's
    inspector can answer an error while the old page is torn down; reads are retried meanwhile."""
    from selenium.common.exceptions import TimeoutException, WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        WebDriverWait(browser, timeout, ignored_exceptions=(WebDriverException,)).until(
            lambda b: b.find_element(By.ID, element_id).text == expected
        )
    except TimeoutException:
        return False
    return True


def _wait_for_file(directory: Path, suffix: str, timeout: float = 20.0) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [p for p in directory.iterdir() if p.name.endswith(suffix)]
        if done:
            return done[0]
        time.sleep(0.1)
    raise AssertionError(f"no {suffix} download in {directory}: {list(directory.iterdir())}")


def test_an_auditor_reads_filters_opens_exports_and_sees_tampering(browser, console, log_copy):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(console.url + "/")
    assert browser.find_element(By.ID, "total").text == str(ANSWERED + BLOCKED + 2)
    assert browser.find_element(By.ID, "chain-summary").text.startswith("VERIFIED: 1 chain(s)")
    outcomes = browser.find_element(By.ID, "outcomes").text
    assert f"answered {ANSWERED}" in outcomes and f"blocked by forbidden-words {BLOCKED}" in outcomes
    assert browser.find_element(By.ID, "chart").is_displayed()

    browser.find_element(By.LINK_TEXT, "Records").click()
    Select(browser.find_element(By.ID, "f-outcome")).select_by_value("blocked")
    browser.find_element(By.ID, "apply").click()
    assert _shows(browser, "matching", str(BLOCKED))
    rows = browser.find_elements(By.CSS_SELECTOR, "#records tr.blocked")
    assert len(rows) == BLOCKED
    assert all("blocked by forbidden-words" in row.text for row in rows)

    first = browser.find_elements(By.CSS_SELECTOR, "#records a.rid")[0]
    request_id = first.text
    first.click()
    assert _shows(browser, "record-id", request_id)
    assert browser.find_element(By.ID, "r-outcome").text == "blocked by forbidden-words"
    decisions = browser.find_element(By.ID, "decisions").text
    assert "forbidden term" in decisions and "banned-term" in decisions and "0.97" in decisions
    assert len(browser.find_element(By.ID, "r-hash").text) == 64

    browser.back()
    browser.find_element(By.ID, "export-csv").click()
    exported = _wait_for_file(browser.downloads, ".csv")
    rows_out = list(csv.DictReader(io.StringIO(exported.read_text())))
    assert sorted(r["request_id"] for r in rows_out) == [f"blocked-{i}" for i in range(BLOCKED)]

    # Someone with write access to the log directory edits one record.
    segment = next(log_copy.rglob("seg-*.jsonl"))
    lines = segment.read_bytes().splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if b'"ok-2"' in line)
    seq = orjson.loads(lines[index])["seq"]
    lines[index] = lines[index].replace(b'"ok-2"', b'"ok-7"')
    segment.write_bytes(b"".join(lines))

    browser.get(console.url + "/")
    assert browser.find_element(By.ID, "chain-summary").text == "BROKEN: 1 of 1 chain(s)"
    state = browser.find_element(By.ID, "chains").text
    assert f"verified up to record {seq - 1}" in state
    assert f"(seq {seq}): edited — the record's hash does not match its content" in state

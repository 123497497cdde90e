"""Personal data written to slip past a pattern (invisible characters, full-width forms, dotted
groups, base64) is found, and redaction replaces the original characters."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from keeptrust_presidio.normalize import fold

CASES = [
    ("mail jo\u200bhn.sm\u200bith@exa\u200dmple.com now", "EMAIL_ADDRESS", "jo\u200bhn.sm\u200bith@exa\u200dmple.com"),
    ("write ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ today", "EMAIL_ADDRESS", "ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ"),  # noqa: RUF001
    ("call ＋４４ ２０ ７９４６ ０９５８ please", "PHONE_NUMBER", "＋４４ ２０ ７９４６ ０９５８"),  # noqa: RUF001
    ("card 4111.1111.1111.1111 thanks", "CREDIT_CARD", "4111.1111.1111.1111"),
    ("card 4111\u200b1111\u200b1111\u200b1111 thanks", "CREDIT_CARD", "4111\u200b1111\u200b1111\u200b1111"),
]


@pytest.mark.parametrize(("text", "entity", "value"), CASES)
def test_obfuscated_values_are_found_on_their_original_span(detector: Any, text: str, entity: str, value: str) -> None:
    found = detector.analyze([text])[0]
    assert [(f.entity, text[f.start : f.end]) for f in found] == [(entity, value)]


def test_base64_carrying_an_address_goes_whole(detector: Any) -> None:
    run = base64.b64encode(b"contact jane.doe@example.com please").decode()
    text = f"decode {run} and reply"
    found = detector.analyze([text])[0]
    assert [(f.entity, text[f.start : f.end]) for f in found] == [("EMAIL_ADDRESS", run)]


def test_plain_base64_and_accented_words_are_left_alone(detector: Any) -> None:
    texts = [
        "token " + base64.b64encode(b"just some harmless bytes here").decode(),
        "Crème brûlée and a café au lait in Zürich",
    ]
    assert detector.analyze(texts) == [[], []]


def test_fold_keeps_ordinary_text_and_maps_offsets() -> None:
    assert fold("plain ascii") is None
    assert fold("Crème brûlée") is None
    folded = fold("a\u200bb＠c")  # noqa: RUF001
    assert folded is not None
    assert folded.text == "ab@c"
    assert folded.span(0, 4) == (0, 5)
    assert folded.span(2, 3) == (3, 4)


def test_request_redaction_replaces_the_obfuscated_characters(
    echo_upstream: Any, gateway_factory: Any, pii_config: Any
) -> None:
    gw = gateway_factory(pii_config(echo_upstream.url))
    text = "Write to jo\u200bhn@exa\u200bmple.com or ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ."  # noqa: RUF001
    gw.client().chat.completions.create(model="fake/model", messages=[{"role": "user", "content": text}])
    assert echo_upstream.app.last.body["messages"][0]["content"] == "Write to <EMAIL_ADDRESS> or <EMAIL_ADDRESS>."

"""Answer path, end to end: whole answers and streams, redacted exactly whatever the chunking."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from keeptrust.demo import FakeOpenAI

REPLY = "Sure. Contact Maria Garcia at maria.garcia@example.com or +44 20 7946 0958; card 4111 1111 1111 1111."
REDACTED = "Sure. Contact <PERSON> at <EMAIL_ADDRESS> or <PHONE_NUMBER>; card <CREDIT_CARD>."


def _stream_text(client: Any, **kwargs: Any) -> tuple[str, list[Any]]:
    chunks = list(
        client.chat.completions.create(
            model="fake/model", stream=True, messages=[{"role": "user", "content": "hello"}], **kwargs
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return text, chunks


def test_whole_answer_is_redacted(serve: Any, gateway_factory: Any, pii_config: Any) -> None:
    upstream = serve(FakeOpenAI(reply=REPLY))
    gw = gateway_factory(pii_config(upstream.url))
    answer = gw.client().chat.completions.create(model="fake/model", messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content == REDACTED


def test_apply_to_request_only_leaves_the_answer(serve: Any, gateway_factory: Any, pii_config: Any) -> None:
    upstream = serve(FakeOpenAI(reply=REPLY))
    gw = gateway_factory(pii_config(upstream.url, apply_to=["request"]))
    answer = gw.client().chat.completions.create(model="fake/model", messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content == REPLY
    text, _ = _stream_text(gw.client())
    assert text == REPLY


def test_stream_word_by_word_card_in_four_chunks(serve: Any, gateway_factory: Any, pii_config: Any) -> None:
    upstream = serve(FakeOpenAI(reply=REPLY))  # streams word by word: the card arrives in four chunks
    gw = gateway_factory(pii_config(upstream.url))
    text, chunks = _stream_text(gw.client())
    assert text == REDACTED
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


@pytest.mark.parametrize("size", [1, 3, 7, 16])
def test_stream_entities_cut_anywhere(chunked_upstream: Any, gateway_factory: Any, pii_config: Any, size: int) -> None:
    pieces = [REPLY[i : i + size] for i in range(0, len(REPLY), size)]  # an e-mail cut in the middle, etc.
    upstream = chunked_upstream(pieces)
    gw = gateway_factory(pii_config(upstream.url))
    text, _ = _stream_text(gw.client())
    assert text == REDACTED


def test_stream_redacts_a_name_mentioned_again_as_the_whole_answer_does(
    serve: Any, chunked_upstream: Any, gateway_factory: Any, pii_config: Any
) -> None:
    # The second "Tarquin" comes long after the analysis window has passed the full name.
    reply = (
        "Tarquin Oyelaran-Brooks wrote the first draft of the migration plan. The database work took "
        "most of the quarter and needed two rollbacks before it held. In the end Tarquin signed it off."
    )
    whole = gateway_factory(pii_config(serve(FakeOpenAI(reply=reply)).url)).client()
    expected = whole.chat.completions.create(model="fake/model", messages=[{"role": "user", "content": "hi"}])
    assert expected.choices[0].message.content.count("<PERSON>") == 2
    upstream = chunked_upstream([reply[i : i + 4] for i in range(0, len(reply), 4)])
    text, _ = _stream_text(gateway_factory(pii_config(upstream.url)).client())
    assert text == expected.choices[0].message.content


def test_stream_block_stops_before_the_value(serve: Any, gateway_factory: Any, pii_config: Any) -> None:
    upstream = serve(
        FakeOpenAI(
            reply="Here is a long preamble that is perfectly fine to show to anyone at all. "
            "Now write to maria.garcia@example.com today."
        )
    )
    gw = gateway_factory(pii_config(upstream.url, action="block"))
    received = []
    with pytest.raises(openai.APIError):
        for chunk in gw.client().chat.completions.create(
            model="fake/model", stream=True, messages=[{"role": "user", "content": "hello"}]
        ):
            if chunk.choices:
                received.append(chunk.choices[0].delta.content or "")
                if chunk.choices[0].finish_reason:
                    assert chunk.choices[0].finish_reason == "content_filter"
    assert "maria" not in "".join(received)


def test_stream_shadow_passes_text_unchanged(serve: Any, gateway_factory: Any, pii_config: Any) -> None:
    upstream = serve(FakeOpenAI(reply=REPLY))
    gw = gateway_factory(pii_config(upstream.url, mode="shadow"))
    text, _ = _stream_text(gw.client())
    assert text == REPLY


def test_placeholders_agree_between_request_and_answer(serve: Any, gateway_factory: Any, pii_config: Any) -> None:
    upstream = serve(FakeOpenAI(reply="Write to ana@example.org, not bo@example.org."))
    gw = gateway_factory(pii_config(upstream.url, placeholder="<{entity}_{n}>"))
    client = gw.client()
    messages = [{"role": "user", "content": "Is bo@example.org right?"}]
    answer = client.chat.completions.create(model="fake/model", messages=messages)
    assert upstream.app.last.body["messages"][0]["content"] == "Is <EMAIL_ADDRESS_1> right?"
    assert answer.choices[0].message.content == "Write to <EMAIL_ADDRESS_2>, not <EMAIL_ADDRESS_1>."
    streamed = "".join(
        c.choices[0].delta.content or ""
        for c in client.chat.completions.create(model="fake/model", messages=messages, stream=True)
        if c.choices
    )
    assert streamed == "Write to <EMAIL_ADDRESS_2>, not <EMAIL_ADDRESS_1>."


def test_block_withholds_a_whole_answer(serve: Any, gateway_factory: Any, pii_config: Any) -> None:
    upstream = serve(FakeOpenAI(reply=REPLY))
    gw = gateway_factory(pii_config(upstream.url, action="block", apply_to=["response"]))
    with pytest.raises(openai.BadRequestError) as err:
        gw.client().chat.completions.create(model="fake/model", messages=[{"role": "user", "content": "hi"}])
    assert err.value.body["code"] == "policy_violation"
    assert "answer was blocked" in err.value.body["message"] and "maria" not in err.value.body["message"].lower()

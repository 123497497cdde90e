"""Request path, end to end: the openai client -> gateway with pii-detector -> echoing upstream."""

from __future__ import annotations

from typing import Any

import openai
import pytest

PROMPT = (
    "Hi, I am John Smith (john.smith@example.com, +1 415 555 0100). "
    "Explain the attention mechanism in transformers in two sentences."
)


def test_redacts_chat_prompt_and_keeps_everything_else(
    echo_upstream: Any, gateway_factory: Any, pii_config: Any
) -> None:
    gw = gateway_factory(pii_config(echo_upstream.url, action="redact"))
    answer = gw.client().chat.completions.create(
        model="fake/model",
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": PROMPT},
        ],
    )
    sent = echo_upstream.app.last.body["messages"]
    assert sent[0]["content"] == "You are a helpful assistant."
    assert sent[1]["content"] == (
        "Hi, I am <PERSON> (<EMAIL_ADDRESS>, <PHONE_NUMBER>). "
        "Explain the attention mechanism in transformers in two sentences."
    )
    assert answer.choices[0].message.content == "You said: " + sent[1]["content"]


def test_card_with_dashes_and_numbered_placeholders_are_consistent(
    echo_upstream: Any, gateway_factory: Any, pii_config: Any
) -> None:
    gw = gateway_factory(pii_config(echo_upstream.url, placeholder="<{entity}_{n}>"))
    text = (
        "Mail ana.lima@example.org, then bo.chen@example.net, then ana.lima@example.org again. "
        "Card 4111-1111-1111-1111."
    )
    gw.client().chat.completions.create(model="fake/model", messages=[{"role": "user", "content": text}])
    assert echo_upstream.app.last.body["messages"][0]["content"] == (
        "Mail <EMAIL_ADDRESS_1>, then <EMAIL_ADDRESS_2>, then <EMAIL_ADDRESS_1> again. Card <CREDIT_CARD_1>."
    )


def test_every_text_a_user_sends_is_covered(echo_upstream: Any, gateway_factory: Any, pii_config: Any) -> None:
    gw = gateway_factory(pii_config(echo_upstream.url))
    gw.client().chat.completions.create(
        model="fake/model",
        messages=[
            {"role": "system", "content": [{"type": "text", "text": "Escalate to maria.garcia@example.com."}]},
            {
                "role": "user",
                "name": "jane.doe@example.com",
                "content": [
                    {"type": "text", "text": "Call +44 20 7946 0958 please."},
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": '{"email": "jane.doe@example.com"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": '{"card": "5500 0000 0000 0004"}'},
        ],
    )
    sent = echo_upstream.app.last.body["messages"]
    assert sent[0]["content"][0]["text"] == "Escalate to <EMAIL_ADDRESS>."
    assert sent[1]["name"] == "<EMAIL_ADDRESS>"
    assert sent[1]["content"][0]["text"] == "Call <PHONE_NUMBER> please."
    assert sent[1]["content"][1] == {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}
    assert sent[2]["tool_calls"][0]["function"]["arguments"] == '{"email": "<EMAIL_ADDRESS>"}'
    assert sent[3]["content"] == '{"card": "<CREDIT_CARD>"}'


def test_embeddings_inputs_are_redacted(echo_upstream: Any, gateway_factory: Any, pii_config: Any) -> None:
    gw = gateway_factory(pii_config(echo_upstream.url))
    gw.client().embeddings.create(model="fake/model", input=["write to jane.doe@example.com", "no pii here"])
    assert echo_upstream.app.last.body["input"] == ["write to <EMAIL_ADDRESS>", "no pii here"]


def test_mask_keeps_the_length(echo_upstream: Any, gateway_factory: Any, pii_config: Any) -> None:
    gw = gateway_factory(pii_config(echo_upstream.url, action="mask", entities=["EMAIL_ADDRESS"]))
    gw.client().chat.completions.create(model="fake/model", messages=[{"role": "user", "content": "to a@example.com!"}])
    assert echo_upstream.app.last.body["messages"][0]["content"] == "to *************!"


def test_block_names_the_types_never_the_values(echo_upstream: Any, gateway_factory: Any, pii_config: Any) -> None:
    gw = gateway_factory(pii_config(echo_upstream.url, action="block"))
    before = len(echo_upstream.app.requests)
    with pytest.raises(openai.BadRequestError) as err:
        gw.client().chat.completions.create(model="fake/model", messages=[{"role": "user", "content": PROMPT}])
    body = err.value.body
    assert err.value.status_code == 400
    assert body["code"] == "policy_violation" and body["param"] == "pii-detector"
    for entity in ("PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER"):
        assert entity in body["message"]
    for value in ("John", "john.smith", "555"):
        assert value not in body["message"]
    assert len(echo_upstream.app.requests) == before  # nothing reached the upstream


def test_block_lets_clean_requests_through(echo_upstream: Any, gateway_factory: Any, pii_config: Any) -> None:
    gw = gateway_factory(pii_config(echo_upstream.url, action="block"))
    answer = gw.client().chat.completions.create(
        model="fake/model", messages=[{"role": "user", "content": "Order 12345678 shipped on 2024-03-15."}]
    )
    assert answer.choices[0].message.content == "You said: Order 12345678 shipped on 2024-03-15."


def test_shadow_mode_records_but_changes_nothing(echo_upstream: Any, gateway_factory: Any, pii_config: Any) -> None:
    gw = gateway_factory(pii_config(echo_upstream.url, action="block", mode="shadow"))
    answer = gw.client().chat.completions.create(model="fake/model", messages=[{"role": "user", "content": PROMPT}])
    assert echo_upstream.app.last.body["messages"][0]["content"] == PROMPT
    assert answer.choices[0].message.content == "You said: " + PROMPT


def test_allow_list_and_custom_pattern(echo_upstream: Any, gateway_factory: Any, pii_config: Any) -> None:
    gw = gateway_factory(
        pii_config(
            echo_upstream.url,
            entities=["EMAIL_ADDRESS", "EMPLOYEE_ID"],
            allow_list=["support@example.com"],
            patterns=[{"name": "employee-id", "entity": "EMPLOYEE_ID", "regex": r"\bEMP-\d{6}\b", "score": 0.9}],
        )
    )
    gw.client().chat.completions.create(
        model="fake/model",
        messages=[{"role": "user", "content": "EMP-123456 wrote to support@example.com from jo@example.com"}],
    )
    assert echo_upstream.app.last.body["messages"][0]["content"] == (
        "<EMPLOYEE_ID> wrote to support@example.com from <EMAIL_ADDRESS>"
    )


def _reaches_upstream(call: Any) -> None:
    """Make a call whose answer the echo upstream does not implement (it records the request first)."""
    try:
        call()
    except openai.APIStatusError:
        pass


def test_responses_images_and_speech_prompts_are_redacted(
    echo_upstream: Any, gateway_factory: Any, pii_config: Any
) -> None:
    client = gateway_factory(pii_config(echo_upstream.url)).client()
    _reaches_upstream(
        lambda: client.responses.create(
            model="fake/model",
            instructions="Reply to jane.doe@example.com.",
            input=[{"role": "user", "content": [{"type": "input_text", "text": "I am John Smith."}]}],
        )
    )
    body = echo_upstream.app.last.body
    assert body["instructions"] == "Reply to <EMAIL_ADDRESS>."
    assert body["input"][0]["content"][0]["text"] == "I am <PERSON>."
    _reaches_upstream(lambda: client.images.generate(model="fake/model", prompt="A card for bo.chen@example.net"))
    assert echo_upstream.app.last.body["prompt"] == "A card for <EMAIL_ADDRESS>"
    _reaches_upstream(
        lambda: client.audio.speech.create(model="fake/model", voice="alloy", input="Call +44 20 7946 0958 now.")
    )
    assert echo_upstream.app.last.body["input"] == "Call <PHONE_NUMBER> now."

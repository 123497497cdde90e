"""The Anthropic Messages API in front of a Hugging Face router backend: the official anthropic
client, translated to chat, answered by the fake router."""

from __future__ import annotations

import anthropic

from keeptrust_hf.testing import TOKEN_ENV

LLAMA = "meta-llama/Meta-Llama-3.1-8B-Instruct"


def test_messages_through_the_hf_router(hf, gateway):
    hf.app.add_mapping(LLAMA, "groq", "llama-3.1-8b-instant")
    gw = gateway({"id": "llama", "provider": f"huggingface:chat:{LLAMA}", "secret_key_ref": {"env": TOKEN_ENV}})
    client = anthropic.Anthropic(base_url=gw.url, api_key="unused", max_retries=0)
    message = client.messages.create(
        model="llama", max_tokens=20, system="Be brief.", messages=[{"role": "user", "content": "hello there"}]
    )
    assert message.content[0].text == "You said: hello there"
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0
    sent = hf.app.last.json
    assert sent["model"] == LLAMA
    assert sent["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello there"}]
    assert sent["max_tokens"] == 20
    with client.messages.stream(
        model="llama", max_tokens=20, messages=[{"role": "user", "content": "stream it"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text.strip() == "You said: stream it"  # the fake streams word by word, each with its space
    assert final.stop_reason == "end_turn"

"""``keeptrust.texts`` on its own: roles and paths of the texts it yields, rewriting in place,
and logprob tokens re-cut after a rewrite."""

from __future__ import annotations

import random

from keeptrust import context as ops
from keeptrust.context import UploadedFile
from keeptrust.texts import TokenAligner, realign, request_texts, response_texts


def _found(operation, body):
    return {(r.role, r.where): r.text for r in request_texts(operation, body)}


def test_chat_roles_and_paths():
    body = {
        "model": "m",
        "messages": [
            {"role": "developer", "content": "rules"},
            {"role": "user", "content": [{"type": "text", "text": "data:text/plain,not a data URL to skip"}]},
            {"role": "tool", "tool_call_id": "c", "content": [{"type": "text", "text": "result"}]},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "f",
                    "description": "d",
                    "parameters": {
                        "type": "object",
                        "properties": {"to": {"type": "string", "title": "T", "examples": ["e"]}},
                        "required": ["to"],
                    },
                },
            }
        ],
        "response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema": {"description": "s"}}},
        "temperature": 0.2,
        "user": "end-user-1",
        "stop": ["###"],
    }
    assert _found(ops.CHAT, body) == {
        ("developer", "messages[0].content"): "rules",
        ("user", "messages[1].content[0].text"): "data:text/plain,not a data URL to skip",
        ("tool", "messages[2].content[0].text"): "result",
        ("tools", "tools[0].function.name"): "f",
        ("tools", "tools[0].function.description"): "d",
        ("tools", "tools[0].function.parameters.properties.to.title"): "T",
        ("tools", "tools[0].function.parameters.properties.to.examples[0]"): "e",
        ("response_format", "response_format.json_schema.name"): "n",
        ("response_format", "response_format.json_schema.schema.description"): "s",
    }


def test_responses_item_roles():
    body = {
        "instructions": "be kind",
        "input": [
            {"role": "user", "content": "hi"},
            {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c", "output": [{"type": "input_text", "text": "out"}]},
            {"type": "mcp_call", "id": "m", "server_label": "s", "name": "n", "arguments": "{}", "output": "mcp out"},
            {"type": "mcp_list_tools", "id": "l", "server_label": "s", "tools": [{"name": "t", "description": "td"}]},
        ],
        "prompt": {"id": "pmpt_1", "variables": {"city": "Paris"}},
    }
    found = _found(ops.RESPONSES, body)
    assert found[("system", "instructions")] == "be kind"
    assert found[("assistant", "input[1].arguments")] == "{}"
    assert found[("tool", "input[2].output[0].text")] == "out"
    assert found[("tool", "input[3].output")] == "mcp out"
    assert found[("tools", "input[4].tools[0].description")] == "td"
    assert found[("user", "prompt.variables.city")] == "Paris"
    assert ("user", "prompt.id") not in found


def test_multipart_fields_and_file_names_are_rewritable():
    body = {
        "model": "m",
        "file": UploadedFile("jane.wav", "audio/wav", b"x"),
        "prompt": "p",
        "extra": "e",
        "language": "en",
    }
    refs = request_texts(ops.TRANSCRIPTION, body)
    assert [(r.where, r.text) for r in refs] == [("file.filename", "jane.wav"), ("prompt", "p"), ("extra", "e")]
    refs[0].set("<PERSON>.wav")
    assert body["file"].filename == "<PERSON>.wav" and body["file"].data == b"x"


def test_image_edit_uploads_are_read_by_name_only():
    body = {
        "prompt": "p",
        "image": [UploadedFile("a.png", "image/png", b"1"), UploadedFile("b.png", "image/png", b"2")],
        "negative_prompt": "n",
        "size": "1024x1024",
    }
    assert [r.where for r in request_texts(ops.IMAGE_EDIT, body)] == [
        "prompt",
        "image[0].filename",
        "image[1].filename",
        "negative_prompt",
    ]


def test_answer_texts_and_logprobs():
    tokens = [{"token": t, "logprob": -1.0, "bytes": list(t.encode()), "top_logprobs": []} for t in ["a", "b"]]
    body = {
        "id": "x",
        "model": "m",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "logprobs": {"content": tokens},
                "message": {
                    "role": "assistant",
                    "content": "ab",
                    "refusal": "r",
                    "reasoning_content": "think",
                    "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
                },
            }
        ],
    }
    found = {r.where: r.text for r in response_texts(ops.CHAT, body)}
    assert found == {
        "choices[0].message.content": "ab",
        "choices[0].message.refusal": "r",
        "choices[0].message.reasoning_content": "think",
        "choices[0].message.tool_calls[0].function.name": "f",
        "choices[0].message.tool_calls[0].function.arguments": "{}",
        "choices[0].logprobs.content": "ab",
    }


def _entries(text, size):
    return [
        {"token": text[i : i + size], "logprob": -0.5, "bytes": [], "top_logprobs": [{"token": "z"}]}
        for i in range(0, len(text), size)
    ]


def test_realign_keeps_unchanged_tokens_and_merges_rewritten_ones():
    old = "Mail john@example.com today"
    entries = _entries(old, 3)
    new = old.replace("john@example.com", "<EMAIL>")
    out = realign(entries, old, new)
    assert "".join(e["token"] for e in out) == new
    assert out[0] is entries[0]  # "Mai" untouched, alternatives kept
    rewritten = [e for e in out if "<EMAIL>" in e["token"]]
    assert len(rewritten) == 1 and rewritten[0]["top_logprobs"] == [] and rewritten[0]["logprob"] < -0.5


def test_token_aligner_spells_exactly_the_filtered_text_whatever_the_cuts():
    rng = random.Random(7)
    text = "Card 4111 1111 1111 1111 and mail ana@example.org, then more words follow here."
    secrets = ["4111 1111 1111 1111", "ana@example.org"]
    for _ in range(50):
        entries = _entries(text, rng.randint(1, 5))
        aligner, held, out_tokens, out_text = TokenAligner(), "", [], ""
        i = 0
        while i < len(entries):
            n = rng.randint(1, 4)
            spelled = aligner.add(entries[i : i + n])
            i += n
            # A filter that holds back the last 20 characters and rewrites the secrets.
            held += spelled
            for s in secrets:
                held = held.replace(s, "[x]")
            cut = max(0, len(held) - 20)
            emitted, held = held[:cut], held[cut:]
            out_text += emitted
            out_tokens += aligner.take(emitted, final=False)
        out_text += held
        out_tokens += aligner.take(held, final=True)
        assert (
            "".join(e["token"] for e in out_tokens)
            == out_text
            == text.replace(secrets[0], "[x]").replace(secrets[1], "[x]")
        )

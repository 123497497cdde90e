"""``/v1/messages/count_tokens``: an estimate, documented as such.

The gateway fronts many models, each with its own tokenizer, and Anthropic's own tokenizer is not
published; shipping one tokenizer would give an exact count for one model family and a wrong one
for the rest. So the count is the rule of thumb both OpenAI and Anthropic publish for English
text, about four characters per token (counted over UTF-8 bytes, so non-Latin scripts, which
tokenize denser, count higher), plus a few tokens of framing per message, the JSON of the tool
definitions, and a flat 1,600 tokens per image (Anthropic's documented upper bound for an image
that is not resized: ``width * height / 750``, capped near 1,600). Use it to budget requests, not
to bill them: the upstream's ``usage`` in each answer is the real count.
"""

from __future__ import annotations

from typing import Any

import orjson

from keeptrust.context import CHAT
from keeptrust.texts import request_texts

BYTES_PER_TOKEN = 4
MESSAGE_OVERHEAD = 3
IMAGE_TOKENS = 1600


def _tokens(text: str) -> int:
    size = len(text.encode("utf-8"))
    return (size + BYTES_PER_TOKEN - 1) // BYTES_PER_TOKEN


def estimate(chat: dict[str, Any]) -> int:
    """Estimated input tokens of a chat body (the translation of a Messages request)."""
    total = sum(_tokens(ref.text) for ref in request_texts(CHAT, chat))
    for message in chat.get("messages") or ():
        total += MESSAGE_OVERHEAD
        content = message.get("content")
        if isinstance(content, list):
            total += IMAGE_TOKENS * sum(1 for p in content if isinstance(p, dict) and p.get("type") == "image_url")
        for call in message.get("tool_calls") or ():
            total += _tokens((call.get("function") or {}).get("name") or "")
    if chat.get("tools"):
        total += _tokens(orjson.dumps(chat["tools"]).decode())
    return max(total, 1)

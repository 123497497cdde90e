"""Chat messages → one prompt string, for endpoints that only take ``inputs``.

The model's own Jinja ``chat_template`` is rendered the way TGI renders it (variables ``messages``,
``bos_token``, ``eos_token``, ``add_generation_prompt=True``; helpers ``raise_exception`` and
``strftime_now``; content parts flattened, images as ``![](url)``) in an immutable sandbox. Without a
template the documented default is used (README "Native format").
"""

from __future__ import annotations

import datetime
from typing import Any

import attrs
from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from keeptrust.errors import RequestError

# The default when an endpoint reports no template: the Zephyr-style tags many instruction-tuned
# models on the Hub were trained with; roles are kept, an open assistant turn ends the prompt.
DEFAULT_TEMPLATE = (
    "{% for message in messages %}"
    "<|{{ message['role'] }}|>\n{{ message['content'] }}{{ eos_token }}\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


class _TemplateFailure(Exception):
    pass


def _raise_exception(message: str) -> None:
    raise _TemplateFailure(message)


def _strftime_now(fmt: str) -> str:
    return datetime.datetime.now().strftime(fmt)


def token_text(value: Any) -> str:
    """``bos_token``/``eos_token`` may be strings or ``{"content": ...}`` objects in tokenizer_config."""
    if isinstance(value, dict):
        return str(value.get("content") or "")
    return str(value or "")


def flatten_content(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts = []
    for part in content if isinstance(content, list) else [content]:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text":
            parts.append(str(part.get("text", "")))
        elif part.get("type") == "image_url":
            url = (part.get("image_url") or {}).get("url", "")
            parts.append(f"![]({url})")
    return "".join(parts)


@attrs.frozen
class ChatTemplate:
    """A compiled template plus the special tokens it uses."""

    source: str
    bos_token: str = ""
    eos_token: str = ""
    _compiled: Any = attrs.field(default=None, eq=False, repr=False)

    @classmethod
    def build(cls, source: str | None, bos_token: Any = "", eos_token: Any = "") -> ChatTemplate:
        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        env.globals["raise_exception"] = _raise_exception
        env.globals["strftime_now"] = _strftime_now
        text = source or DEFAULT_TEMPLATE
        bos, eos = token_text(bos_token), token_text(eos_token)
        if source is None and not eos:
            eos = "</s>"
        return cls(text, bos, eos, env.from_string(text))

    def render(self, messages: list[dict[str, Any]]) -> str:
        flat = []
        for message in messages:
            item = {"role": message.get("role"), "content": flatten_content(message.get("content"))}
            if message.get("tool_calls"):
                import orjson

                item["content"] = (item["content"] or "") + orjson.dumps(message["tool_calls"]).decode()
            if message.get("name"):
                item["name"] = message["name"]
            flat.append(item)
        continuation = bool(flat) and flat[-1]["role"] == "assistant"
        try:
            prompt = self._compiled.render(
                messages=flat,
                bos_token=self.bos_token,
                eos_token=self.eos_token,
                add_generation_prompt=not continuation,
            )
        except _TemplateFailure as exc:
            raise RequestError(
                f"the model's chat template rejected the conversation: {str(exc)[:200]}",
                param="messages",
                code="template_error",
            ) from None
        except TemplateError as exc:
            raise RequestError(
                f"the chat template could not be rendered: {type(exc).__name__}",
                param="messages",
                code="template_error",
            ) from None
        if continuation:
            # The last assistant message is a prefill: cut right after its content, as TGI does.
            last = flat[-1]["content"]
            cut = prompt.rfind(last)
            if last and cut >= 0:
                prompt = prompt[: cut + len(last)]
        return prompt

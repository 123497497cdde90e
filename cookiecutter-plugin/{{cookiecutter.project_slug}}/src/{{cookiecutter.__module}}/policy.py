"""Policy ``{{ cookiecutter.__name }}``: block requests and answers that contain a configured word.

Configure it in ``policy-config.yaml``::

    policies:
      chain: [{{ cookiecutter.__name }}]
      policy:
        {{ cookiecutter.__name }}:
          words: [forbidden, secret-project]
          action: block        # or flag: record the match, let the traffic through
"""

from __future__ import annotations

import re
from typing import Any, Literal

import attrs
from keeptrust import (
    Block,
    Decision,
    Flag,
    Policy,
    PolicyConfig,
    RequestContext,
    StreamBlocked,
    StreamFilter,
    TextRef,
    request_texts,
    response_texts,
)

REASON = "blocked-word"


def _non_empty(instance: Any, attribute: attrs.Attribute, value: list[str]) -> None:
    # keeptrust prefixes the YAML path of the block, so the operator reads
    # "policies.policy.{{ cookiecutter.__name }}: words: ...".
    if not value or not all(word.strip() for word in value):
        raise ValueError("words: list at least one word, and no empty ones")


@attrs.frozen(kw_only=True)
class {{ cookiecutter.__class }}Config(PolicyConfig):
    """``policies.policy.{{ cookiecutter.__name }}``. ``mode: enforce|shadow`` comes from ``PolicyConfig``;
    keeptrust rejects unknown keys and wrong types with the path of the offending key."""

    words: list[str] = attrs.field(validator=_non_empty)
    action: Literal["block", "flag"] = "block"
    case_sensitive: bool = False
    check_response: bool = True


class {{ cookiecutter.__class }}Policy(Policy):
    name = "{{ cookiecutter.__name }}"
    config_class = {{ cookiecutter.__class }}Config
    distribution = "{{ cookiecutter.project_slug }}"

    def __init__(self, config: {{ cookiecutter.__class }}Config, env: Any) -> None:
        super().__init__(config, env)
        # Whole words only, so that "ass" does not match "assistant"; built once, used per request.
        alternatives = "|".join(re.escape(word.strip()) for word in sorted(config.words, key=len, reverse=True))
        flags = 0 if config.case_sensitive else re.IGNORECASE
        self.pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", flags)
        # A word split across two stream chunks is still found if this much text is held back.
        self.tail = max(len(word) for word in config.words) + 1

    def _decide(self, texts: list[TextRef], where: str) -> Decision | None:
        count = sum(len(self.pattern.findall(ref.text)) for ref in texts)
        if not count:
            return None
        # Decisions reach the audit log and Block messages reach the client: counts, never the text.
        details = {"count": count}
        if self.config.action == "flag":
            return Flag(reason=REASON, details=details)
        return Block(f"the {where} contains {count} blocked word(s)", reason=REASON, details=details)

    async def on_request(self, ctx: RequestContext) -> Decision | None:
        return self._decide(request_texts(ctx.operation, ctx.body), "request")

    async def on_response(self, ctx: RequestContext, body: Any) -> Decision | None:
        if not self.config.check_response:
            return None
        return self._decide(response_texts(ctx.operation, body), "answer")

    def stream_filter(self, ctx: RequestContext) -> StreamFilter | None:
        if not self.config.check_response or self.config.action != "block":
            return None
        return _WordStream(self.pattern, self.tail)


class _WordStream:
    """One streamed answer: emits text once no blocked word can still start in it."""

    def __init__(self, pattern: re.Pattern[str], tail: int) -> None:
        self.pattern = pattern
        self.keep = tail
        self.pending = ""
        # The last character already emitted: the context the look-behind needs at the start of pending.
        self.before = ""

    def _check(self, text: str, final: bool) -> None:
        for match in self.pattern.finditer(self.before + text):
            # A match touching the end may be the start of a longer word ("ass" in "assistant").
            if final or match.end() < len(self.before) + len(text):
                raise StreamBlocked("the answer contains a blocked word", reason=REASON, details={"count": 1})

    def feed(self, text: str) -> str:
        buffer = self.pending + text
        self._check(buffer, final=False)
        cut = max(len(buffer) - self.keep, 0)
        if cut:
            self.before = buffer[cut - 1]
        self.pending = buffer[cut:]
        return buffer[:cut]

    def flush(self) -> str:
        self._check(self.pending, final=True)
        rest, self.pending = self.pending, ""
        return rest

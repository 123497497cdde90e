"""Secrets: held in a wrapper that never prints, and scrubbed from every text that leaves the gateway.

Public module: plugins import it; the names in ``__all__`` are its API."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable

# Token shapes scrubbed even when they are not configured secrets (a client's own key in an
# upstream's echo, an HF token pasted into a prompt that ends up in an error message).
_TOKEN_SHAPES = re.compile(
    r"(hf_[A-Za-z0-9]{20,}|(?i:bearer)\s+[A-Za-z0-9._~+/=-]{8,}|(?i:key)\s+[A-Za-z0-9:._-]{16,})"
)
# _TOKEN_SHAPES scans at ~50 ns a byte (case-insensitive alternation); this literal pre-check on the
# lowered text is ~10x cheaper and true whenever _TOKEN_SHAPES can match (audit records, log lines).
_KEY_THEN_SPACE = re.compile(r"key\s")


def _may_hold_token(text: str) -> bool:
    if "hf_" in text:
        return True
    lowered = text.lower()
    return "bearer" in lowered or _KEY_THEN_SPACE.search(lowered) is not None


class Secret:
    """A secret value. ``str()`` and ``repr()`` give ``***``; ``reveal()`` gives the value."""

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str = "") -> None:
        self._value = value
        self.source = source

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


def key_id(key: str) -> str:
    """A stable, non-reversible id for a gateway key, for audit records."""
    return "key_" + hashlib.sha256(key.encode()).hexdigest()[:16]


class Redactor:
    """Replaces every known secret value (and token-shaped strings) with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(*secrets)

    def add(self, *values: str) -> None:
        # Very short values would scrub ordinary words; a secret that short is not a secret.
        self._values.update(v for v in values if v and len(v) >= 6)
        if self._values:
            alternatives = sorted((re.escape(v) for v in self._values), key=len, reverse=True)
            self._pattern = re.compile("|".join(alternatives))

    def __call__(self, text: str) -> str:
        if self._pattern is not None:
            text = self._pattern.sub("***", text)
        return _TOKEN_SHAPES.sub("***", text) if _may_hold_token(text) else text


class RedactingFilter(logging.Filter):
    """A logging filter that scrubs secrets from the rendered message (args included)."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg = self.redactor(message)
        record.args = None
        if record.exc_info:
            # Render the traceback now so it is scrubbed too, then drop the live exception.
            import traceback

            text = "".join(traceback.format_exception(*record.exc_info))
            record.exc_text = self.redactor(text)
            record.exc_info = None
        return True


__all__ = [
    "RedactingFilter",
    "Redactor",
    "Secret",
    "key_id",
]

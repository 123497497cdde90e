"""Secrets: held in a wrapper that never prints, and scrubbed from every text that leaves the gateway.

Public module: plugins import it; the names in ``__all__`` are its API."""

from __future__ import annotations

import base64
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


# ASCII bytes other than letters and digits: what an upstream may put between a secret's characters
# when it echoes one spaced out, wrapped over lines or broken up with dashes, dots or quotes.
_SEPARATORS = bytes(b for b in range(128) if not chr(b).isalnum())
# A secret is looked for in split form only when it has this many letters and digits: shorter runs
# could turn up by chance once the separators between ordinary words are gone.
_MIN_SPLIT_CHARS = 12
# Base64 pieces shorter than this are not matched (they would scrub unrelated base64 by chance).
_MIN_BASE64_CHARS = 16


def _base64_forms(value: str) -> set[str]:
    """The parts of ``value``'s base64 encodings that appear whatever surrounds it: one for each of the
    three alignments a secret can have inside a longer encoded text (a Basic ``user:key`` header, a
    JSON blob), standard and URL-safe alphabets."""
    raw = value.encode()
    forms: set[str] = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode().rstrip("=")
        # The first group of four holds the padding bytes when offset > 0; the last, unless the
        # value ends on a group boundary, depends on whatever follows.
        start = 4 if offset else 0
        end = len(encoded) if (offset + len(raw)) % 3 == 0 else (offset + len(raw)) // 3 * 4
        stable = encoded[start:end]
        if len(stable) >= _MIN_BASE64_CHARS:
            forms.add(stable)
            forms.add(stable.replace("+", "-").replace("/", "_"))
    return forms


class Redactor:
    """Replaces every known secret value (and token-shaped strings) with ``***``: the value itself,
    its base64 encodings, and the value with anything but letters and digits inserted between its
    characters (spaced out, split over lines, broken up by separators)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._compact: set[bytes] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(*secrets)

    def add(self, *values: str) -> None:
        # Very short values would scrub ordinary words; a secret that short is not a secret.
        values = tuple(v for v in values if v and len(v) >= 6)
        for value in values:
            self._values.add(value)
            self._values.update(_base64_forms(value))
            compact = value.encode().translate(None, _SEPARATORS)
            if len(compact) >= _MIN_SPLIT_CHARS:
                self._compact.add(compact)
        if self._values:
            alternatives = sorted((re.escape(v) for v in self._values), key=len, reverse=True)
            self._pattern = re.compile("|".join(alternatives))

    def __call__(self, text: str) -> str:
        # Substring tests first: a regex alternation scans ~10x slower, and most texts hold no secret.
        if self._pattern is not None and any(v in text for v in self._values):
            text = self._pattern.sub("***", text)
        if self._compact:
            compact = text.encode("utf-8", "replace").translate(None, _SEPARATORS)
            found = [c for c in self._compact if c in compact]
            if found:
                text = _scrub_split(text, found)
        return _TOKEN_SHAPES.sub("***", text) if _may_hold_token(text) else text


def _scrub_split(text: str, secrets: list[bytes]) -> str:
    """``text`` with each of ``secrets`` (letters and digits only) replaced, whatever separators sit
    between their characters. Rare, so plain Python: map the compact match back onto the text."""
    kept = [i for i, ch in enumerate(text) if ord(ch) >= 128 or ch.isalnum()]
    compact = "".join(text[i] for i in kept)
    spans: list[tuple[int, int]] = []
    for secret in secrets:
        needle = secret.decode()
        at = compact.find(needle)
        while at >= 0:
            spans.append((kept[at], kept[at + len(needle) - 1] + 1))
            at = compact.find(needle, at + len(needle))
    out: list[str] = []
    last = 0
    for start, end in sorted(spans):
        if start < last:  # overlaps one already replaced
            start = last
        out.append(text[last:start])
        out.append("***")
        last = max(last, end)
    out.append(text[last:])
    return "".join(out)


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

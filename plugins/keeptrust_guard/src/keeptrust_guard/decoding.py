"""Finding and decoding encoded segments (base64, hex, binary, URL and \\u escapes, rot13, reversed
text) so that an instruction hidden in an encoding is scanned like any other text.

Decoding is only worth it when the result is text: a decoded segment is kept when it is valid UTF-8
and mostly printable, so hashes, keys and binary blobs are dropped. The patterns are single
character classes with a minimum length, which regex engines scan in linear time.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from collections.abc import Iterator
from urllib.parse import unquote

import attrs

_BASE64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}|[A-Za-z0-9_\-]{16,}={0,2}")
_HEX = re.compile(r"(?:(?:\\x|0x)?[0-9a-fA-F]{2}[ ,:]?){8,}")
_HEX_NOISE = re.compile(r"\\x|0x|[ ,:]")
_BINARY = re.compile(r"(?:[01]{8} ?){4,}")
_PERCENT = re.compile(r"%[0-9a-fA-F]{2}")
_UNICODE_ESCAPE = re.compile(r"(?:\\u[0-9a-fA-F]{4}){4,}")
# Words that announce a rot13 / reversed payload ("decode this rot13", "read it backwards"): one pass.
_HINTS = re.compile(r"(rot[ \-_]?13|caesar|\bcipher)|(\brevers|backwards?\b|right[ -]to[ -]left)", re.IGNORECASE)
# The same on a lower-cased ASCII text (where lower-casing is exactly what IGNORECASE does): a
# pattern of lower-case literals skips to their first letters, a case-blind one tries every position.
_HINTS_LOWER = re.compile(_HINTS.pattern)

_MIN_DECODED = 8
_SAMPLE = 4096


@attrs.frozen
class Decoded:
    kind: str
    text: str


def _printable(text: str) -> bool:
    if len(text) < _MIN_DECODED:
        return False
    # A prefix decides: a decoded megabyte of text is text from its first few kilobytes on.
    text = text[:_SAMPLE]
    good = sum(1 for c in text if c.isprintable() or c in "\n\r\t")
    letters = sum(1 for c in text if c.isalpha())
    return good >= 0.9 * len(text) and letters >= 0.4 * len(text)


def _text(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if _printable(text) else None


def _b64(segment: str) -> str | None:
    # A pure-letter word ("Supercalifragilistic") is valid base64 too; real payloads mix classes.
    if segment.isalpha() and (segment.islower() or segment.isupper()):
        return None
    raw = segment.rstrip("=")
    raw += "=" * (-len(raw) % 4)
    try:
        urlsafe = "-" in raw or "_" in raw
        data = base64.urlsafe_b64decode(raw) if urlsafe else base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return None
    return _text(data)


def _hex(segment: str) -> str | None:
    digits = _HEX_NOISE.sub("", segment)
    if len(digits) % 2:
        digits = digits[:-1]
    try:
        return _text(bytes.fromhex(digits))
    except ValueError:
        return None


def _binary(segment: str) -> str | None:
    bits = segment.replace(" ", "")
    data = bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits) - 7, 8))
    return _text(data)


def decoded_segments(text: str) -> Iterator[Decoded]:
    """Every encoded segment of ``text`` that decodes to readable text."""
    for match in _BASE64.finditer(text):
        got = _b64(match.group())
        if got is not None:
            yield Decoded("base64", got)
    for match in _HEX.finditer(text):
        got = _hex(match.group())
        if got is not None:
            yield Decoded("hex", got)
    if "0" in text and "1" in text:
        for match in _BINARY.finditer(text):
            got = _binary(match.group())
            if got is not None:
                yield Decoded("binary", got)
    if "%" in text and len(_PERCENT.findall(text, 0, 4096)) >= 3:
        try:
            got = unquote(text, errors="strict")
        except UnicodeDecodeError:
            got = ""
        if _printable(got):
            yield Decoded("url_encoding", got)
    if "\\u" in text:
        for match in _UNICODE_ESCAPE.finditer(text):
            got = match.group().encode("ascii").decode("unicode_escape")
            if _printable(got):
                yield Decoded("unicode_escape", got)
    found = _HINTS_LOWER.finditer(text.lower()) if text.isascii() else _HINTS.finditer(text)
    hints = {("rot13" if m.group(1) else "reversed") for m in found}
    if "rot13" in hints:
        yield Decoded("rot13", codecs.encode(text, "rot13"))
    if "reversed" in hints:
        yield Decoded("reversed", text[::-1])

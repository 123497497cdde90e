"""Undo the tricks that hide personal data from a pattern but not from a reader, keeping offsets.

- invisible characters (zero-width space and joiners, soft hyphen, bidi controls, variation
  selectors, Unicode tag characters) are dropped: ``jo\\u200bhn@example.com`` is an address;
- compatibility forms are folded (NFKC, character by character): full-width digits and at signs (U+FF20),
  mathematical and circled letters and digits become ASCII;
- base64 runs are decoded (``base64_runs``) so the analyzer can read what they carry.

``fold`` returns the folded text and, for each of its characters, the index of the original
character it came from, so an entity found in the folded text redacts the original span: the
invisible characters inside it included.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from collections.abc import Iterator

import attrs

# The same set of characters keeptrust-guard's normaliser removes.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e007f\U000e0100-\U000e01ef]"
)


@attrs.frozen
class Folded:
    text: str
    # origin[i] is the index in the original text of folded character i; origin[len] == len(original).
    origin: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of folded ``[start, end)``."""
        if end <= start:
            return self.origin[start], self.origin[start]
        return self.origin[start], self.origin[end - 1] + 1


def fold(text: str) -> Folded | None:
    """The folded text with its offset map, or None when folding changes nothing (plain ASCII,
    ordinary accented letters)."""
    if text.isascii():
        return None
    out: list[str] = []
    origin: list[int] = []
    changed = False
    for i, ch in enumerate(text):
        if ch.isascii():
            out.append(ch)
            origin.append(i)
            continue
        if _INVISIBLE.match(ch):
            changed = True
            continue
        folded = unicodedata.normalize("NFKC", ch)
        if folded != ch and unicodedata.normalize("NFC", ch) == ch:
            changed = True
        else:
            folded = ch  # keep precomposed letters as they are; only compatibility forms fold
        out.extend(folded)
        origin.extend([i] * len(folded))
    if not changed:
        return None
    origin.append(len(text))
    return Folded("".join(out), tuple(origin))


# A run of base64 long enough to hold an e-mail address or a card number, padded or not.
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{16,4096}={0,2}(?![A-Za-z0-9+/=])")
_PRINTABLE = re.compile(r"[\t\n\r\x20-\x7e\u00a0-\uffff]*")
MAX_RUNS = 64  # per text: the decoded runs are analysed too, so their number is bounded


def base64_runs(text: str) -> Iterator[tuple[int, int, str]]:
    """``(start, end, decoded)`` for each run of base64 in ``text`` that decodes to readable text."""
    seen = 0
    for match in _BASE64.finditer(text):
        run = match.group()
        if run.isalpha() or run.isdigit():  # a long word or number, not an encoding
            continue
        try:
            raw = base64.b64decode(run + "=" * (-len(run) % 4), validate=True)
            decoded = raw.decode("utf-8")
        except (binascii.Error, ValueError):
            continue
        if len(decoded) < 6 or not _PRINTABLE.fullmatch(decoded):
            continue
        yield match.start(), match.end(), decoded
        seen += 1
        if seen >= MAX_RUNS:
            return

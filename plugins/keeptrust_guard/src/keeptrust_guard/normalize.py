# ruff: noqa: RUF001 - the look-alike table is made of confusable letters on purpose.
"""Text normalisation: undo the tricks that make an attack unreadable to a pattern but readable to a
model (Unicode look-alikes, invisible characters, spacing, leetspeak), producing *views* of a text
that the signal tables are written against.

Two views matter:

- ``plain``: NFKC, invisible characters removed, Unicode "tag" characters decoded, case folded,
  whitespace collapsed. Scripts are kept, so the Cyrillic, CJK, Arabic ... signals run on it.
- ``skeleton``: ``plain`` with accents stripped, look-alike letters from other scripts mapped to
  Latin, letter-by-letter spacing joined and leetspeak undone inside words. The Latin-script
  signals (English, French, Spanish, German ...) run on it.

Every step is a single linear pass (``str.translate`` or a regex without nested quantifiers).
"""

from __future__ import annotations

import re
import unicodedata

import attrs

# Zero-width, joiners, bidi controls, soft hyphen, variation selectors, Hangul fillers: characters a
# model reads through but a pattern stops at.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e001f\U000e007f-\U000e01ef]"
)
# Unicode "tag" characters mirror ASCII (U+E0041 is an invisible 'A'): the "ASCII smuggling" trick.
_TAGS = re.compile("[\U000e0020-\U000e007e]+")
_BIDI_OVERRIDE = "\u202e"
# Whitespace keeps its shape in three sizes: a newline (sentence and markup boundaries), a double
# space (the gap between words spelt out letter by letter) and a space.
_BLANK_RUN = re.compile(r"[^\S\n]{2,}")
_BLANK = re.compile(r"[^\S\n ]")
_NEWLINES = re.compile(r"\n\s*")
_DOUBLE_SPACE = re.compile(r" {2,}")

# Letters of other scripts (and small capitals, IPA) that render like Latin ones. Only for the
# skeleton view, so a Russian sentence is still matched as Russian on the plain view.
_CONFUSABLES = str.maketrans({
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "з": "3", "і": "i", "ї": "i", "ј": "j", "к": "k", "м": "m",
    "н": "h", "о": "o", "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "ԁ": "d", "һ": "h",
    "ԛ": "q", "ԝ": "w", "ɡ": "g", "ӏ": "l", "ո": "n", "ս": "u",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "γ": "y", "ϲ": "c", "ω": "w",
    # Small capitals and IPA letters NFKC leaves alone
    "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ꜰ": "f", "ɢ": "g", "ʜ": "h", "ɪ": "i", "ᴊ": "j",
    "ᴋ": "k", "ʟ": "l", "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ʀ": "r", "ꜱ": "s", "ᴛ": "t", "ᴜ": "u",
    "ᴠ": "v", "ᴡ": "w", "ʏ": "y", "ᴢ": "z", "ı": "i", "ɩ": "i", "ɑ": "a", "ɒ": "a", "ɔ": "c", "ǝ": "e",
})
# Regional-indicator and enclosed letters that NFKC does not fold.
_REGIONAL = {chr(0x1F1E6 + i): chr(ord("a") + i) for i in range(26)}
_CONFUSABLES.update({ord(k): v for k, v in _REGIONAL.items()})

# Leetspeak, applied only inside tokens that also hold letters, so "10 tips" stays "10 tips".
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
                       "@": "a", "$": "s", "€": "e", "£": "l"})
# Starts only at a token start, so a long run of letters is scanned once, not once per letter.
_LEET_TOKEN = re.compile(r"(?<![a-z0-9@$€£])[a-z]*[0-9@$€£][a-z0-9@$€£]*")
_HAS_LEET = re.compile(r"[0-9@$€£]")
_LEET_PUNCT = re.compile(r"(?<=[a-z])[!|](?=[a-z])")
_HAS_LETTER = re.compile(r"[a-z]")

# Letter-by-letter spacing: "i g n o r e", "i.g.n.o.r.e", "i-g-n-o-r-e" (3+ single characters). No
# look-ahead at the end: with one, a long spaced run ending in a word would be rescanned from every
# letter (quadratic); without, each run is matched once.
_SPACED = re.compile(r"(?<![a-z0-9])(?:[a-z0-9@$][ .\-_*·•,/\\|+~:]){2,}[a-z0-9@$]")
# Punctuation inside a word ("ig.nore", "dis-regard", "in_structions").
# A dot before a common top-level domain stays, so addresses keep their shape for the exfiltration signals.
_INTRA_PUNCT = re.compile(r"(?<=[a-z])(?:[\-_·]|\.(?!(?:com|net|org|io|ru|xyz|example|co|uk|de|info|biz|app|dev|ai)\b))"
                          r"(?=[a-z])")
_SPACED_SEPARATORS = re.compile(r"[ .\-_*·•,/\\|+~:]")
_NOT_LETTER = re.compile(r"[^a-z]+")


@attrs.frozen
class Views:
    """The normalised forms of one text. ``tricks`` names the obfuscations that were undone."""

    plain: str
    skeleton: str
    compact: str | None  # letters only, when letter spacing was found ("ignoreallprevious...")
    reversed: str | None  # the skeleton read backwards, when a right-to-left override was found
    tricks: frozenset[str]


def _strip_accents(text: str) -> str:
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _unleet(match: re.Match[str]) -> str:
    token = match.group()
    if token.isalpha() or not _HAS_LETTER.search(token):
        return token
    if 0 < token.find("@") < len(token) - 1 and match.string.startswith(".", match.end()):
        return token  # an e-mail address, not "h@ck"
    return token.translate(_LEET)


def plain_view(text: str) -> tuple[str, set[str]]:
    """NFKC, invisible characters out, tag characters decoded, case folded, blanks normalised."""
    tricks: set[str] = set()
    if not text.isascii():
        if _TAGS.search(text):
            tricks.add("tag_characters")
            text = _TAGS.sub(lambda m: "".join(chr(ord(c) - 0xE0000) for c in m.group()), text)
        if _BIDI_OVERRIDE in text:
            tricks.add("bidi_override")
        stripped = _INVISIBLE.sub("", text)
        if len(stripped) != len(text):
            tricks.add("invisible_characters")
        text = unicodedata.normalize("NFKC", stripped)
    text = _NEWLINES.sub("\n", _BLANK.sub(" ", _BLANK_RUN.sub("  ", text.casefold())))
    return text, tricks


def views(text: str) -> Views:
    plain, tricks = plain_view(text)
    skeleton = plain
    if not skeleton.isascii():
        skeleton = _strip_accents(skeleton)
        mapped = skeleton.translate(_CONFUSABLES)
        if mapped != skeleton and _mixed_script(skeleton):
            tricks.add("homoglyphs")
        skeleton = mapped
    compact = None
    if _SPACED.search(skeleton):
        tricks.add("letter_spacing")
        skeleton = _SPACED.sub(lambda m: _SPACED_SEPARATORS.sub("", m.group()), skeleton)
        compact = _NOT_LETTER.sub("", skeleton.translate(_LEET))
    if "  " in skeleton:
        skeleton = _DOUBLE_SPACE.sub(" ", skeleton)
    if _HAS_LEET.search(skeleton) or "!" in skeleton or "|" in skeleton:
        unleeted = _LEET_PUNCT.sub("i", _LEET_TOKEN.sub(_unleet, skeleton))
        if unleeted != skeleton:
            tricks.add("leetspeak")
            skeleton = unleeted
    skeleton = _INTRA_PUNCT.sub("", skeleton)
    backwards = skeleton[::-1] if "bidi_override" in tricks else None
    return Views(plain, skeleton, compact, backwards, frozenset(tricks))


def _mixed_script(text: str) -> bool:
    """True when some word mixes Latin letters with look-alikes: the homoglyph trick, not a
    Russian or Greek sentence."""
    for word in text.split():
        if word.isascii():
            continue
        has_latin = any("a" <= c <= "z" for c in word)
        has_other = any(ord(c) > 0x24F and c.isalpha() for c in word)
        if has_latin and has_other:
            return True
    return False

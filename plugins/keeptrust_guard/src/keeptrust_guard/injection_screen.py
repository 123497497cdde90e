"""The cheap first look of the ``fast`` cascade: does a user turn need the injection heuristics?

The heuristics (``heuristic.py``) cost milliseconds on a long message, mostly in pattern searches
that find nothing; the trained head costs a fraction of that and reads plain-language attacks as
well. What the head cannot read is text made unreadable to a bag of words: encodings, look-alike
and invisible characters, letters spelt apart, leetspeak, scripts it was not trained on. This
screen finds the *signs* of those in one linear pass; a text that shows none of them, and that the
head finds unremarkable, is cleared without the heuristics (``ensemble.py``).
"""

from __future__ import annotations

import re

# Each pattern is one alternation whose branches are character classes with a bounded or single
# repetition, so the scan is linear in the text (a megabyte costs milliseconds).
# Any character outside ASCII, Latin-1 punctuation and symbols, typographic punctuation, currency,
# letter-like symbols, arrows, box drawing and emoji: accented and non-Latin letters (other
# languages), look-alikes, full-width and mathematical letters, invisible and tag characters.
_UNUSUAL = re.compile(
    "[^\x00-\x7f\u00a0-\u00ac\u00ae-\u00bf\u00d7\u00f7\u2010-\u2027\u2030-\u205e\u20a0-\u20cf"
    "\u2100-\u214f\u2190-\u2bff\U0001f300-\U0001faff]"
)
_SIGNS = re.compile(
    # base64 / URL-safe base64 runs, hex, binary, percent and \u / \x escapes
    r"[A-Za-z0-9+/_\-]{24,}|(?:[0-9a-fA-F]{2}[ ,:]?){12,}|(?:[01]{8} ?){4}|%[0-9a-fA-F]{2}|\\[ux][0-9a-fA-F]{2}"
    # letters spelt apart ("i g n o r e", "i.g.n.o.r.e") and digits inside words ("1gn0re", "pr3vious")
    r"|\b[A-Za-z][ .\-_*][A-Za-z][ .\-_*][A-Za-z][ .\-_*][A-Za-z]\b|[A-Za-z][013457$][A-Za-z]"
)
# Words that announce an encoded or reversed payload, read on the lower-cased text: a case-blind
# pattern tries every position, a pattern of lower-case literals skips to their first letters.
# (Lower-casing reads these words as ``re.IGNORECASE`` would on every text ``_UNUSUAL`` lets through:
# of its allowed characters only the Kelvin sign has an ASCII lower case, "k".)
_ANNOUNCED = re.compile(r"rot[ _\-]?13|caesar|cipher|revers|backwards|right[ \-]to[ \-]left|base ?64|decode|encoded")


def needs_heuristics(text: str) -> bool:
    """Whether ``text`` shows a sign that only the heuristics can read."""
    if not text.isascii() and _UNUSUAL.search(text):
        return True
    return _SIGNS.search(text) is not None or _ANNOUNCED.search(text.lower()) is not None

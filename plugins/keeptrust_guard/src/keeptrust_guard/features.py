"""Text features of the trained classifiers, in plain Python (a message costs tens of microseconds;
scikit-learn's vectorizers cost milliseconds a call in validation overhead alone).

``injection_terms`` is the analyzer of the injection head: word unigrams and bigrams plus the
cross-language concept terms of ``injection_concepts``. The training script (``eval/train_heads.py``)
hands it to scikit-learn's ``TfidfVectorizer`` and the detector calls it at run time, so the head
sees exactly the terms it was trained on. ``not_english`` tells a text in another language from
English by its function words, for the ``accurate`` profile's injection head.
"""

from __future__ import annotations

import functools
import math
import re
from itertools import pairwise

from keeptrust_guard.injection_concepts import concepts

WORDS = re.compile(r"\w+")
# E-mail addresses and URLs are left out: the training attacks send data to addresses and the benign
# rows rarely hold one, so the head learnt an address (its placeholder domain ``example.com``, or
# one ``_email_`` token for any address) as evidence of exfiltration, and flagged a user's "Write
# to jane.roe@example.com". Whether sending data somewhere is an attack is the heuristics' call.
ADDRESSES = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\b(?:https?://|www\.)\S+")


_ADDRESSES_ANY_CASE = re.compile(ADDRESSES.pattern, re.IGNORECASE)


def _may_hold_address(low: str) -> bool:
    """Whether a lower-cased text holds "@", "://" or "www.", which every address match holds: the
    pattern tries a run of word characters at every position, so the other texts skip it."""
    return "@" in low or "://" in low or "www." in low


def blank_addresses(text: str) -> str:
    """The text with its e-mail addresses and URLs blanked out, its case kept: what the accurate
    profile's injection encoder reads. Like the heads' terms, the encoder's head must not take an
    address as evidence: the attacks that send data to one taught it "send it to an address", and
    it read "Write to jane.roe@example.com" as exfiltration."""
    return _ADDRESSES_ANY_CASE.sub(" ", text) if _may_hold_address(text.lower()) else text


# The heads read each text several times (its words, its character n-grams, its terms, the language
# rule), and the address pattern is most of what that costs on a text holding "@": the last texts'
# readings are kept, for texts up to the length the detectors give the heads.
_KEPT_CHARS = 8_192


def _without_addresses(text: str) -> str:
    """The lower-cased text with its e-mail addresses and URLs blanked out."""
    return _kept_without_addresses(text) if len(text) <= _KEPT_CHARS else _blank_lower(text)


def _blank_lower(text: str) -> str:
    low = text.lower()
    return ADDRESSES.sub(" ", low) if _may_hold_address(low) else low


_kept_without_addresses = functools.lru_cache(maxsize=32)(_blank_lower)


def words(text: str) -> list[str]:
    """The lower-cased words of a text, without its e-mail addresses and URLs."""
    return WORDS.findall(_without_addresses(text))


# Character n-grams of these lengths inside each whitespace-separated token.
CHAR_N = (3, 4)


def char_tokens(text: str) -> list[str]:
    """The whitespace-separated tokens of the lower-cased text, e-mail addresses and URLs left out (as
    in ``words``)."""
    return _without_addresses(text).split()


def token_char_grams(token: str) -> tuple[str, ...]:
    """The character 3- and 4-grams of ``token`` padded with a space on each side; a token shorter
    than a length gives its whole padded self once (scikit-learn's ``char_wb``)."""
    padded = f" {token} "
    out: list[str] = []
    for n in CHAR_N:
        out += [padded[i : i + n] for i in range(max(1, len(padded) - n + 1))]
        if len(padded) <= n:
            break
    return tuple(out)


def char_terms(text: str) -> list[str]:
    """The character n-grams of every token of ``text`` (``char_tokens``, ``token_char_grams``):
    scikit-learn's ``char_wb`` analyzer. Unlike words they keep punctuation and markup ("[INST]",
    "###", "{{") and the stems of word forms never seen whole."""
    return [gram for token in char_tokens(text) for gram in token_char_grams(token)]


# English function words that are not also common words of another language written in Latin
# letters (``SHARED_FUNCTION_WORDS``), so a text in those languages has none of them.
# fmt: off
ENGLISH_FUNCTION_WORDS = frozenset((
    "the", "and", "with", "from", "that", "this", "these", "those", "there", "here", "are", "were", "been",
    "being", "does", "did", "have", "has", "had", "would", "shall", "should", "could", "might", "must", "not",
    "it", "you", "your", "yours", "him", "his", "she", "they", "them", "their", "what", "which", "who", "whom",
    "whose", "when", "where", "why", "how", "any", "some", "every", "just", "also", "very", "only", "out",
    "after", "before", "because", "while", "please", "about", "than", "into", "our", "ours", "if", "then",
    "but", "or", "can", "be",
))
# English function words that other languages use too: "a", "in", "an", "am", "was", "will", "so",
# "is" (German, Dutch), "no", "me", "do", "as", "on" (Romance languages), "to", "my", "by", "we"
# (Czech, Polish), "at", "for", "her" (Scandinavian, Turkish), "i" (Italian), "of", "over" (Dutch).
SHARED_FUNCTION_WORDS = frozenset((
    "a", "an", "in", "am", "was", "will", "so", "is", "no", "me", "do", "as", "on", "to", "my", "by", "at",
    "for", "i", "of", "over", "we", "her",
))
# fmt: on


def english_share(text_words: list[str], vocabulary: frozenset[str] = ENGLISH_FUNCTION_WORDS) -> float:
    """The share of ``text_words`` in ``vocabulary``: English function words are about a quarter of
    English prose and none of most texts in other languages."""
    if not text_words:
        return 0.0
    return sum(w in vocabulary for w in text_words) / len(text_words)


_ANY_FUNCTION_WORD = ENGLISH_FUNCTION_WORDS | SHARED_FUNCTION_WORDS


# Scripts written without spaces between words (Han, Hiragana, Katakana, Thai): one "word" of
# ``WORDS`` is a whole clause there.
_SPACELESS = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")


def word_count(text_words: list[str]) -> int:
    """The number of words, counting two characters of a script written without spaces as one."""
    if not any(_SPACELESS.search(w) for w in text_words if not w.isascii()):
        return len(text_words)
    return sum(max(1, len(_SPACELESS.findall(w)) // 2) for w in text_words)


def not_english(text_words: list[str], min_words: int, max_english_share: float) -> bool:
    """Whether a text of at least ``min_words`` words (``word_count``) is in another language: under
    ``max_english_share`` of its words are English function words, and either it has a letter
    outside ASCII (accents, another script) or it also lacks the function words English shares with
    other languages. An English request terse enough to have none of the first ("Write a short story
    for kids") still has the second, and no accent."""
    if word_count(text_words) < min_words or english_share(text_words) >= max_english_share:
        return False
    return not all(w.isascii() for w in text_words) or english_share(text_words, _ANY_FUNCTION_WORD) < max_english_share


def injection_terms_of(text_words: list[str]) -> list[str]:
    """Word unigrams and bigrams of ``text_words``, then their concept terms (``~ignore``)."""
    return [*text_words, *(f"{a} {b}" for a, b in pairwise(text_words)), *concepts(text_words)]


def injection_terms(text: str) -> list[str]:
    """The injection head's terms of a text (its analyzer in training)."""
    return injection_terms_of(words(text))


def sigmoid(z: float) -> float:
    if z < -40.0:
        return 0.0
    return 1.0 / (1.0 + math.exp(-z))

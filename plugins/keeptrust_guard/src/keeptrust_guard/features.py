"""Text features of the trained classifiers, in plain Python (a message costs tens of microseconds;
scikit-learn's vectorizers cost milliseconds a call in validation overhead alone).

``injection_terms`` is the analyzer of the injection head: word unigrams and bigrams plus the
cross-language concept terms of ``injection_concepts``. The training script (``eval/train_heads.py``)
hands it to scikit-learn's ``TfidfVectorizer`` and the detector calls it at run time, so the head
sees exactly the terms it was trained on.
"""

from __future__ import annotations

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


def words(text: str) -> list[str]:
    """The lower-cased words of a text, without its e-mail addresses and URLs."""
    return WORDS.findall(ADDRESSES.sub(" ", text.lower()))


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

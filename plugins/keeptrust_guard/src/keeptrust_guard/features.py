"""Text features of the trained classifiers, in plain Python (a message costs tens of microseconds;
scikit-learn's vectorizers cost milliseconds a call in validation overhead alone).

``word_grams`` is the analyzer of the injection head: the training script (``eval/train_heads.py``)
hands it to scikit-learn's ``TfidfVectorizer`` and the detector calls it at run time, so the head
sees exactly the terms it was trained on.
"""

from __future__ import annotations

import math
import re
from itertools import pairwise

WORDS = re.compile(r"\w+")


def word_grams(text: str) -> list[str]:
    """Lower-cased word unigrams and bigrams ("ignore", "ignore all"), in text order."""
    words = WORDS.findall(text.lower())
    return [*words, *(f"{a} {b}" for a, b in pairwise(words))]


def sigmoid(z: float) -> float:
    if z < -40.0:
        return 0.0
    return 1.0 / (1.0 + math.exp(-z))

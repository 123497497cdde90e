"""Text features of the trained classifiers, in plain Python (a message costs tens of microseconds;
scikit-learn's vectorizers cost milliseconds a call in validation overhead alone).

``hashed_ngrams`` is shared by the training script (``eval/train_heads.py``) and the detector, so the
head sees at run time exactly the features it was trained on.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from itertools import pairwise
from zlib import crc32

WORDS = re.compile(r"\w+")


def hashed_ngrams(text: str, n_features: int) -> dict[int, float]:
    """Lower-cased word unigrams and bigrams, hashed (CRC-32) into ``n_features`` buckets and
    L2-normalised."""
    words = WORDS.findall(text.lower())
    grams = Counter(words)
    grams.update(f"{a} {b}" for a, b in pairwise(words))
    out: dict[int, float] = {}
    for gram, count in grams.items():
        index = crc32(gram.encode("utf-8")) % n_features
        out[index] = out.get(index, 0.0) + count
    norm = math.sqrt(sum(v * v for v in out.values())) or 1.0
    return {i: v / norm for i, v in out.items()}


def sigmoid(z: float) -> float:
    if z < -40.0:
        return 0.0
    return 1.0 / (1.0 + math.exp(-z))

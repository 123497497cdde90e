"""The toxicity head: a multi-label linear classifier over hashed word and character n-grams that
ships in this package (``models/toxicity-head.npz``, plain arrays, no pickle; provenance and
licences in ``models/toxicity-head.json``), trained by ``eval/train_toxicity.py``.

One weight column per category (``toxicity``, ``hate_speech``, ``harassment``, ``violence``,
``self_harm``, ``sexual``). Features are word unigrams and bigrams plus character 4-grams inside
words (so "idiots", "idiotic" and "id1ot" share evidence with "idiot"), and each word's *clusters*
(``models/toxicity-clusters.npz``): the row of its static word vector in spaCy's
``en_core_web_md`` 3.7.1 (20,000 vectors shared by 130k lower-case words: "dimwit", "doofus" and
"dolt" have one row) and that row's k-means cluster at 500 and 2,000 clusters. A word the
training rows never held still carries the evidence of its cluster. All are hashed with CRC-32 and
L2-normalised. Hashing is plain Python (a 200-token message costs a few hundred microseconds); the
dot product is one NumPy gather. The ``accurate`` profile's twin (``models/toxicity-head-accurate.*``,
trained by ``eval/train_accurate.py``) also weighs the text's sentence embedding.
"""

from __future__ import annotations

import json
import math
import re
from array import array
from bisect import bisect_left
from collections import Counter
from importlib import resources
from itertools import pairwise
from typing import Any
from zlib import crc32

from keeptrust_guard.classifiers import Perceptron, ScoreScale, logit_mean, require
from keeptrust_guard.features import sigmoid
from keeptrust_guard.token_cache import CACHED_TOKEN_CHARS, token_cache

CATEGORIES = ("toxicity", "hate_speech", "harassment", "violence", "self_harm", "sexual")
_WORDS = re.compile(r"[^\W_]+")
# Leetspeak inside words with letters ("id1ot", "sh1t"); digits alone stay numbers.
_LEET = str.maketrans("013457@$", "oieastas")
_HAS_ALPHA = re.compile(r"[a-z]")
CHAR_N = 4


def words(text: str) -> list[str]:
    out = []
    for word in _WORDS.findall(text.lower()):
        if not word.isalpha() and _HAS_ALPHA.search(word):
            word = word.translate(_LEET)
        out.append(word)
    return out


class WordClusters:
    """Word -> the ids of its clusters, one per level (vector row, k-means 500, k-means 2000).

    Stored as the sorted CRC-32 of each word and its ids (``toxicity-clusters.npz``, plain arrays),
    held in compact ``array`` buffers (1 MB for 130k words) and read with ``bisect``: a NumPy search
    per word costs more than the search itself. Two words with one CRC share clusters in training
    and at run time alike."""

    def __init__(self, keys: Any, ids: Any, levels: tuple[str, ...]) -> None:
        self.keys = array("I")
        assert self.keys.itemsize == 4
        self.keys.frombytes(keys.astype("=u4").tobytes())
        self.ids = array("H")
        self.ids.frombytes(ids.astype("=u2").tobytes())
        self.levels = levels
        self._n = len(self.keys)

    @classmethod
    def shipped(cls, np: Any) -> WordClusters:
        with (resources.files("keeptrust_guard") / "models" / "toxicity-clusters.npz").open("rb") as fh:
            data = np.load(fh, allow_pickle=False)
            return cls(data["keys"], data["ids"], tuple(str(x) for x in data["levels"]))

    def of(self, word: str) -> tuple[str, ...]:
        """The cluster features of ``word`` ("@row:123", ...), empty for a word without a vector."""
        key = crc32(word.encode("utf-8"))
        i = bisect_left(self.keys, key)
        if i >= self._n or self.keys[i] != key:
            return ()
        width = len(self.levels)
        ids = self.ids[i * width : (i + 1) * width]
        return tuple(f"@{level}:{c}" for level, c in zip(self.levels, ids, strict=True))


def _word_features(word: str, n_features: int, clusters: WordClusters | None) -> array:
    """A word's own features: itself, its character n-grams, its clusters. A machine-integer array
    takes a third of the memory of a tuple of ints, and a message's arrays join with a copy of
    their bytes."""
    grams = [word]
    if len(word) >= CHAR_N:
        padded = f"<{word}>"
        grams += ["#" + padded[i : i + CHAR_N] for i in range(len(padded) - CHAR_N + 1)]
    if clusters is not None:
        grams += clusters.of(word)
    return array("q", [crc32(g.encode("utf-8")) % n_features for g in grams])


# They depend on the word alone, so a message costs a look-up per recurring word.
_cached_word_features = token_cache(_word_features)


def indices(tokens: list[str], n_features: int, clusters: WordClusters | None = None) -> array:
    """The hashed feature of every word 1-gram, 2-gram, in-word character 4-gram and word cluster,
    repeats kept (64-bit integers)."""
    out = array("q")
    extend = out.extend
    for word in tokens:
        if len(word) <= CACHED_TOKEN_CHARS:
            extend(_cached_word_features(word, n_features, clusters))
        else:
            extend(_word_features(word, n_features, clusters))
    extend([crc32(f"{a} {b}".encode()) % n_features for a, b in pairwise(tokens)])
    return out


def features(text: str, n_features: int, clusters: WordClusters | None = None) -> dict[int, float]:
    """Hashed, L2-normalised counts of word 1-2-grams, in-word character 4-grams and word clusters
    (the training script's view; the head computes the same with NumPy)."""
    counts = Counter(indices(words(text), n_features, clusters))
    norm = math.sqrt(sum(v * v for v in counts.values())) or 1.0
    return {i: v / norm for i, v in counts.items()}


class ToxicityHead:
    """Per-category probabilities of harmful content."""

    # Below this many words a bag of n-grams says little ("you?", "kill -9"): evidence is shrunk.
    FULL_WORDS = 4

    def __init__(self, path: str, model: str = "toxicity-head") -> None:
        self.np = np = require("numpy", path)
        folder = resources.files("keeptrust_guard") / "models"
        self.meta: dict[str, Any] = json.loads((folder / f"{model}.json").read_text())
        self.n_features = int(self.meta["features"]["n_features"])
        self.categories: tuple[str, ...] = tuple(self.meta["categories"])
        with (folder / f"{model}.npz").open("rb") as fh:
            data = np.load(fh, allow_pickle=False)
            self.weights = np.zeros((self.n_features, len(self.categories)), dtype=np.float32)
            self.weights[data["indices"]] = data["weights"].astype(np.float32)
            self.intercepts = data["intercepts"].astype(np.float64)
            # The accurate profile's head also weighs the sentence embedding (``sentence_encoder.py``),
            # and for some categories reads it through a perceptron of its own.
            self.embedding_weights = (
                data["embedding_weights"].astype(np.float64) if "embedding_weights" in data.files else None
            )
            self.perceptrons = {
                c: Perceptron(np, data, f"{c}_") for c in self.categories if f"{c}_hidden_weights" in data.files
            }
        self.scales = {c: ScoreScale(self.meta["anchors"][c]) for c in self.categories}
        self.clusters = WordClusters.shipped(np) if self.meta["features"].get("word_clusters") else None

    def probabilities(
        self, text: str, embedding: Any = None, fast: dict[str, float] | None = None
    ) -> dict[str, float]:
        """``embedding``: the text's sentence embedding, for a head trained with one. A category with
        a perceptron takes the mean of its log-odds and those of ``fast``, the fast head's
        probabilities of the same text (as the accurate injection profile joins its two heads)."""
        np = self.np
        tokens = words(text)
        found = indices(tokens, self.n_features, self.clusters)
        if found:
            index, counts = np.unique(np.frombuffer(found, dtype=np.int64), return_counts=True)
            values = counts.astype(np.float32)
            values /= np.sqrt(values @ values)
            evidence = (values @ self.weights[index]).astype(np.float64)
        else:
            evidence = np.zeros(len(self.categories))
        if embedding is not None and self.embedding_weights is not None:
            evidence = evidence + embedding @ self.embedding_weights
        if len(tokens) < self.FULL_WORDS:
            evidence = evidence * (len(tokens) / self.FULL_WORDS)
        logits = self.intercepts + evidence
        found = {c: sigmoid(float(z)) for c, z in zip(self.categories, logits, strict=True)}
        if embedding is not None and fast is not None:
            shrink = min(1.0, len(tokens) / self.FULL_WORDS)
            for c, perceptron in self.perceptrons.items():
                found[c] = logit_mean(fast[c], sigmoid(perceptron.logit(embedding) * shrink))
        return found

    def scores(self, text: str) -> dict[str, float]:
        """Probabilities mapped onto the policy scale (each sensitivity's anchor is its threshold)."""
        return {c: self.scales[c](p) for c, p in self.probabilities(text).items()}

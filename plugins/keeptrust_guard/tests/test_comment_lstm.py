"""The toxic-comment LSTM: its NumPy forward pass against the original model's published outputs,
how it reads long texts, and its place in the ensemble (behind a gate, deciding where it reads more)."""

from __future__ import annotations

import hashlib
import logging
import threading
from importlib import resources

import pytest

from keeptrust_guard import ensemble
from keeptrust_guard.comment_lstm import LABELS, MAX_WINDOWS, STEPS, CommentLSTM
from keeptrust_guard.detection import DetectorSetup, Segment
from keeptrust_guard.ensemble import EnsembleDetector, ModelOptions

CATEGORIES = ("hate_speech", "harassment", "violence", "toxicity")
INSULT = "What a clueless clown, go crawl back under your rock."


@pytest.fixture(scope="module")
def lstm() -> CommentLSTM:
    return CommentLSTM("test")


def _detector() -> EnsembleDetector:
    setup = DetectorSetup("test", "content", CATEGORIES, logging.getLogger("test"), "test")  # type: ignore[arg-type]
    return EnsembleDetector(ModelOptions(), setup)


def test_reproduces_the_probabilities_the_package_publishes(lstm):
    # toxic-comment-classifier 0.3.0's README prints these for its own Keras model.
    published = {
        "toxic": 0.9889402985572815,
        "severe_toxic": 0.07256772369146347,
        "obscene": 0.620429277420044,
        "threat": 0.01934845559298992,
        "insult": 0.8664075136184692,
        "identity_hate": 0.04072948172688484,
    }
    assert lstm.probabilities("You are so dumb and stupid!") == pytest.approx(published, abs=1e-5)


def test_reproduces_keras_on_the_recorded_texts(lstm):
    recorded = lstm.meta["reference_probabilities"]["texts"]
    assert len(recorded) >= 4
    for text, expected in recorded.items():
        assert list(lstm.probabilities(text).values()) == pytest.approx(expected, abs=1e-5), text


def test_shipped_weights_are_the_converted_ones(lstm):
    data = (resources.files("keeptrust_guard") / "models" / "toxic-comment-lstm.npz").read_bytes()
    assert hashlib.sha256(data).hexdigest() == lstm.meta["weights_sha256"]
    assert "Md Irfan Ali" in lstm.meta["source"]["notice"]
    assert set(lstm.categories) <= set(LABELS)
    assert set(lstm.scales) == set(lstm.categories)


def test_an_insult_at_the_start_of_a_long_text_is_read(lstm):
    # The original model reads the last 100 words only; windows read all of them.
    filler = " ".join(["the committee reviewed the quarterly budget and the schedule for spring"] * 40)
    text = f"{INSULT} {filler}"
    assert len(lstm.ids(text)) > 3 * STEPS
    assert lstm.probabilities(text)["toxic"] == pytest.approx(lstm.probabilities(INSULT)["toxic"], abs=0.1)
    assert lstm.probabilities(filler)["toxic"] < 0.1


def test_each_sentence_is_read_on_its_own(lstm):
    # Trained on single comments, the model dilutes an insult among other sentences: each sentence
    # of a text is read apart, beside the whole.
    calm = "The committee reviewed the quarterly budget and the schedule for spring."
    alone = lstm.probabilities(INSULT)["toxic"]
    assert lstm.forward([lstm.ids(f"{INSULT} {calm}")])[0][0] < 0.6 * alone
    assert lstm.probabilities(f"{INSULT} {calm}")["toxic"] == pytest.approx(alone, abs=1e-6)
    assert lstm.probabilities(f"{calm}\n{INSULT}")["toxic"] == pytest.approx(alone, abs=1e-6)


def test_rows_of_one_batch_read_as_alone(lstm):
    texts = [INSULT, "Thanks!", "", "You are so dumb and stupid! " * 30]
    rows = [lstm.ids(t)[-STEPS:] for t in texts]
    batch = lstm.forward(rows)
    for row, got in zip(rows, batch, strict=True):
        assert list(got) == pytest.approx(list(lstm.forward([row])[0]), abs=1e-6)


def test_rows_are_bounded_whatever_the_length(lstm):
    text = "You are a moron. " * 60_000  # 1 MiB of sentences
    rows = lstm.windows(text)
    assert len(rows) <= MAX_WINDOWS
    assert all(0 < len(r) <= STEPS for r in rows)
    long_sentence = lstm.windows("you are a moron " * 250_000)
    assert len(long_sentence) <= MAX_WINDOWS and all(len(r) == STEPS for r in long_sentence)
    assert lstm.windows("") == [[]]
    assert lstm.probabilities("")["toxic"] < 0.1
    assert lstm.probabilities("%%% ### ...") == lstm.probabilities("")


def test_ordinary_texts_never_reach_the_lstm(monkeypatch):
    det = _detector()
    read: list[str] = []
    original = det.comment_lstm.probabilities
    monkeypatch.setattr(det.comment_lstm, "probabilities", lambda text: read.append(text) or original(text))
    for text in (
        "Could you suggest a three-day itinerary for Lisbon with good seafood restaurants?",
        "How do I kill a Python process that ignores SIGTERM?",
        "My grandmother's recipe calls for two cups of flour and a pinch of salt.",
    ):
        assert all(f.score < 0.4 for f in det.scan([Segment(text)]).findings)
    assert read == []
    det.scan([Segment(INSULT)])
    assert read == [INSULT]


def test_the_lstm_decides_an_insult_the_other_models_score_lower():
    found = _detector().scan([Segment(INSULT)])
    harassment = found.best("harassment")
    assert harassment.score >= 0.6
    assert harassment.signals == ("model:toxic-comment-lstm",)


def test_the_context_dampers_apply_to_the_lstm_too(monkeypatch):
    # Quotation, negation, help-seeking: the heuristics' dampers multiply every model's score,
    # the LSTM's included (it is read before them).
    det = _detector()
    undamped = det.scan([Segment(INSULT)]).best("harassment")
    monkeypatch.setattr(ensemble, "damping", lambda text: {"harassment": 0.5})
    damped = det.scan([Segment(INSULT)]).best("harassment")
    assert undamped.signals == damped.signals == ("model:toxic-comment-lstm",)
    assert damped.score == pytest.approx(undamped.score * 0.5, abs=1e-3)


async def test_long_content_texts_are_scanned_off_the_event_loop(monkeypatch):
    det = _detector()
    threads: list[threading.Thread] = []
    scan = det.scan

    def spy(segments, *args, **kwargs):
        threads.append(threading.current_thread())
        return scan(segments, *args, **kwargs)

    monkeypatch.setattr(det, "scan", spy)
    short = await det.detect([Segment(INSULT)])
    long = await det.detect([Segment(" ".join([INSULT] * 30))])
    assert threads[0] is threading.main_thread()
    assert threads[1] is not threading.main_thread()
    assert short.best("harassment").score == long.best("harassment").score

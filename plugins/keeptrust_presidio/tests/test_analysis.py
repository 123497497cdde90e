"""The analyzer on its own: the trimmed pipeline, the pattern-only path, overlaps and the cache."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from keeptrust import PolicyEnv, RequestContext
from keeptrust_presidio.analysis import Detector, Found, resolve_overlaps
from keeptrust_presidio.config import PiiDetectorConfig
from keeptrust_presidio.policy import PiiDetectorPolicy


def test_only_ner_runs(detector: Detector) -> None:
    assert detector.uses_ner
    assert detector.nlp.pipe_names == ["ner"]


def test_ner_multiplies_through_numpy_on_one_blas_thread(detector: Detector) -> None:
    # blis packs its operands again for every small product (NER costs about a third more with it);
    # a BLAS pool's idle threads would spin on the other cores after each product.
    from thinc.api import NumpyOps
    from threadpoolctl import threadpool_info

    layers = list(detector.nlp.get_pipe("ner").model.walk())
    assert layers and all(isinstance(layer.ops, NumpyOps) and not layer.ops.use_blis for layer in layers)
    blas = [lib for lib in threadpool_info() if lib["user_api"] == "blas"]
    assert blas and all(lib["num_threads"] == 1 for lib in blas)


def test_pattern_entities_skip_the_nlp_pass() -> None:
    lean = Detector(PiiDetectorConfig(entities=["EMAIL_ADDRESS", "CREDIT_CARD", "PHONE_NUMBER"]))
    assert not lean.uses_ner and lean.nlp.pipe_names == []
    text = "John Smith: john@example.com, card 4111 1111 1111 1111, call 020 7946 0958"
    found = lean.analyze([text])[0]
    assert [(f.entity, text[f.start : f.end]) for f in found] == [
        ("EMAIL_ADDRESS", "john@example.com"),
        ("CREDIT_CARD", "4111 1111 1111 1111"),
        ("PHONE_NUMBER", "020 7946 0958"),
    ]


def test_context_word_lifts_a_bare_number(detector: Detector) -> None:
    # A bare digit run scores under the threshold unless a context word is near: that needs the
    # token "lemmas", which the trimmed pipeline derives from the lower-cased tokens.
    assert detector.analyze(["Reference 2079460958 is attached."]) == [[]]
    found = detector.analyze(["Call my mobile 2079460958 after six."])[0]
    assert [f.entity for f in found] == ["PHONE_NUMBER"]


def test_overlaps_keep_the_stronger_longer_span() -> None:
    kept = resolve_overlaps(
        [Found("PHONE_NUMBER", 5, 17, 0.4), Found("CREDIT_CARD", 0, 19, 1.0), Found("PERSON", 25, 35, 0.85)]
    )
    assert kept == [Found("CREDIT_CARD", 0, 19, 1.0), Found("PERSON", 25, 35, 0.85)]


def test_hard_negatives(detector: Detector) -> None:
    texts = [
        "Order #36704660 shipped on 2024-03-15.",
        "txn=4532 7588 1234 5679 settled",  # card-shaped, Luhn-invalid
        "Upgrade from 2.14.1 to 3.0.0-rc.2.",
        "commit 9fceb02d0ae598e95dc970b74767f19372d61af8",
    ]
    assert detector.analyze(texts) == [[], [], [], []]


def test_names_after_an_imperative_verb(detector: Detector) -> None:
    # spaCy's small model misses a name right after a sentence-initial verb; the cue recognizer does not.
    cases = {
        "Call Jane Roe on Monday.": "Jane Roe",
        "Please email Kwame Mensah the contract.": "Kwame Mensah",
        "Ping Priya Patel when done.": "Priya Patel",
    }
    for (text, name), found in zip(cases.items(), detector.analyze(list(cases)), strict=True):
        start = text.index(name)
        covered = any(f.entity == "PERSON" and f.start <= start and start + len(name) <= f.end for f in found)
        assert covered, (text, found)


async def test_repeated_texts_are_analysed_once() -> None:
    policy = PiiDetectorPolicy(
        PiiDetectorConfig(), PolicyEnv(logger=logging.getLogger("t"), registry=None, config=None)
    )
    system = {"role": "system", "content": "You are a helpful assistant for jane@example.com."}

    async def request(user: str) -> dict[str, Any]:
        ctx = RequestContext(
            request_id="r",
            operation="chat",
            endpoint="/v1/chat/completions",
            body={"messages": [dict(system), {"role": "user", "content": user}, {"role": "user", "content": user}]},
        )
        await policy.on_request(ctx)
        return ctx.body

    first = await request("I am Ana Lima.")
    assert policy.cache.misses == 2 and policy.cache.hits == 0  # the duplicate user turn: analysed once
    second = await request("I am Bo Chen.")
    assert policy.cache.hits == 1  # the system prompt
    assert (
        first["messages"][0]["content"]
        == second["messages"][0]["content"]
        == ("You are a helpful assistant for <EMAIL_ADDRESS>.")
    )


async def test_concurrent_requests_share_the_analyzer_safely() -> None:
    import trio

    policy = PiiDetectorPolicy(
        PiiDetectorConfig(), PolicyEnv(logger=logging.getLogger("t"), registry=None, config=None)
    )
    names = ["Ana Lima", "Bo Chen", "Kwame Mensah", "Priya Raghunathan", "Hans Müller", "Oluwaseun Adeyemi"]
    bodies: list[dict[str, Any]] = []

    async def one(i: int, name: str) -> None:
        ctx = RequestContext(
            request_id=str(i),
            operation="chat",
            endpoint="/v1/chat/completions",
            body={"messages": [{"role": "user", "content": f"Hi, I am {name} (user{i}@example.com), ticket {i}."}]},
        )
        await policy.on_request(ctx)
        bodies.append(ctx.body)

    async with trio.open_nursery() as nursery:
        for i, name in enumerate(names * 3):
            nursery.start_soon(one, i, name)
    contents = sorted(b["messages"][0]["content"] for b in bodies)
    assert all(c.startswith("Hi, I am <PERSON> (<EMAIL_ADDRESS>), ticket ") for c in contents), contents


def _unique_texts(count: int, tag: str) -> list[str]:
    names = ["Caresse", "Duygu", "Obiageli", "Tarquin", "Sylwia", "Kwame"]
    return [
        f"Hi, I am {names[i % 6]} ({tag}{i}.q{i * 7}@example.org, +1 415 555 {i:04d}), order {tag}-{i * 31}."
        for i in range(count)
    ]


@pytest.fixture
def zoned(monkeypatch: pytest.MonkeyPatch) -> Detector:
    """An analyzer on a pipeline of its own whose every batch is read in a memory zone of its own (in
    a gateway, once the vocabulary has grown by ``KEEP_NEW_STRINGS`` and for 64 batches a zone)."""
    import weakref

    from keeptrust_presidio import nlp

    monkeypatch.setattr(nlp, "_SHARED", weakref.WeakValueDictionary())
    monkeypatch.setattr(nlp.SharedPipeline, "KEEP_NEW_STRINGS", 0)
    monkeypatch.setattr(nlp.SharedPipeline, "ZONE_BATCHES", 1)
    built = Detector(PiiDetectorConfig())
    built.warm_up()
    return built


def test_unique_texts_do_not_grow_the_vocabulary(zoned: Detector, detector: Detector) -> None:
    # spaCy keeps each new word it reads for the life of the process, unless it reads it in a memory
    # zone; a gateway reads unique addresses, numbers and names all day.
    strings, before = zoned.nlp.vocab.strings, len(zoned.nlp.vocab.strings)
    batches = [_unique_texts(60, "a"), _unique_texts(60, "b")]
    found = [zoned.analyze(batch) for batch in batches]
    assert len(strings) == before
    # What is found does not depend on it: every address, number and name, as without zones.
    assert all({f.entity for f in fs} == {"PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER"} for b in found for fs in b)
    assert found == [detector.analyze(batch) for batch in batches]


@pytest.mark.parametrize("zones", [False, True])
def test_threads_analysing_at_once_find_what_one_thread_finds(request: pytest.FixtureRequest, zones: bool) -> None:
    from concurrent.futures import ThreadPoolExecutor

    analyzer: Detector = request.getfixturevalue("zoned" if zones else "detector")
    batches = [_unique_texts(12, f"t{n}") for n in range(8)]
    alone = [analyzer.analyze(b) for b in batches]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(analyzer.analyze, batches))
    assert together == alone


def test_analyzers_of_one_model_share_its_pipeline(detector: Detector) -> None:
    # Loaded once (some 250 MB and a second of start-up for en_core_web_md), whatever the number of
    # pii-detector policies or configuration reloads.
    other = Detector(PiiDetectorConfig(entities=["PERSON"], score_threshold=0.6))
    assert other.nlp is detector.nlp


def test_long_texts_are_analysed_in_overlapping_segments(detector: Detector) -> None:
    from keeptrust_presidio.analysis import SEGMENT, segments

    filler = "the quick brown fox jumps over the lazy dog "
    for shift in range(0, 40, 7):  # move the entities across the first segment boundary
        head = filler * ((SEGMENT - 30) // len(filler)) + "x" * shift + " "
        text = head + "write to kwame.mensah@example.org or card 4111 1111 1111 1111 " + filler * 60
        pieces = segments(text)
        assert len(pieces) > 1
        assert all(text[o : o + len(p)] == p for o, p in pieces)
        found = detector.analyze([text])[0]
        values = {text[f.start : f.end] for f in found}
        assert {"kwame.mensah@example.org", "4111 1111 1111 1111"} <= values, (shift, values)

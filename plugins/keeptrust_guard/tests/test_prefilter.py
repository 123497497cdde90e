"""The signal patterns' literal prefilters: a text they rule out is one the pattern cannot match, and
ordinary text skips most searches."""

from __future__ import annotations

import re

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keeptrust_guard import content_context, content_signals, injection_signals
from keeptrust_guard.prefilter import Clause, admits, required
from keeptrust_guard.signals import Hits, Signal, Table, run, signal, word_keys


def _clauses(pattern: str, words: bool = True) -> set[tuple[frozenset[str], frozenset[str]]]:
    return {(c.words, frozenset(c.substrings)) for c in required(re.compile(pattern), words)}


def _as(*clauses: tuple[set[str], set[str]]) -> set[tuple[frozenset[str], frozenset[str]]]:
    return {(frozenset(w), frozenset(s)) for w, s in clauses}


def _admits(pattern: str, text: str) -> bool:
    return admits(required(re.compile(pattern)), text, word_keys(text))


def test_words_between_edges_are_tested_as_whole_words():
    assert _clauses(r"\bignore\b (?:all |any )?(?:previous|prior) instructions?") == _as(({"=ignore"}, set()))
    assert _clauses(r"\b(?:grant|give)\b[^.!?\n]{0,10}?\badmin (?:access|rights)\b") == _as(
        ({"=admin"}, set()), ({"=give", "=grant"}, set()), ({"=access", "=rights"}, set()))
    # "ignore" touching the pattern's end may continue as "ignored": a substring, not a word.
    assert _clauses(r"please ignore") == _as((set(), {"please ignore"}))
    assert _admits(r"\bignore\b", "Ignore? no: ignore it")
    assert not _admits(r"\bignore\b", "the ignored instructions")


def test_a_word_the_pattern_may_continue_is_tested_by_its_beginning():
    needs = required(re.compile(r"\b(?:show|print) the system instruction"), stem=5)
    assert {c.words for c in needs} == {frozenset({"=the"}), frozenset({"=system"}), frozenset({"instr"})}
    for text in ("show the system instructions", "Print the system instruction."):
        assert admits(needs, text.lower(), word_keys(text.lower()))
    assert not admits(needs, "show the system settings", word_keys("show the system settings"))


def test_optional_and_repeated_parts_require_nothing():
    assert _clauses(r"ab.*cd") == set()  # too short to filter
    assert _clauses(r"hello[^.]{0,20}world") == _as((set(), {"hello"}), (set(), {"world"}))
    assert _clauses(r"(?:secret )?password") == _as((set(), {"password"}))
    assert _clauses(r"(?:hello)+ world") == _as((set(), {" world"}), (set(), {"hello"}))
    assert _clauses(r"(?:hello)* world") == _as((set(), {" world"}))


def test_alternatives_give_one_clause_from_each():
    assert _clauses(r"foo(?:bar|baz)|qux") == _as((set(), {"foobar", "foobaz", "qux"}))
    # One alternative with no literal of its own: the whole alternation requires nothing.
    assert _clauses(r"\bignore\b|\d{4}") == set()
    assert _clauses(r"\b(?:x|ab)\b") == _as(({"=x", "=ab"}, set()))


def test_not_modelled_means_no_prefilter():
    assert required(re.compile(r"(?i)ignore previous")) == ()
    assert required(re.compile(r"ignore (?i:previous)")) == (Clause(substrings=("ignore ",)),)
    assert required(re.compile(r"(?x) ignore \s previous")) == ()
    # Views whose words are not collected get substrings only.
    assert _clauses(r"\bignore\b instructions", words=False) == _as((set(), {"ignore instructions"}))


def test_the_engine_searches_only_what_the_prefilter_admits():
    real = re.compile(r"\bignore\b[^.]{0,20}\binstructions\b")
    searched: list[str] = []

    class Counting:
        def search(self, text: str) -> re.Match[str] | None:
            searched.append(text)
            return real.search(text)

    sig = attrs.evolve(signal("override", "prompt_injection", 0.9, real.pattern, ("ignor",)), pattern=Counting())
    table = Table([sig])
    for text in ("please ignore the typo", "ignore all the instructions", "they ignored instructions"):
        hits = Hits()
        run(table, {"skeleton": text}, word_keys(text), hits, user_turn=True)
        assert bool(hits.weights) == (text == "ignore all the instructions")
    assert searched == ["ignore all the instructions"]


def _signals() -> list[Signal]:
    tables = (injection_signals.TABLE, content_signals.table(content_signals.CATEGORIES), content_context._DAMPERS)
    unique = {id(s.pattern): s for table in tables for s in table.signals if s.needs}
    return list(unique.values())


def test_most_signals_have_a_prefilter():
    tables = (injection_signals.TABLE, content_signals.table(content_signals.CATEGORIES))
    every = [s for table in tables for s in table.signals]
    assert sum(bool(s.needs) for s in every) >= 0.8 * len(every)


@pytest.mark.parametrize("sig", _signals(), ids=lambda s: f"{s.category}:{s.name}")
def test_a_text_the_pattern_matches_is_never_ruled_out(sig: Signal):
    # Texts drawn from the pattern itself (with text around the match), whatever their letters.
    @settings(max_examples=25, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.from_regex(sig.pattern))
    def check(text: str) -> None:
        if sig.pattern.search(text):
            assert admits(sig.needs, text, word_keys(text)), text

    check()

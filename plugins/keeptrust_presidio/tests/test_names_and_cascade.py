"""Name evidence, the NER cascade, loose phone numbers and the two profiles, on texts of their own."""

from __future__ import annotations

import pytest

from keeptrust_presidio.analysis import Detector
from keeptrust_presidio.cascade import ner_regions, sentences
from keeptrust_presidio.config import PiiDetectorConfig, config_errors
from keeptrust_presidio.names import _CLAUSE_WORDS as CLAUSE_WORDS
from keeptrust_presidio.names import _FIRST_PERSON as FIRST_PERSON
from keeptrust_presidio.names import FUNCTION_WORDS


def _persons(detector: Detector, text: str) -> list[str]:
    return [text[f.start : f.end] for f in detector.analyze([text])[0] if f.entity == "PERSON"]


def test_a_name_found_once_is_redacted_at_every_mention(detector: Detector) -> None:
    text = "You can tell Riku was a huge Riku Andou fan."
    assert _persons(detector, text) == ["Riku", "Riku Andou"]


def test_cues_before_a_lone_name(detector: Detector) -> None:
    assert "Okonkwo" in _persons(detector, '"We are glad," says Okonkwo.')
    assert _persons(detector, "What's your last name? Usamov") == ["Usamov"]
    assert _persons(detector, "She named him Fleur") == ["Fleur"]
    # An ordinary word after a reporting verb is not a name.
    assert _persons(detector, '"Ship it today," says Marketing.') == []


def test_a_title_after_a_cue_is_not_the_name(detector: Detector) -> None:
    text = "Hello, this is Dr. Ella Carlsen. Who are you?"
    assert all(not p.startswith("Dr") or "Ella" in p for p in _persons(detector, text))
    assert any("Ella Carlsen" in p for p in _persons(detector, text))


def test_places_in_addresses_are_not_names(detector: Detector) -> None:
    for text in (
        "How do I change the address linked to my card to Jõe 23, Rääbise, 48516?",
        "Finnbogi lives at 362 Via Palumbo, Raleigh",
        "I am Barbados but I live in Belgium.",
    ):
        found = _persons(detector, text)
        assert not any(p in ("Rääbise", "Raleigh", "Barbados") for p in found), (text, found)


def test_phone_numbers_a_numbering_plan_rejects(detector: Detector) -> None:
    for text, number in (
        ("Desk: +351 21 239 308 9925", "+351 21 239 308 9925"),
        ("Please have the manager call me at 440 36 489 tomorrow", "440 36 489"),
    ):
        found = [text[f.start : f.end] for f in detector.analyze([text])[0] if f.entity == "PHONE_NUMBER"]
        assert found == [number], (text, found)
    assert detector.analyze(["Invoice 440 36 489 is attached."]) == [[]]


def test_ner_reads_only_the_sentences_that_could_hold_a_name(detector: Detector) -> None:
    text = (
        "Explain the attention mechanism in two sentences. Keep it short. "
        "My colleague Caresse asked the same. Thanks for the help."
    )
    regions = [text[s:e] for s, e in ner_regions(text, detector._could_hold_a_name)]
    # The sentence with the name, and the one before it for context.
    assert regions == ["Keep it short. My colleague Caresse asked the same."]
    assert _persons(detector, text) == ["Caresse"]
    short = "One. Two!\nThree"
    assert [short[s:e] for s, e in sentences(short)] == ["One.", "Two!", "Three"]


def test_names_the_word_lists_explain_need_no_ner(detector: Detector) -> None:
    # Every candidate word lies in a name the lexicon finds alone: NER would add nothing.
    for text, name in (
        ("Hi, I am John Smith (john.smith@example.com). Explain attention.", "John Smith"),
        ("Keep it short. My colleague Ingrid Solberg asked the same.", "Ingrid Solberg"),
    ):
        assert ner_regions(text, detector._could_hold_a_name) == []
        assert _persons(detector, text) == [name]
    # A known name with capitalised words or a particle against it may be part of a longer name:
    # NER reads those sentences, and the whole name is redacted.
    for text, name in (
        ("Yesterday Hanora de Búrc told me the meeting moved.", "Hanora de Búrc"),
        ("Please change it to Novel Ermakov.", "Novel Ermakov"),
    ):
        assert [text[s:e] for s, e in ner_regions(text, detector._could_hold_a_name)] == [text]
        assert _persons(detector, text) == [name]


@pytest.fixture(scope="module")
def fast() -> Detector:
    built = Detector(PiiDetectorConfig(profile="fast"))
    built.warm_up()
    return built


def test_fast_profile_runs_no_ner_and_still_finds_names(fast: Detector) -> None:
    assert not fast.uses_ner
    text = "Hi, I am Sylwia Ostrowska (sylwia@example.com); please ask Dr. Okafor to call me."
    found = {(f.entity, text[f.start : f.end]) for f in fast.analyze([text])[0]}
    assert ("PERSON", "Sylwia Ostrowska") in found
    assert ("EMAIL_ADDRESS", "sylwia@example.com") in found


def test_words_text_writes_in_lower_case_are_not_names(detector: Detector, fast: Detector) -> None:
    # "Hey", "Yep", "Nah", "Welp" are US Census surnames that no dictionary has; text often writes
    # them in lower case, as it seldom does a name.
    for text in (
        "Hey, did you finish the essay?",
        "Yep. I read it twice.",
        "Nah, I would rather stay home.",
        "Welp, that was a long week.",
    ):
        assert _persons(detector, text) == [], text
        assert _persons(fast, text) == [], text
        # Nothing in them could be a name, so NER does not read them.
        assert ner_regions(text, detector._could_hold_a_name) == [], text
    assert _persons(detector, "Yup, see you at noon with Ingrid Tafoya.") == ["Ingrid Tafoya"]
    # Before a name, such a word is no part of it: the greeting stays.
    assert _persons(detector, "Hey Kyle, how are you?") == ["Kyle"]


def test_a_name_that_is_also_a_town_is_a_name_in_a_short_sentence(detector: Detector) -> None:
    # "Kyle", "Austin" and "Florence" are towns too. A few words around a name with a personal pronoun
    # or an auxiliary are a clause, not a bare phrase, so NER's name stands.
    for text, name in (
        ("Kyle, I saw it.", "Kyle"),
        ("Did you call Austin?", "Austin"),
        ("Florence, I miss you.", "Florence"),
    ):
        assert _persons(detector, text) == [name], text
    # Alone, in a bare list or after "to", they are places.
    for text in ("Austin", "Austin, Kyle, Tyler", "We moved to Austin."):
        assert _persons(detector, text) == [], text


def test_a_name_greeted_thanked_or_bid_farewell_is_a_name(detector: Detector, fast: Detector) -> None:
    # A greeting, thanks or a farewell says who is addressed, with no pronoun or verb around.
    for text, name in (
        ("Good morning Kyle!", "Kyle"),
        ("Thanks, Aiyana. See you soon.", "Aiyana"),
        ("Bye Okonkwo", "Okonkwo"),
        ("Thanks Obama", "Obama"),
        ("Thank you, Naomi.", "Naomi"),
        ("Hi, Kyle! Long time no see.", "Kyle"),
    ):
        assert _persons(detector, text) == [name], text
        assert _persons(fast, text) == [name], text
    # What follows them is often no one: a place, or a word that is also a surname ("Back", "Moon").
    for text in (
        "Good morning Vietnam!",
        "Thanks Again for the help.",
        "Welcome Back",
        "Good night Moon",
        "Hello, World",
    ):
        assert _persons(detector, text) == [], text
        assert _persons(fast, text) == [], text


def test_fast_profile_refuses_entities_only_ner_gives() -> None:
    errors = config_errors(PiiDetectorConfig(profile="fast", entities=["PERSON", "LOCATION"]))
    assert errors == [
        "entities[1]: LOCATION comes from spaCy's NER, which profile 'fast' does not run; use profile: accurate"
    ]


def test_profile_is_validated() -> None:
    import cattrs

    with pytest.raises(Exception):  # noqa: B017 - cattrs raises its own class group
        cattrs.structure({"profile": "fastest"}, PiiDetectorConfig)


def test_census_surnames_and_name_endings_find_names_no_list_of_faker_has(detector: Detector) -> None:
    # A Census surname after a role word; a surname ending no English word has; a given name Faker
    # lacks beside a known surname.
    # (the role before a name may go with it)
    assert [p.split()[-1] for p in _persons(detector, "The keynote was given by Professor Yamazato today.")] == [
        "Yamazato"
    ]
    assert _persons(detector, "Our new colleague Zhamaldinov starts on Monday.") == ["Zhamaldinov"]
    assert _persons(detector, "Bekzhan Tafoya will join the call later.") == ["Bekzhan Tafoya"]


def test_census_names_that_are_ordinary_words_are_not_evidence(detector: Detector) -> None:
    # "Novel", "Sides", "Curry" are Census surnames too; here they are words.
    for text in ("Read the Novel before class.", "Both Sides agreed on the terms."):
        assert _persons(detector, text) == [], text


def test_dishes_are_not_names(detector: Detector) -> None:
    for text in (
        "Grilled Halloumi Salad, Chicken Tikka Masala, Eton Mess",
        "Topped with Madagascan vanilla cream and Jonagold apples from the orchard.",
        "Beef Wellington",
    ):
        assert _persons(detector, text) == [], text
    # A name that is also a food word still reads as a name where a given name leads it.
    assert _persons(detector, "Yesterday I watched Stephen Curry play in Oakland.") == ["Stephen Curry"]


def test_places_are_not_names(detector: Detector) -> None:
    for text in (
        "My sister moved to a flat in Tavernelle last spring.",
        "She studied law at the University of Kolbermoor.",
        "Kolbermoor, Kaufbeuren e Memmingen",
        "Grotte di Santa Ninfa",
        "Jensen-sur-Loire",
    ):
        assert _persons(detector, text) == [], text


def test_companies_are_not_names(detector: Detector) -> None:
    text = "Baxter Holcomb, Inc. reported higher revenue; Ostervald GmbH did not."
    assert _persons(detector, text) == []
    assert _persons(detector, "We signed with KOVALENKO INDUSTRIES last week.") == []


def test_address_lines_are_not_names(detector: Detector) -> None:
    for text, place in (
        ("Send it to 12 Calle de Marisol Ferrer, Apt. 3, please.", "Marisol Ferrer"),
        ("Hana Okafor\n\nWeilerbach\nGermany", "Weilerbach"),
        ("Hana Okafor\n14 Lindenberg Road\n> Apt. 5\nLeeds", "Lindenberg"),
    ):
        assert not any(place in p for p in _persons(detector, text)), (text, _persons(detector, text))


def test_speakers_of_a_transcript_are_names(detector: Detector) -> None:
    text = "Tavita: Are you coming tonight?\nRohan: Maybe later.\nTavita: Bring the cake then!"
    assert _persons(detector, text).count("Tavita") == 2
    assert _persons(detector, "User: hello there\nAssistant: hi, how can I help?\nUser: thanks") == []


def test_the_words_around_a_span_are_counted_as_the_text_reads(detector: Detector) -> None:
    # The rules judge a span by the words of text[:start] + " " + text[end:]; the per-text counts
    # must give the same for every span, those that cut a word included.
    names = detector.names
    assert names is not None
    text = "Send the Katsu Curry to Ana-María O'Neil's flat; I think it is in Kynšperk nad Ohří, Mr. Novák. 12 apples!"

    def direct(start: int, end: int) -> tuple[int, int, int, int]:
        words = names.words(text[:start] + " " + text[end:])
        lower = [w for w in words if w[0].islower()]
        english = sum(1 for w in lower if names.in_dictionary(w) or w.lower() in FUNCTION_WORDS)
        clause_words = sum(1 for w in lower if w.lower() in CLAUSE_WORDS) + sum(1 for w in words if w in FIRST_PERSON)
        return len(lower), english, clause_words, sum(1 for w in words if names.is_culinary(w))

    counts = names._words_of(text)
    for start in range(len(text) + 1):
        for end in range(start, min(len(text), start + 30) + 1):
            assert counts.outside(start, end) == direct(start, end), (start, end, text[start:end])


def test_every_name_of_a_long_list_is_redacted(detector: Detector) -> None:
    # Thousands of names in one text, each judged against its segment's word counts.
    text = "Guests: " + ", ".join(["Ingrid Solberg", "Caresse Moreau", "John Smith"] * 600) + "."
    found = _persons(detector, text)
    assert len(found) >= 1800
    # (a name cut by a segment's edge may be found in parts)
    assert {w for name in found for w in name.split()} <= {"Ingrid", "Solberg", "Caresse", "Moreau", "John", "Smith"}

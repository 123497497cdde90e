"""Word lists shipped with this package (``data/``), rebuilt by ``eval/build_name_lists.py``.

**US Census names** (public domain):
Surnames borne by 100 people or more in the 2010 Census and the 1990 Census surnames, given names
of the 1990 Census: some 176,000 surnames and 5,000 given names, many of origins Faker's lists leave
out ("Iwase", "Godina", "Migneault"). They also hold plenty of ordinary words ("Novel", "Sides",
"Curry"): ``NameEvidence`` takes a Census name as evidence only where no English dictionary has
the word.

**Country and territory names** in every language of the Unicode CLDR (Unicode License v3, through
babel), Latin script only: "Jamaïque", "Kaimaninseln", "Cechia" are places, not people.

**Words written in lower case** (spaCy 2's English word probabilities, MIT, through
spacy-lookups-data): some 19,000 frequent ASCII words that text writes in lower case at least a
sixth as often as capitalised. Some of them no dictionary has ("hey", "yep", "nah", "wanna"), yet they are
ordinary words, and the Census lists hold some of them as surnames.

See the README for provenance and licences.
"""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path

_DATA = Path(__file__).with_name("data")


def _read(name: str) -> frozenset[str]:
    with gzip.open(_DATA / name, "rt", encoding="utf-8") as fh:
        return frozenset(line.strip() for line in fh if line.strip())


@cache
def census_surnames() -> frozenset[str]:
    """Lower-case surnames of the 2010 and 1990 US Census."""
    return _read("us_census_surnames.txt.gz")


@cache
def census_given_names() -> frozenset[str]:
    """Lower-case given names of the 1990 US Census."""
    return _read("us_census_given_names.txt.gz")


@cache
def country_names() -> frozenset[str]:
    """Lower-case names of countries and territories in the languages of the CLDR."""
    return _read("country_names.txt.gz")


@cache
def lower_case_words() -> frozenset[str]:
    """Words text writes in lower case at least a sixth as often as capitalised, and not rarely."""
    return _read("lower_case_words.txt.gz")

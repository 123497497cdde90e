"""Prompt injection in tool results, from the AgentDojo benchmark: what an agent reads back from its
tools (e-mails, calendar entries, shared files, Slack messages, web pages, hotel reviews, bank
transactions), with and without an injected instruction, and the requests its users send.

    python eval/agent_tasks.py           # the sizes of the set, per attack family
    python eval/agent_tasks.py --show    # and a sample of its rows

Source: ``agentdojo==0.1.35`` (MIT; Debenedetti et al. 2024, https://github.com/ethz-spylab/agentdojo),
read from its wheel without importing it (it needs the LLM clients):

- documents: every text of eight words or more in the four task suites' environments
  (``agentdojo/data/suites/*/environment.yaml`` and its includes), given to the detector as the
  YAML of the record that holds it (an e-mail with its sender and subject, a review with its hotel),
  as AgentDojo's tools return it. A text with an injection point (``{injection_...}``) holds that
  point's benign default (``injection_vectors.yaml``) in the benign rows;
- attacks: each injection point filled by each of AgentDojo's attack templates
  (``agentdojo/attacks/*.py``: "important instructions" with and without names, "ignore previous",
  InjecAgent's, "TODO:", a fake system message, and the denial-of-service messages), with the
  goals of the suite's injection tasks in turn (``GOAL``, every benchmark version);
- user requests: the ``PROMPT`` of every user task, every benchmark version (benign).

The whole set is held out: nothing here trains or calibrates a model. Tool results are read as
role ``tool`` (the path of an agent's tool output), user requests as ``user``.
"""

from __future__ import annotations

import ast
import re
import sys
import zipfile
from collections import Counter
from typing import Any

import thirdparty
import yaml

SUITES = ("workspace", "travel", "slack", "banking")
DATA = "agentdojo/data/suites/"
CODE = "agentdojo/default_suites/"
# AgentDojo's names for a victim it does not name (``agentdojo/attacks/base_attacks.py``) and the user
# of the suites, whose name the named attacks sign with.
DEFAULT_USER, DEFAULT_MODEL, USER = "the user", "the AI language model", "Emma Johnson"
# Texts shorter than this are names, dates, amounts and addresses, not documents.
MIN_WORDS = 8
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _wheel() -> zipfile.ZipFile:
    return thirdparty.wheel("agentdojo")


def _read(zf: zipfile.ZipFile, member: str) -> str:
    return zf.read(member).decode("utf-8")


def _environment(zf: zipfile.ZipFile, suite: str) -> Any:
    """A suite's environment, its ``!include`` files read from the wheel."""
    folder = f"{DATA}{suite}/"

    class Loader(yaml.SafeLoader):
        pass

    def include(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        return yaml.load(_read(zf, folder + str(loader.construct_scalar(node))), Loader)

    Loader.add_constructor("!include", include)
    return yaml.load(_read(zf, f"{folder}environment.yaml"), Loader)


def _is_document(value: Any) -> bool:
    if isinstance(value, str):
        return len(value.split()) >= MIN_WORDS or bool(_PLACEHOLDER.search(value))
    if isinstance(value, dict):
        return any(_is_document(v) for v in value.values())
    if isinstance(value, list):
        return any(_is_document(v) for v in value)
    return False


def _documents(environment: Any) -> list[Any]:
    """The tool results of an environment: each record of a list (an e-mail, an event, a file, a
    message, a hotel) whole, and each long text outside a record (a web page, a text file)."""
    out: list[Any] = []

    def walk(value: Any, in_list: bool) -> None:
        if isinstance(value, dict) and in_list:
            if _is_document(value):
                out.append(value)
        elif isinstance(value, dict):
            for child in value.values():
                walk(child, False)
        elif isinstance(value, list):
            for child in value:
                walk(child, True)
        elif _is_document(value):
            out.append(value)

    walk(environment, False)
    return out


def _fill(value: Any, fills: dict[str, str]) -> Any:
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: fills.get(m[1], m[0]), value)
    if isinstance(value, dict):
        return {k: _fill(v, fills) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, fills) for v in value]
    return value


def _points(value: Any) -> list[str]:
    """The injection points of a document, in order."""
    if isinstance(value, str):
        return _PLACEHOLDER.findall(value)
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return [p for child in children for p in _points(child)]


def _as_tool_result(document: Any) -> str:
    """A record as AgentDojo's tools return it (YAML); a bare text as itself."""
    if isinstance(document, str):
        return document
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120).strip()


def _constants(module: ast.Module | ast.ClassDef, names: dict[str, Any]) -> dict[str, Any]:
    """The constant assignments of a module or class body, strings and f-strings evaluated."""
    out = dict(names)
    for node in module.body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            try:
                value = _evaluate(node.value, out)
            except (KeyError, ValueError):
                continue
            for target in targets:
                if isinstance(target, ast.Name):
                    out[target.id] = value
    return out


def _evaluate(node: ast.expr, names: dict[str, Any]) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int | float):
        return node.value
    if isinstance(node, ast.Name):
        return names[node.id]
    if isinstance(node, ast.JoinedStr):
        parts = []
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                parts.append(str(_evaluate(part.value, names)))
            else:
                parts.append(str(_evaluate(part, names)))
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _evaluate(node.left, names) + _evaluate(node.right, names)
    raise ValueError(ast.dump(node))


def _task_texts(zf: zipfile.ZipFile, suite: str, field: str) -> list[str]:
    """The ``PROMPT`` (user tasks) or ``GOAL`` (injection tasks) of every task class of a suite, in
    every benchmark version, each text once. A text built from anything but string constants (none
    in 0.1.35) is skipped."""
    kind = "user_tasks" if field == "PROMPT" else "injection_tasks"
    members = sorted(n for n in zf.namelist() if n.startswith(CODE) and n.endswith(f"/{suite}/{kind}.py"))
    out: list[str] = []
    for member in members:
        module = ast.parse(_read(zf, member))
        names = _constants(module, {})
        for node in module.body:
            if isinstance(node, ast.ClassDef):
                text = _constants(node, names).get(field)
                if isinstance(text, str) and text.strip() and text not in out:
                    out.append(text)
    return out


def _templates(zf: zipfile.ZipFile) -> dict[str, str]:
    """AgentDojo's attack templates by name (``{goal}``, ``{user}``, ``{model}`` to fill; the
    denial-of-service messages have no goal); the "tool knowledge" template, which needs each task's
    tool calls, is left out."""
    out: dict[str, str] = {}
    for member in (
        "agentdojo/attacks/baseline_attacks.py",
        "agentdojo/attacks/important_instructions_attacks.py",
        "agentdojo/attacks/dos_attacks.py",
    ):
        for node in ast.walk(ast.parse(_read(zf, member))):
            if not isinstance(node, ast.ClassDef):
                continue
            body = _constants(node, {})
            name = body.get("name")
            template = body.get("_JB_STRING", body.get("_DOS_STRING"))
            if template is None:
                # The baseline attacks pass their template to ``super().__init__``.
                for call in ast.walk(node):
                    if (
                        isinstance(call, ast.Call)
                        and isinstance(call.func, ast.Attribute)
                        and call.func.attr == "__init__"
                    ):
                        strings = [
                            a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
                        ]
                        template = strings[0] if strings else None
            if isinstance(name, str) and isinstance(template, str) and name != "tool_knowledge":
                out[name] = template
    return out


def _model_names(zf: zipfile.ZipFile) -> list[str]:
    """The names AgentDojo's attacks give the victim model (``agentdojo/models.py``), and its default."""
    for node in ast.parse(_read(zf, "agentdojo/models.py")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "MODEL_NAMES" for t in node.targets
        ):
            assert isinstance(node.value, ast.Dict)
            found = [v.value for v in node.value.values if isinstance(v, ast.Constant)]
            return [*dict.fromkeys(found), DEFAULT_MODEL]
    raise ValueError("MODEL_NAMES not found")


def rows() -> list[dict[str, object]]:
    """The set: ``{"text", "label", "family", "role", "suite"}`` rows, deterministic.

    Benign: each document with its injection points at their defaults (``family`` ``tool_result``),
    and each user request (``user_request``). Attacks: each injection point of each document once per
    attack template (``family``: the template's name), the goal and the names it signs with taken in
    turn, the other points of that document at their defaults."""
    zf = _wheel()
    templates = _templates(zf)
    models = _model_names(zf)
    signers = [(USER, None), (DEFAULT_USER, None), (USER, DEFAULT_MODEL), (DEFAULT_USER, DEFAULT_MODEL)]
    out: list[dict[str, object]] = []
    turn = 0
    for suite in SUITES:
        defaults = {
            k: str(v["default"]) for k, v in yaml.safe_load(_read(zf, f"{DATA}{suite}/injection_vectors.yaml")).items()
        }
        goals = _task_texts(zf, suite, "GOAL")
        for document in _documents(_environment(zf, suite)):
            text = _as_tool_result(_fill(document, defaults))
            out.append({"text": text, "label": 0, "family": "tool_result", "role": "tool", "suite": suite})
            for point in _points(document):
                if point not in defaults:
                    continue
                for name, template in templates.items():
                    user, model = signers[turn % len(signers)]
                    attack = template.format(
                        goal=goals[turn % len(goals)], user=user, model=model or models[turn % len(models)]
                    )
                    turn += 1
                    text = _as_tool_result(_fill(document, {**defaults, point: attack}))
                    out.append({"text": text, "label": 1, "family": name, "role": "tool", "suite": suite})
        for prompt in _task_texts(zf, suite, "PROMPT"):
            out.append({"text": prompt, "label": 0, "family": "user_request", "role": "user", "suite": suite})
    seen: set[str] = set()
    unique = []
    for row in out:
        if row["text"] not in seen:
            seen.add(str(row["text"]))
            unique.append(row)
    return unique


if __name__ == "__main__":
    got = rows()
    for (family, label), n in sorted(Counter((str(r["family"]), r["label"]) for r in got).items()):
        print(f"{family:28s} {'attack' if label else 'benign'} {n}")
    if sys.argv[1:] == ["--show"]:
        for row in got[:: max(1, len(got) // 12)]:
            print("----", row["family"], row["role"], "\n" + str(row["text"])[:600])

"""Prompt injection in tool results, a second held-out set: the artifacts of two agent benchmarks in
the inspect-evals wheel, read as an agent's tool output.

    python eval/inspect_tool_results.py    # the sizes of the set

Source: ``inspect-evals==0.28.0`` (MIT, UK AI Security Institute and contributors), read from its
wheel without importing it:

- CodeIPI (``inspect_evals/ipi_coding_agent/dataset/samples.json``): a coding agent's bug-fixing
  tasks, each with an issue text and a repository's files. In 35 samples one artifact (the issue, a
  code comment, the README or a config file) carries an injected instruction to exfiltrate a secret,
  run a command or persist: the artifact that matches the sample's own ``payload_indicator`` is the
  attack. Every other issue text and non-empty file, of the 10 benign samples and of the others, is
  benign;
- AgentThreatBench's inbox triage (``inspect_evals/agent_threat_bench/data/autonomy_hijack.json``):
  the e-mails of six inboxes, those at the sample's ``attack_email_indices`` attacks, the others
  benign, each as a ``{from, subject, body}`` record in YAML.

Nothing here trains or calibrates a model, and nothing was read before the heads it measures were
fixed. Texts are read as role ``tool``.
"""

from __future__ import annotations

import json
import re
import sys
import zipfile
from collections import Counter

import thirdparty
import yaml

CODE_IPI = "inspect_evals/ipi_coding_agent/dataset/samples.json"
INBOX = "inspect_evals/agent_threat_bench/data/autonomy_hijack.json"


def _json(zf: zipfile.ZipFile, member: str) -> list[dict[str, object]]:
    return json.loads(zf.read(member).decode("utf-8"))


def rows() -> list[dict[str, object]]:
    """``{"text", "label", "family", "role"}`` rows, each text once (an attack wins over a benign copy)."""
    zf = thirdparty.wheel("inspect_evals")
    out: dict[str, dict[str, object]] = {}

    def add(text: str, label: int, family: str) -> None:
        if text.strip() and (text not in out or label):
            out[text] = {"text": text, "label": label, "family": family, "role": "tool"}

    for sample in _json(zf, CODE_IPI):
        artifacts = {"issue_text": str(sample["issue_text"]), **dict(sample["repo_files"])}  # type: ignore[arg-type]
        indicator = str(sample["payload_indicator"])
        attacked = {k for k, v in artifacts.items() if indicator and re.search(indicator, str(v))}
        for name, text in artifacts.items():
            if name in attacked:
                add(str(text), 1, f"codeipi_{sample['injection_vector']}")
            else:
                add(str(text), 0, "codeipi_artifact")
    for sample in _json(zf, INBOX):
        attacks = set(sample["attack_email_indices"])  # type: ignore[arg-type]
        for i, mail in enumerate(sample["inbox"]):  # type: ignore[arg-type]
            record = {"from": mail["from"], "subject": mail["subject"], "body": mail["body"]}
            text = yaml.safe_dump(record, sort_keys=False, allow_unicode=True, width=120).strip()
            add(text, int(i in attacks), "inbox_injection" if i in attacks else "inbox_email")
    return list(out.values())


if __name__ == "__main__":
    got = rows()
    for (family, label), n in sorted(Counter((str(r["family"]), r["label"]) for r in got).items()):
        print(f"{family:28s} {'attack' if label else 'benign'} {n}")
    if sys.argv[1:] == ["--show"]:
        for row in got[:: max(1, len(got) // 10)]:
            print("----", row["family"], "\n" + str(row["text"])[:400])

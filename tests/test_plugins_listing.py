"""`kt plugins list` shows what each installed package registers, through its own hooks too."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("keeptrust_hf")
pytest.importorskip("keeptrust_falai")


def test_listing_shows_backends_registered_through_keeptrust_hf():
    kt = Path(sys.executable).with_name("kt")
    done = subprocess.run([str(kt), "plugins", "list", "--json"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    plugins = {p["name"]: p for p in json.loads(done.stdout)}
    assert plugins["falai"]["registered"]["hf backend"] == ["fal-ai"]
    assert {"groq", "hf-inference", "together"} <= set(plugins["hf"]["registered"]["hf backend"])
    assert plugins["hf"]["registered"]["provider"] == ["huggingface"]
    assert plugins["hf"]["distribution"] == "keeptrust-hf"

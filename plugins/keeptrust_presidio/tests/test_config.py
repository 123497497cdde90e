"""Configuration errors and start-up failures name the key, or the pip command to run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from keeptrust.distributions import install_command
from keeptrust.errors import ConfigError, PluginError
from keeptrust.testing import spec_examples


def test_bad_action_names_the_path(echo_upstream: Any, gateway_factory: Any, pii_config: Any) -> None:
    with pytest.raises(ConfigError) as err:
        gateway_factory(pii_config(echo_upstream.url, action="redakt"))
    assert "policies.policy.pii-detector.action" in str(err.value)


def test_unknown_entity_and_bad_regex(echo_upstream: Any, gateway_factory: Any, pii_config: Any) -> None:
    with pytest.raises(ConfigError) as err:
        gateway_factory(pii_config(echo_upstream.url, patterns=[{"name": "x", "entity": "X", "regex": "("}]))
    assert "policies.policy.pii-detector.patterns[0].regex" in str(err.value)
    with pytest.raises(ConfigError) as err:
        gateway_factory(pii_config(echo_upstream.url, entities=["PERSON", "EMAIL_ADRESS"]))
    assert "policies.policy.pii-detector.entities[1]: unknown entity type 'EMAIL_ADRESS'" in str(err.value)


def test_missing_model_names_the_pip_command(echo_upstream: Any, gateway_factory: Any, pii_config: Any) -> None:
    with pytest.raises(PluginError) as err:
        gateway_factory(pii_config(echo_upstream.url, nlp_model="en_core_web_lg"))
    message = str(err.value)
    assert "keeptrust-presidio" in message and "en_core_web_lg" in message and "pip install" in message


def test_spec_example_loads(echo_upstream: Any, gateway_factory: Any, pii_config: Any) -> None:
    gw = gateway_factory(
        pii_config(
            echo_upstream.url, action="redact", entities=["PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD"]
        )
    )
    assert (
        gw.client()
        .chat.completions.create(model="fake/model", messages=[{"role": "user", "content": "hi"}])
        .choices[0]
        .message.content
        == "You said: hi"
    )


def _spec_examples() -> list[Path]:
    return spec_examples(__file__, containing="pii-detector")


@pytest.mark.parametrize("example", _spec_examples(), ids=lambda p: p.name)
def test_spec_examples_pii_block_loads_and_runs(
    example: Path, echo_upstream: Any, gateway_factory: Any, pii_config: Any
) -> None:
    block = (yaml.safe_load(example.read_text(encoding="utf-8"))["policies"]["policy"] or {}).get("pii-detector", {})
    gw = gateway_factory(pii_config(echo_upstream.url, **(block or {})))
    gw.client().chat.completions.create(
        model="fake/model", messages=[{"role": "user", "content": "I am John Smith, john.smith@example.com"}]
    )
    assert echo_upstream.app.last.body["messages"][0]["content"] == "I am <PERSON>, <EMAIL_ADDRESS>"


def test_missing_presidio_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from keeptrust_presidio.analysis import Detector
    from keeptrust_presidio.config import PiiDetectorConfig
    from keeptrust_presidio.nlp import ModelUnavailable

    monkeypatch.setitem(sys.modules, "presidio_analyzer", None)  # as if it were not installed
    with pytest.raises(ModelUnavailable, match=re.escape(install_command("keeptrust-presidio"))) as err:
        Detector(PiiDetectorConfig())
    assert "presidio_analyzer" in str(err.value)

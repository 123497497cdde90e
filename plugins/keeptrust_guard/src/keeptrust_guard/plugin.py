"""keeptrust-guard's plugin module (entry point ``guard`` in the group ``keeptrust``)."""

from __future__ import annotations

from collections.abc import Callable

from keeptrust import hookimpl
from keeptrust_guard.ensemble import ClassifierDetector, EnsembleDetector
from keeptrust_guard.heuristic import HeuristicDetector
from keeptrust_guard.huggingface import HuggingFaceDetector
from keeptrust_guard.policies import POLICIES

# Read by the core at start-up: adds ``register_guard_detectors`` so detector plugins are validated.
KEEPTRUST_HOOKSPECS = "keeptrust_guard.hookspecs"


@hookimpl
def register_policies(register: Callable[[type], None]) -> None:
    for policy in POLICIES:
        register(policy)


@hookimpl
def register_guard_detectors(register: Callable[[type], None]) -> None:
    register(HeuristicDetector)
    register(ClassifierDetector)
    register(EnsembleDetector)
    register(HuggingFaceDetector)

"""The hook keeptrust-guard adds for detector plugins (named by ``KEEPTRUST_HOOKSPECS`` in
``keeptrust_guard.plugin``, so the core validates its implementations at start-up)."""

from __future__ import annotations

from collections.abc import Callable

from keeptrust.hookspecs import hookspec


@hookspec
def register_guard_detectors(register: Callable[[type], None]) -> None:
    """Register detectors for the ``prompt-injection``, ``safety-filter`` and ``content-filter``
    policies, such as ``heuristic`` or ``huggingface``.

    Call ``register(DetectorClass)`` once per detector. The class must have:

    - ``name``: the value of a policy's ``detector:`` key;
    - ``config_class``: a frozen attrs class (kw_only) into which the policy's ``detector_options``
      mapping is structured (unknown keys are start-up errors naming the path);
    - ``__init__(self, config, setup)``: called once per policy at start-up with a
      ``keeptrust_guard.DetectorSetup`` (policy name, task ``prompt_injection`` or ``content``, the
      categories to score, a logger);
    - ``async detect(self, segments) -> keeptrust_guard.Detection``: scores for the given texts
      (each a ``Segment`` with its role and path), at least the highest ``Finding`` per category and
      role (``keeptrust_guard.detection.merge`` keeps those), since a policy's ``role_sensitivity``
      may hold roles to different thresholds; set ``error`` instead of raising when the detector
      could not decide, so the policy applies its fail-open or fail-closed choice;
    - ``stream_scanner(self)``: a synchronous ``text -> Detection`` callable for stream filters, or
      ``None`` (the built-in heuristics then check streams);
    - ``async aclose(self)``: called at shutdown.

    Two plugins registering the same name is a start-up error.
    """

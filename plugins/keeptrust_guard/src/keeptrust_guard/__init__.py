"""keeptrust-guard: the ``prompt-injection``, ``safety-filter`` and ``content-filter`` policies.

The public names here are what a detector plugin needs; the rest of the package is private.
"""

from keeptrust_guard.detection import Detection, Detector, DetectorSetup, Finding, Segment

__all__ = ["Detection", "Detector", "DetectorSetup", "Finding", "Segment"]

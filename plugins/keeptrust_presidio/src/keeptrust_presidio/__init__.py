"""keeptrust-presidio: the ``pii-detector`` policy, backed by Microsoft Presidio and spaCy."""

from keeptrust_presidio.config import CustomPattern, PiiDetectorConfig
from keeptrust_presidio.policy import PiiDetectorPolicy

__all__ = ["CustomPattern", "PiiDetectorConfig", "PiiDetectorPolicy"]

"""keeptrust-hf: the ``huggingface`` provider family for the keeptrust gateway."""

from keeptrust_hf.backend import Backend, BackendCall
from keeptrust_hf.config import HFTarget
from keeptrust_hf.mapping import MappingEntry

__all__ = ["Backend", "BackendCall", "HFTarget", "MappingEntry"]
__version__ = "0.1.0"

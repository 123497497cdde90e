"""keeptrust-falai: the ``fal-ai`` backend for keeptrust-hf (images, image edits, speech and
transcription, through fal's queue API or synchronous runs, via the Hugging Face router or fal
directly)."""

from keeptrust_falai.backend import FalAI

__all__ = ["FalAI"]
__version__ = "0.1.0"

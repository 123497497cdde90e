"""keeptrust: an AI governance gateway for Hugging Face models.

The public API for plugin authors lives here; everything else is private.
"""

from importlib_metadata import PackageNotFoundError, version

try:
    __version__ = version("keeptrust")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0+unknown"

from keeptrust.config.model import SecretRef, TargetConfig
from keeptrust.context import RequestContext, UploadedFile, Usage
from keeptrust.errors import GatewayError
from keeptrust.hookspecs import hookimpl
from keeptrust.policy import (
    Allow,
    Block,
    Decision,
    DecisionRecord,
    Flag,
    Modify,
    Policy,
    PolicyConfig,
    PolicyEnv,
    StreamBlocked,
    StreamFilter,
)
from keeptrust.provider import Provider, ProviderEnv
from keeptrust.results import BinaryResult, JSONResult, Result, StreamResult
from keeptrust.texts import TextRef, request_texts, response_texts

__all__ = [
    "Allow",
    "BinaryResult",
    "Block",
    "Decision",
    "DecisionRecord",
    "Flag",
    "GatewayError",
    "JSONResult",
    "Modify",
    "Policy",
    "PolicyConfig",
    "PolicyEnv",
    "Provider",
    "ProviderEnv",
    "RequestContext",
    "Result",
    "SecretRef",
    "StreamBlocked",
    "StreamFilter",
    "StreamResult",
    "TargetConfig",
    "TextRef",
    "UploadedFile",
    "Usage",
    "__version__",
    "hookimpl",
    "request_texts",
    "response_texts",
]

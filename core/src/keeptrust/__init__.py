"""keeptrust: an AI governance gateway for Hugging Face models.

The names most plugins need are re-exported here. ``PUBLIC_MODULES`` lists every module plugins may
import; each declares its API in ``__all__``. Every other module is private and may change.
"""

from importlib_metadata import PackageNotFoundError, version

try:
    __version__ = version("keeptrust")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0+unknown"

# The modules plugins may import (docs/plugins.md lists them; a test keeps the list honest).
PUBLIC_MODULES: tuple[str, ...] = (
    "keeptrust",
    "keeptrust.hookspecs",
    "keeptrust.contract",
    "keeptrust.context",
    "keeptrust.errors",
    "keeptrust.results",
    "keeptrust.provider",
    "keeptrust.policy",
    "keeptrust.texts",
    "keeptrust.transport",
    "keeptrust.openai_compat",
    "keeptrust.downloads",
    "keeptrust.hosted_models",
    "keeptrust.failures",
    "keeptrust.metrics",
    "keeptrust.tracing",
    "keeptrust.distributions",
    "keeptrust.secrets",
    "keeptrust.plugins",
    "keeptrust.config.model",
    "keeptrust.config.structure",
    "keeptrust.audit.sink",
    "keeptrust.audit.tables",
    "keeptrust.audit.locations",
    "keeptrust.audit.verify",
    "keeptrust.audit.query",
    "keeptrust.audit.segments",
    "keeptrust.builtins.audit_commands",
    "keeptrust.testing",
    "keeptrust.server.validate",
    "keeptrust.demo.asgi",
)

from keeptrust.config.model import SecretRef, TargetConfig  # noqa: E402
from keeptrust.context import RequestContext, UploadedFile, Usage  # noqa: E402
from keeptrust.errors import GatewayError  # noqa: E402
from keeptrust.hookspecs import hookimpl  # noqa: E402
from keeptrust.policy import (  # noqa: E402
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
from keeptrust.provider import Provider, ProviderEnv  # noqa: E402
from keeptrust.results import BinaryResult, JSONResult, Result, StreamResult  # noqa: E402
from keeptrust.texts import TextRef, register_operation_texts, request_texts, response_texts  # noqa: E402

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
    "PUBLIC_MODULES",
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
    "register_operation_texts",
    "UploadedFile",
    "Usage",
    "__version__",
    "hookimpl",
    "request_texts",
    "response_texts",
]

"""Loading and validating ``policy-config.yaml``."""

from keeptrust.config.loader import LoadedConfig, load_config, load_config_data
from keeptrust.config.model import (
    AuthConfig,
    AuthKey,
    GatewayConfig,
    Pack,
    Policies,
    SecretRef,
    ServerConfig,
    TargetConfig,
)
from keeptrust.config.structure import make_converter, structure

__all__ = [
    "AuthConfig",
    "AuthKey",
    "GatewayConfig",
    "LoadedConfig",
    "Pack",
    "Policies",
    "SecretRef",
    "ServerConfig",
    "TargetConfig",
    "load_config",
    "load_config_data",
    "make_converter",
    "structure",
]

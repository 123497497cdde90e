"""The HTTP side of the gateway: ASGI app, request reading, streaming and the hypercorn runner."""

from keeptrust.server.app import GatewayApp, GatewayRequest
from keeptrust.server.gateway import Gateway, build_gateway

__all__ = ["Gateway", "GatewayApp", "GatewayRequest", "build_gateway"]

"""Test kit for keeptrust and its plugins: real servers on loopback, no mocks of the wire.

    from keeptrust.testing import start_gateway, serve_app
    from keeptrust.demo import FakeOpenAI

The pytest fixtures (``fake_upstream``, ``gateway_factory``) are registered automatically through
the ``pytest11`` entry point when ``keeptrust`` is installed.
"""

from keeptrust.testing.gateway import RunningGateway, openai_target, start_gateway
from keeptrust.testing.servers import BackgroundServer, serve_app

__all__ = ["BackgroundServer", "RunningGateway", "openai_target", "serve_app", "start_gateway"]

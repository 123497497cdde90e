"""Test kit for keeptrust and its plugins: real servers on loopback, no mocks of the wire.

    from keeptrust.testing import start_gateway, serve_app, AuditCollector, spec_examples
    from keeptrust.demo import FakeOpenAI

The pytest fixtures (``fake_upstream``, ``gateway_factory``) are registered automatically through
the ``pytest11`` entry point when ``keeptrust`` is installed.
"""

from keeptrust.testing.collector import AuditCollector
from keeptrust.testing.examples import spec_examples, spec_examples_dir
from keeptrust.testing.gateway import RunningGateway, gateways, openai_target, start_gateway
from keeptrust.testing.hosted import FakeHostedTask
from keeptrust.testing.servers import BackgroundServer, serve_app, servers

__all__ = [
    "AuditCollector",
    "BackgroundServer",
    "FakeHostedTask",
    "RunningGateway",
    "gateways",
    "openai_target",
    "serve_app",
    "servers",
    "spec_examples",
    "spec_examples_dir",
    "start_gateway",
]

"""pytest fixtures, available to every project that installs keeptrust (``pytest11`` entry point).

- ``fake_upstream``: a ``FakeOpenAI`` served on loopback; ``fake_upstream.url`` is its root and
  ``fake_upstream.app`` the ``FakeOpenAI`` (``.requests``, ``.fail_next(...)``).
- ``gateway_factory(config, environ=None, extra_plugins=(), disable=())``: starts a gateway from a
  config dict and stops it after the test; returns a ``RunningGateway`` (``.base_url``, ``.client()``).
- ``redis_url``: a real Redis database, emptied for the test (``keeptrust.testing.services``).
- ``serve(asgi_app)``: serves any ASGI app (a fake upstream of your own) on loopback for the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from keeptrust.demo import FakeOpenAI
from keeptrust.testing.gateway import RunningGateway, gateways
from keeptrust.testing.servers import BackgroundServer, servers
from keeptrust.testing.services import redis_server_url, redis_url  # noqa: F401 - fixtures


@pytest.fixture
def fake_upstream() -> Iterator[BackgroundServer]:
    server = BackgroundServer(FakeOpenAI()).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def gateway_factory() -> Iterator[Callable[..., RunningGateway]]:
    with gateways() as start:
        yield start


@pytest.fixture
def serve() -> Iterator[Callable[..., BackgroundServer]]:
    """``serve(asgi_app)`` -> a started ``BackgroundServer`` on loopback, stopped after the test."""
    with servers() as start:
        yield start

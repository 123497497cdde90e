"""Test kit for keeptrust-hf and backend packages: fake Hugging Face services on loopback.

    from keeptrust_hf.testing import FakeHF, FakeTGI, serve_fake_hf, fake_hf_environ

``FakeHF`` is the Hub API plus the Inference Providers router; ``FakeTGI`` a Dedicated Endpoint
(TGI or a plain pipeline). Both record every request (``.requests``, ``.last``) and misbehave on
demand (``.fail_next(path_prefix, status, body, headers, times)``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from keeptrust.testing import BackgroundServer, RunningGateway, gateways, serve_app
from keeptrust_hf.testing.asgi import FLAC, MP3, PNG, WAV, FakeRequest, FakeResponse, sse
from keeptrust_hf.testing.direct import (
    DirectBackend,
    direct_backend,
    direct_target,
    reference_request,
    serve_backend_api,
)
from keeptrust_hf.testing.environ import TOKEN, TOKEN_ENV, fake_hf_environ
from keeptrust_hf.testing.fake_hf import FakeHF, vector
from keeptrust_hf.testing.fake_tgi import FakeTGI

# The fakes serve result files (images, audio) on loopback, which a real target refuses to fetch.
LOOPBACK_DOWNLOADS = {"allow_networks": ["127.0.0.0/8", "::1/128"]}


def hf_target(target_id: str = "hf", **keys: Any) -> dict[str, Any]:
    """A ``huggingface`` target entry using ``TOKEN_ENV`` as its secret, plus ``keys``.

    It may fetch result files from loopback (``LOOPBACK_DOWNLOADS``), where the fakes serve them."""
    return {
        "id": target_id,
        "provider": "huggingface",
        "secret_key_ref": {"env": TOKEN_ENV},
        "downloads": LOOPBACK_DOWNLOADS,
        **keys,
    }


@contextmanager
def hf_gateways(*default_targets: dict[str, Any], **defaults: Any) -> Iterator[Callable[..., RunningGateway]]:
    """``start(*targets, environ=None, **config)`` starts a gateway whose config is ``targets`` (or
    ``default_targets``) plus ``config``, with ``TOKEN`` in ``TOKEN_ENV``; other keywords
    (``disable``, ``extra_plugins``) go to ``start_gateway``. Every gateway stops when the block ends."""
    with gateways(**defaults) as start_one:

        def start(*targets: dict[str, Any], environ: dict[str, str] | None = None, **config: Any) -> RunningGateway:
            options = {k: config.pop(k) for k in ("disable", "extra_plugins", "redactor") if k in config}
            data = {"providers": {"targets": list(targets or default_targets)}, **config}
            return start_one(data, environ={TOKEN_ENV: TOKEN, **(environ or {})}, **options)

        yield start


@contextmanager
def serve_fake_hf(app: Any = None) -> Iterator[BackgroundServer]:
    """Serve ``app`` (a new ``FakeHF(token=TOKEN)`` by default) on 127.0.0.1 for the block."""
    server = serve_app(app if app is not None else FakeHF(token=TOKEN))
    try:
        yield server
    finally:
        server.stop()


__all__ = [
    "FLAC",
    "LOOPBACK_DOWNLOADS",
    "MP3",
    "PNG",
    "TOKEN",
    "TOKEN_ENV",
    "WAV",
    "DirectBackend",
    "FakeHF",
    "FakeRequest",
    "FakeResponse",
    "FakeTGI",
    "direct_backend",
    "direct_target",
    "fake_hf_environ",
    "hf_gateways",
    "hf_target",
    "reference_request",
    "serve_backend_api",
    "serve_fake_hf",
    "sse",
    "vector",
]

"""The token and environment that point keeptrust-hf at the fakes of this test kit."""

from __future__ import annotations

from keeptrust.testing import BackgroundServer

TOKEN = "hf_" + "t" * 34
TOKEN_ENV = "HF_API_TOKEN"


def fake_hf_environ(server: BackgroundServer) -> dict[str, str]:
    """The environment that points keeptrust-hf at a served ``FakeHF`` (router and Hub)."""
    return {"KEEPTRUST_HF_ROUTER_URL": server.url, "KEEPTRUST_HF_HUB_URL": server.url}

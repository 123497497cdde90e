"""APIs spoken at the edge and translated to one of the gateway's operations.

A dialect lets a client speak another API (Anthropic Messages, OpenAI's legacy completions) while
the request runs the gateway's own operation: the policy chain sees that operation's body, every
target serves it, and the answer is translated back after the response-phase policies ran. Errors
on a dialect's routes are written in the dialect's own shape.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from keeptrust.context import RequestContext
    from keeptrust.errors import GatewayError
    from keeptrust.results import Result
    from keeptrust.server.gateway import Gateway

ProviderCall = Callable[["RequestContext"], Awaitable["Result"]]


class Dialect(Protocol):
    name: str
    # The gateway operation the request becomes (``keeptrust.context`` constants).
    operation: str

    def request(self, body: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        """Validate the client's body and return the operation's body (raise ``RequestError``)."""

    async def execute(self, ctx: RequestContext, call: ProviderCall) -> Result:
        """Run the provider call (once, or once per part of the request) and merge the answers."""

    def result(self, ctx: RequestContext, result: Result) -> Result:
        """The operation's answer, set up to be written in the dialect's shape after the policies."""

    def error(self, exc: GatewayError, request_id: str | None) -> tuple[int, bytes]:
        """Status and body of an error on this dialect's routes."""

    async def local(self, ctx: RequestContext, gateway: Gateway) -> Result | None:
        """An answer the gateway gives itself, without the chain or an upstream (or ``None``)."""


def dialect_routes() -> dict[str, Dialect]:
    """Path → dialect, for every dialect the core speaks."""
    from keeptrust.anthropic import COUNT_TOKENS, MESSAGES
    from keeptrust.completions import COMPLETIONS

    routes: dict[str, Dialect] = {"/v1/completions": COMPLETIONS}
    for prefix in ("", "/anthropic"):
        routes[prefix + "/v1/messages"] = MESSAGES
        routes[prefix + "/v1/messages/count_tokens"] = COUNT_TOKENS
    return routes

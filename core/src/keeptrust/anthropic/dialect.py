"""The Messages API as a dialect of the chat operation (``keeptrust.dialects``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from keeptrust.anthropic.answer import MessagesStream, to_message
from keeptrust.anthropic.errors import error_body
from keeptrust.anthropic.request import to_chat
from keeptrust.anthropic.tokens import estimate
from keeptrust.context import CHAT
from keeptrust.results import JSONResult, StreamResult

if TYPE_CHECKING:
    from keeptrust.context import RequestContext
    from keeptrust.dialects import ProviderCall
    from keeptrust.errors import GatewayError
    from keeptrust.results import Result
    from keeptrust.server.gateway import Gateway


def _stops(ctx: RequestContext) -> list[str]:
    stop = ctx.body.get("stop")
    return [stop] if isinstance(stop, str) else [s for s in stop or () if isinstance(s, str)]


class MessagesDialect:
    """``POST /v1/messages``: Anthropic Messages in, the chat operation inside, Messages out."""

    name = "anthropic"
    operation = CHAT

    def request(self, body: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        return to_chat(body)

    async def execute(self, ctx: RequestContext, call: ProviderCall) -> Result:
        return await call(ctx)

    def result(self, ctx: RequestContext, result: Result) -> Result:
        model, stops = ctx.model, _stops(ctx)
        if isinstance(result, StreamResult):
            result.encoder = MessagesStream(ctx, model, stops)
            return result
        if isinstance(result, JSONResult) and result.status < 400:

            def render(body: Any) -> tuple[bytes, str]:
                return orjson.dumps(to_message(body, ctx, model, stops)), "application/json"

            result.render = render
        return result

    def error(self, exc: GatewayError, request_id: str | None) -> tuple[int, bytes]:
        return error_body(exc, request_id)

    async def local(self, ctx: RequestContext, gateway: Gateway) -> Result | None:
        return None


class CountTokensDialect(MessagesDialect):
    """``POST /v1/messages/count_tokens``: answered by the gateway (see ``keeptrust.anthropic.tokens``)."""

    operation = "count_tokens"

    def request(self, body: dict[str, Any], ctx: RequestContext) -> dict[str, Any]:
        # count_tokens takes a Messages body without max_tokens.
        return to_chat({"max_tokens": 1, **body})

    def result(self, ctx: RequestContext, result: Result) -> Result:
        return result

    async def local(self, ctx: RequestContext, gateway: Gateway) -> Result | None:
        return JSONResult({"input_tokens": estimate(ctx.body)}, headers={"x-keeptrust-token-count": "estimate"})


MESSAGES = MessagesDialect()
COUNT_TOKENS = CountTokensDialect()

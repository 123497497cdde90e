"""A test policy with every per-request method: blocks a request that says "forbidden", flags one
that says "flag me", filters streams (passing text through) and completes. Loaded in-process as an
extra plugin, and by ``kt gateway run`` through an entry point written next to it."""

from __future__ import annotations

from typing import Any

from keeptrust import Block, Flag, Policy, hookimpl, request_texts


class PassThrough:
    def feed(self, text: str) -> str:
        return text

    def flush(self) -> str:
        return ""


class Words(Policy):
    name = "words"

    async def on_request(self, ctx: Any) -> Any:
        text = " ".join(ref.text for ref in request_texts(ctx.operation, ctx.body)).lower()
        if "forbidden" in text:
            return Block("the request contains a forbidden word", reason="forbidden word")
        if "flag me" in text:
            return Flag(reason="asked to be flagged")
        return None

    def stream_filter(self, ctx: Any) -> PassThrough:
        return PassThrough()

    async def on_complete(self, ctx: Any) -> None:
        return None


@hookimpl
def register_policies(register: Any) -> None:
    register(Words)

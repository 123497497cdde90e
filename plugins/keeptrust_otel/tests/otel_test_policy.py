"""A test policy with every per-request method: blocks a request that says "forbidden", flags one
that says "flag me", filters streams (passing text through) and completes. Loaded in-process as an
extra plugin, and by ``kt gateway run`` through an entry point written next to it.

A request that says "hold the worker" stalls its whole worker process (a blocking wait, on purpose)
until the file ``release`` appears in ``$OTEL_TEST_HOLD_DIR``, having written ``held`` there first:
while one worker is stalled the other must accept the next connection, so a test can reach both
workers of ``--workers 2`` for certain."""

from __future__ import annotations

import os
import time
from pathlib import Path
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
        if "hold the worker" in text:
            _hold_this_process(Path(os.environ["OTEL_TEST_HOLD_DIR"]))
        return None

    def stream_filter(self, ctx: Any) -> PassThrough:
        return PassThrough()

    async def on_complete(self, ctx: Any) -> None:
        return None


def _hold_this_process(directory: Path, limit_s: float = 30.0) -> None:
    (directory / "held").write_text(str(os.getpid()))
    deadline = time.monotonic() + limit_s
    while not (directory / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.01)


@hookimpl
def register_policies(register: Any) -> None:
    register(Words)

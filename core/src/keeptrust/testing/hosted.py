"""A fake of one hf-inference task route, for tests of policies that call a hosted model through
``keeptrust.hosted_models``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import orjson
import trio

from keeptrust.demo.asgi import accept, answer_unless_disconnected


class FakeHostedTask:
    """Answers ``POST /hf-inference/models/{model}`` as hf-inference does for one task.

    The body must follow the task's input schema (huggingface.js ``@huggingface/tasks``,
    ``<task>/input.json``): ``inputs`` one string, ``parameters`` only among ``parameters``; anything
    else is a 422, as a real endpoint refuses it. A valid body gets ``answer(inputs)`` as JSON.
    ``requests`` records each request's path, headers and body; ``delay`` (seconds) makes it slow and
    a ``status`` other than 200 makes it fail; both may be changed while it serves."""

    def __init__(
        self, parameters: Iterable[str], answer: Callable[[str], Any], delay: float = 0.0, status: int = 200
    ) -> None:
        self.parameters = frozenset(parameters)
        self.answer = answer
        self.delay = delay
        self.status = status
        self.requests: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        incoming = await accept(scope, receive, send)
        if incoming is None:
            return
        self.requests.append({"path": incoming.path, "headers": incoming.headers, "body": incoming.json})
        await answer_unless_disconnected(receive, lambda: self._respond(incoming.json, send))

    async def _respond(self, payload: Any, send: Any) -> None:
        if self.delay:
            await trio.sleep(self.delay)
        inputs = payload.get("inputs") if isinstance(payload, dict) else None
        if (
            not isinstance(inputs, str)
            or set(payload) - {"inputs", "parameters"}
            or set(payload.get("parameters") or {}) - self.parameters
        ):
            status, body = 422, {"error": "bad payload"}
        elif self.status != 200:
            status, body = self.status, {"error": "boom"}
        else:
            status, body = 200, self.answer(inputs)
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": orjson.dumps(body)})


__all__ = ["FakeHostedTask"]

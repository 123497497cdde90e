"""An audit collector on loopback: what the ``api`` audit sink POSTs to."""

from __future__ import annotations

from typing import Any

from keeptrust.demo.asgi import accept


class AuditCollector:
    """ASGI app keeping every batch POSTed to it (``batches``, ``headers``); answers 200 ``{}``.
    ``records`` is every record of every batch, in arrival order."""

    def __init__(self) -> None:
        self.batches: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        incoming = await accept(scope, receive, send)
        if incoming is None:
            return
        self.batches.append(incoming.json)
        self.headers.append(incoming.headers)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b"{}"})

    @property
    def records(self) -> list[dict[str, Any]]:
        return [r for batch in self.batches for r in batch["records"]]

"""Serving an ASGI app on loopback from a background thread, for tests driven by sync clients
(the ``openai`` SDK, ``httpx.Client``, subprocesses)."""

from __future__ import annotations

import threading
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio import serve


class BackgroundServer:
    """An ASGI app served by hypercorn's trio worker in its own thread and trio run.

    ``url`` is ``http://127.0.0.1:<port>``; ``stop()`` shuts it down gracefully and joins the thread.
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, graceful_timeout: float = 0.5) -> None:
        self.app = app
        self.config = Config()
        self.config.bind = [f"{host}:{port}"]
        self.config.accesslog = None
        self.config.errorlog = None
        self.config.graceful_timeout = graceful_timeout
        self.config.keep_alive_timeout = 30
        self.url = ""
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._stop: trio.Event | None = None
        self._thread = threading.Thread(target=self._main, daemon=True, name=f"server-{type(app).__name__}")

    def start(self, timeout: float = 30.0) -> BackgroundServer:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the server did not start in time")
        if self._error is not None:
            raise self._error
        return self

    def _main(self) -> None:
        async def main() -> None:
            self._token = trio.lowlevel.current_trio_token()
            self._stop = trio.Event()
            async with trio.open_nursery() as nursery:
                binds = await nursery.start(
                    lambda task_status: serve(
                        self.app,
                        self.config,
                        shutdown_trigger=self._stop.wait,  # type: ignore[union-attr]
                        task_status=task_status,
                    )
                )
                self.url = binds[0]
                self._ready.set()

        try:
            trio.run(main)
        except BaseException as exc:  # handed to the starting thread
            self._error = exc
            self._ready.set()

    def stop(self, timeout: float = 15.0) -> None:
        if self._token is not None and self._stop is not None and self._thread.is_alive():
            try:
                trio.from_thread.run_sync(self._stop.set, trio_token=self._token)
            except trio.RunFinishedError:
                pass
        self._thread.join(timeout)

    def __enter__(self) -> BackgroundServer:
        return self.start() if not self._thread.is_alive() else self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def serve_app(app: Any, **kwargs: Any) -> BackgroundServer:
    """Start ``app`` on 127.0.0.1 (a free port) and return the running server."""
    return BackgroundServer(app, **kwargs).start()

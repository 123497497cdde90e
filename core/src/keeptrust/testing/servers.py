"""Serving an ASGI app on loopback from a background thread, for tests driven by sync clients
(the ``openai`` SDK, ``httpx.Client``, subprocesses)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio import serve


class BackgroundServer:
    """An ASGI app served by hypercorn's trio worker in its own thread and trio run.

    ``url`` is ``http://127.0.0.1:<port>``; ``stop()`` waits up to ``graceful_timeout`` for requests
    still being handled (the app's whole call, so work after the answer such as audit records
    counts), then closes every connection and joins the thread. Idle keep-alive connections (an
    ``openai`` or ``httpx`` client a test never closed) do not hold the stop up: hypercorn 0.18 does
    not always close them at shutdown and would wait out its graceful timeout for each server.
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
        self._in_flight = 0
        self._idle: trio.Event | None = None
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
            self._idle = trio.Event()
            self._idle.set()
            async with trio.open_nursery() as nursery:
                binds = await nursery.start(
                    lambda task_status: serve(
                        self._counted,
                        self.config,
                        shutdown_trigger=self._shutdown_trigger,
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

    async def _counted(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self._in_flight += 1
        self._idle = self._idle if self._in_flight > 1 else trio.Event()
        try:
            await self.app(scope, receive, send)
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()  # type: ignore[union-attr]

    async def _shutdown_trigger(self) -> None:
        await self._stop.wait()  # type: ignore[union-attr]
        with trio.move_on_after(self.config.graceful_timeout):
            await self._idle.wait()  # type: ignore[union-attr]
        # Nothing left to wait for (or its time is up): hypercorn cancels the connections at once.
        self.config.graceful_timeout = 0.0

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


@contextmanager
def servers() -> Iterator[Callable[..., BackgroundServer]]:
    """``serve(app, **kwargs)`` starts ``app`` on loopback; every server is stopped when the block ends."""
    started: list[BackgroundServer] = []

    def serve(app: Any, **kwargs: Any) -> BackgroundServer:
        started.append(serve_app(app, **kwargs))
        return started[-1]

    try:
        yield serve
    finally:
        for server in started:
            server.stop()

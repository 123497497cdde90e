"""``--workers N``: the master process that starts the trio workers on one shared socket.

It plays hypercorn's own master (``hypercorn.run.run``) with one difference: hypercorn answers
``SIGHUP`` by stopping every worker and starting new ones (a config error then takes the gateway
down, and no worker accepts connections meanwhile). Here ``SIGHUP`` validates the config file in
full in the master, logs every error if it is invalid, and otherwise forwards the signal to every
worker, each of which reloads in place (``keeptrust.server.reload``). ``SIGTERM``/``SIGINT`` drain
and stop every worker; a worker that fails stops the others.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from multiprocessing import get_context
from multiprocessing.connection import wait
from typing import Any

from hypercorn.config import Config

logger = logging.getLogger("keeptrust")


def run_workers(config: Config, workers: int, validate: Callable[[], bool]) -> int:
    """Serve with ``workers`` processes until a shutdown signal; the exit code of the first failed
    worker, else 0. ``validate`` checks the config file before a reload is forwarded."""
    from hypercorn.trio.run import trio_worker

    sockets = config.create_sockets()
    ctx = get_context("spawn")
    shutdown = ctx.Event()
    # Ignored while the workers start, so they inherit it: the master turns SIGINT into a drain.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    processes: list[Any] = []
    for _ in range(workers):
        process = ctx.Process(
            target=trio_worker, kwargs={"config": config, "shutdown_event": shutdown, "sockets": sockets}
        )
        process.start()
        processes.append(process)

    def stop(signum: int, frame: Any) -> None:
        logger.info("received %s: draining in-flight requests", signal.Signals(signum).name)
        shutdown.set()

    def reload(signum: int, frame: Any) -> None:
        if shutdown.is_set():
            return
        if not validate():
            return
        for process in processes:
            if process.exitcode is None and process.pid is not None:
                os.kill(process.pid, signal.SIGHUP)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, reload)
    code = 0
    try:
        alive = list(processes)
        while alive:
            wait([p.sentinel for p in alive])
            for process in [p for p in alive if p.exitcode is not None]:
                alive.remove(process)
                if process.exitcode and not shutdown.is_set():
                    logger.error("worker %d exited with %d: stopping the others", process.pid, process.exitcode)
                    code = code or process.exitcode
                    shutdown.set()
            if alive and not shutdown.is_set():
                # A worker that exits 0 without being asked to is treated as a stop request too.
                shutdown.set()
    finally:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        for process in processes:
            process.join(5)
            if process.exitcode is None:
                process.terminate()
        for sock in [*sockets.secure_sockets, *sockets.insecure_sockets]:
            sock.close()
    return code

"""The gateway's long-lived objects and Python's cyclic garbage collector.

Before it serves, a gateway builds what it keeps for its whole life: the config, and the policies'
models, vocabularies and word lists (about 165,000 objects the collector tracks with the guard and
presidio plugins). Each full collection walks every tracked object, and under load the collector
runs one every few seconds: with the benchmark harness's policy chain each stalled every request in
flight for 350-400 ms (two gateways sharing one CPU; ``benchmarks/RESULTS.md``, section 16), 10 ms
once frozen, and the gateway served 9.5 % more requests. ``freeze`` moves what is alive
once the gateway is built into the collector's permanent generation (``gc.freeze``,
https://docs.python.org/3/library/gc.html#gc.freeze), which no collection walks; reference counting
still frees those objects when they are dropped, and requests' own objects are collected as before.

Only a process that serves one gateway freezes (``kt gateway run`` and each of its ``--workers``),
never one that embeds the app (the test harness). After a reload, once the old generation has
closed, ``refreeze`` makes its objects collectable again, so the cycles it leaves are freed, and
freezes the new generation: one full collection, once per reload.
"""

from __future__ import annotations

import gc
import logging

logger = logging.getLogger("keeptrust.server")


def freeze() -> None:
    """Collect, then keep every object alive now out of the collector's full collections."""
    gc.collect()
    gc.freeze()
    logger.info("kept %d long-lived objects out of the garbage collector's full collections", gc.get_freeze_count())


def refreeze() -> None:
    """After a reload's old generation has closed, in a process that froze its heap: collect what
    the old generation left, and freeze the new one."""
    if gc.get_freeze_count() == 0:
        return
    gc.unfreeze()
    freeze()

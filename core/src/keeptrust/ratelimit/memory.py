"""GCRA state in this process: exact for one gateway process, per process with ``--workers N``."""

from __future__ import annotations

import time

from keeptrust.ratelimit.gcra import Outcome, Rate, Take, decide

# Keys whose allowance is full again carry no information; past this many entries they are dropped.
SWEEP_AT = 100_000


class MemoryStore:
    """A dict of TATs. Runs on the event loop (no awaits inside a decision, so it is atomic)."""

    def __init__(self) -> None:
        self._tats: dict[str, float] = {}

    async def take(self, key: str, rate: Rate, cost: float, *, check: bool = True, charge: bool = True) -> Outcome:
        now = time.monotonic()
        result, new_tat = decide(rate, self._tats.get(key), now, cost, check, charge)
        if new_tat is not None:
            self._tats[key] = new_tat
            if len(self._tats) > SWEEP_AT:
                self._tats = {k: t for k, t in self._tats.items() if t > now}
        return result

    async def take_all(self, takes: list[Take]) -> list[Outcome]:
        results = []
        for take in takes:  # no await in between: atomic on the event loop
            result = await self.take(take.key, take.rate, take.cost, check=take.check, charge=take.charge)
            results.append(result)
            if not result.allowed:
                break
        return results

    async def aclose(self) -> None:
        self._tats.clear()

    def __len__(self) -> int:
        return len(self._tats)

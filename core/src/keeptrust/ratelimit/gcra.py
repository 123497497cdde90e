"""GCRA arithmetic shared by every store, and the store interface."""

from __future__ import annotations

import math
from typing import Protocol

import attrs


class StoreUnavailable(Exception):
    """The store could not answer (Redis down, timed out); the policy's ``on_store_error`` decides."""


@attrs.frozen
class Rate:
    """``per_minute`` units a minute, of which up to ``burst`` may be spent at once."""

    per_minute: float
    burst: float

    @property
    def interval(self) -> float:
        """Seconds between two units at the steady rate."""
        return 60.0 / self.per_minute

    @property
    def tolerance(self) -> float:
        """How far ahead of now the TAT may run, in seconds."""
        return self.burst * self.interval


@attrs.frozen
class Outcome:
    """What a store answered for one key.

    ``remaining`` units may still be spent now; ``reset_after`` seconds until the allowance is full
    again; ``retry_after`` seconds until a denied request would pass (0 when allowed)."""

    allowed: bool
    remaining: int
    reset_after: float
    retry_after: float = 0.0


def outcome(rate: Rate, allowed: bool, ahead: float, retry_after: float = 0.0) -> Outcome:
    """An ``Outcome`` from how far (seconds) the key's TAT is ahead of now after the decision."""
    ahead = max(ahead, 0.0)
    remaining = max(0, math.floor((rate.tolerance - ahead) / rate.interval + 1e-9))
    return Outcome(allowed, remaining, ahead, max(retry_after, 0.0))


def decide(
    rate: Rate, tat: float | None, now: float, cost: float, check: bool, charge: bool = True
) -> tuple[Outcome, float | None]:
    """The decision for one key whose stored TAT is ``tat`` (None: never seen), and the TAT to store
    (None: leave it). ``check`` False charges without checking (tokens reported after the answer);
    ``charge`` False only asks whether ``cost`` would fit (a request needs one token of allowance)."""
    tat = now if tat is None or tat < now else tat
    new_tat = tat + cost * rate.interval
    if check and new_tat - now > rate.tolerance + 1e-9:
        return outcome(rate, False, tat - now, new_tat - rate.tolerance - now), None
    if not charge:
        return outcome(rate, True, tat - now), None
    return outcome(rate, True, new_tat - now), (new_tat if cost else None)


@attrs.frozen
class Take:
    """One key's part of a decision (see ``Store.take_all``)."""

    key: str
    rate: Rate
    cost: float
    check: bool = True
    charge: bool = True


class Store(Protocol):
    """Where GCRA state lives. ``cost`` 0 with ``check`` asks whether a key is within its allowance."""

    async def take(self, key: str, rate: Rate, cost: float, *, check: bool = True, charge: bool = True) -> Outcome: ...

    async def take_all(self, takes: list[Take]) -> list[Outcome]:
        """Decide ``takes`` in order as one atomic step, stopping at the first refusal (the result
        then ends with that refusal; later keys are neither decided nor charged)."""
        ...

    async def aclose(self) -> None: ...

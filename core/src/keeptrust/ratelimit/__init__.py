"""Rate limits: the GCRA algorithm and the stores that keep its state (this process, or Redis).

GCRA (the generic cell rate algorithm, as in ATM networks and many API gateways) keeps one number
per limited key, its "theoretical arrival time" (TAT): the moment at which the key would be back to
a full allowance. A rate of ``per_minute`` units spaces units ``60 / per_minute`` seconds apart; a
``burst`` of B units lets the TAT run up to ``B`` such intervals ahead of now. A request of cost
``c`` is allowed when pushing the TAT ``c`` intervals further keeps it within that tolerance.
One number, one atomic read-modify-write: the same result in one process and across gateways that
share a Redis.

Token limits are charged after the fact (usage is known when the answer ends): a request is let
through while the key is within its allowance, and its tokens are charged at the end, which may push
the key into debt that later requests wait out.
"""

from keeptrust.ratelimit.gcra import Outcome, Rate, StoreUnavailable, Take
from keeptrust.ratelimit.memory import MemoryStore

__all__ = ["MemoryStore", "Outcome", "Rate", "StoreUnavailable", "Take"]

"""GCRA state in Redis, shared by every gateway that points at the same database.

The decision is one Lua script, so it is atomic across gateways, and it reads the clock from Redis
(``TIME``) so gateways whose clocks differ still agree. The script runs by its SHA1 (``EVALSHA``)
over ``keeptrust.ratelimit.redis_client``: trio streams on the event loop, no worker threads.
"""

from __future__ import annotations

from keeptrust.ratelimit.gcra import Outcome, Rate, StoreUnavailable, Take, outcome
from keeptrust.ratelimit.redis_client import RedisClient, RedisError, Script

# One call decides several keys in order, atomically, stopping at the first refusal (a request's
# token allowance, then its request count: one round trip). Per key, ARGV holds five values:
# interval (µs per unit), tolerance (µs), cost (units), check (1/0), charge (1/0). Returns, per key
# decided, {allowed, µs the TAT is ahead of now after the decision, µs until a refused key passes}.
GCRA_LUA = Script("""
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local out = {}
for i, key in ipairs(KEYS) do
  local base = (i - 1) * 5
  local interval = tonumber(ARGV[base + 1])
  local tolerance = tonumber(ARGV[base + 2])
  local cost = tonumber(ARGV[base + 3])
  local tat = tonumber(redis.call('GET', key))
  if not tat or tat < now then tat = now end
  local new_tat = tat + cost * interval
  if ARGV[base + 4] == '1' and new_tat - now > tolerance then
    out[#out + 1] = {0, math.floor(tat - now), math.ceil(new_tat - tolerance - now)}
    return out
  end
  if ARGV[base + 5] ~= '1' then
    out[#out + 1] = {1, math.floor(tat - now), 0}
  else
    if cost > 0 then
      redis.call('SET', key, string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
    end
    out[#out + 1] = {1, math.floor(new_tat - now), 0}
  end
end
return out
""")


class RedisStore:
    """GCRA over Redis. ``url`` is ``redis://[user:password@]host:port/db``, ``rediss://`` (TLS) or
    ``unix:///path/to.sock?db=N``; each call must finish within ``timeout`` seconds."""

    def __init__(self, url: str, *, timeout: float = 0.25, max_connections: int = 16) -> None:
        self.client = RedisClient(url, timeout=timeout, max_connections=max_connections)

    async def take_all(self, takes: list[Take]) -> list[Outcome]:
        args: list[float] = []
        for take in takes:
            args += [take.rate.interval * 1e6, take.rate.tolerance * 1e6, take.cost, int(take.check), int(take.charge)]
        try:
            replies = await self.client.evalsha(GCRA_LUA, [take.key for take in takes], args)
        except RedisError as exc:
            raise StoreUnavailable(str(exc)) from None
        return [
            outcome(take.rate, bool(allowed), ahead_us / 1e6, retry_us / 1e6)
            for take, (allowed, ahead_us, retry_us) in zip(takes, replies, strict=False)
        ]

    async def take(self, key: str, rate: Rate, cost: float, *, check: bool = True, charge: bool = True) -> Outcome:
        (result,) = await self.take_all([Take(key, rate, cost, check, charge)])
        return result

    async def aclose(self) -> None:
        await self.client.aclose()

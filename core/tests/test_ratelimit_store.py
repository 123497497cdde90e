"""GCRA decisions, the same in this process and across gateways sharing a real Redis."""

from __future__ import annotations

import pytest
import trio

from keeptrust.ratelimit import MemoryStore, Rate, StoreUnavailable
from keeptrust.ratelimit.gcra import decide
from keeptrust.ratelimit.redis_store import RedisStore

PER_SECOND_BURST_3 = Rate(per_minute=60, burst=3)


def test_a_burst_then_the_steady_rate():
    tat, now = None, 1000.0
    remaining = []
    for _ in range(3):
        result, tat = decide(PER_SECOND_BURST_3, tat, now, 1, True)
        assert result.allowed
        remaining.append(result.remaining)
    assert remaining == [2, 1, 0]
    denied, unchanged = decide(PER_SECOND_BURST_3, tat, now, 1, True)
    assert not denied.allowed and unchanged is None
    assert denied.retry_after == pytest.approx(1.0)
    assert denied.reset_after == pytest.approx(3.0)
    # One interval later exactly one more unit is available.
    later, _ = decide(PER_SECOND_BURST_3, tat, now + 1.0, 1, True)
    assert later.allowed and later.remaining == 0


def test_tokens_are_charged_after_the_fact_and_their_debt_waited_out():
    tokens = Rate(per_minute=600, burst=600)  # 10 a second
    result, tat = decide(tokens, None, 0.0, 1, True, charge=False)  # one token left: let through
    assert result.allowed and tat is None and result.remaining == 600
    result, tat = decide(tokens, tat, 0.0, 900, False)  # the answer used 900: 300 over
    assert result.allowed
    blocked, _ = decide(tokens, tat, 0.0, 1, True, charge=False)
    assert not blocked.allowed and blocked.retry_after == pytest.approx(30.1)
    assert decide(tokens, tat, 30.1, 1, True, charge=False)[0].allowed


async def test_memory_store_counts_exactly():
    store = MemoryStore()
    outcomes = [await store.take("k", PER_SECOND_BURST_3, 1) for _ in range(5)]
    assert [o.allowed for o in outcomes] == [True, True, True, False, False]
    assert (await store.take("other", PER_SECOND_BURST_3, 1)).allowed  # keys are independent


async def test_two_gateways_sharing_redis_count_exactly(redis_url):
    # Two stores stand for two gateway processes; 60 concurrent requests against a burst of 20.
    rate = Rate(per_minute=20, burst=20)
    stores = [RedisStore(redis_url), RedisStore(redis_url)]
    allowed = []

    async def one(i: int) -> None:
        outcome = await stores[i % 2].take("keeptrust:test:key", rate, 1)
        allowed.append(outcome.allowed)

    async with trio.open_nursery() as nursery:
        for i in range(60):
            nursery.start_soon(one, i)
    assert allowed.count(True) == 20
    denied = await stores[0].take("keeptrust:test:key", rate, 1)
    assert not denied.allowed and 0 < denied.retry_after <= 3.0
    for store in stores:
        await store.aclose()


async def test_redis_down_is_reported_quickly():
    store = RedisStore("redis://127.0.0.1:9/0", timeout=0.2)  # nothing listens on port 9
    with trio.fail_after(5):
        with pytest.raises(StoreUnavailable, match=r"cannot connect to Redis at 127\.0\.0\.1:9 "):
            await store.take("k", PER_SECOND_BURST_3, 1)
    await store.aclose()


async def test_take_all_decides_in_order_and_stops_at_the_first_refusal(redis_url):
    from keeptrust.ratelimit import Take

    one = Rate(per_minute=60, burst=1)
    for store in (MemoryStore(), RedisStore(redis_url)):
        first = await store.take_all([Take("t:tokens", one, 1, charge=False), Take("t:requests", one, 1)])
        assert [o.allowed for o in first] == [True, True]
        # The request key is spent: the second call stops there, having charged nothing else.
        second = await store.take_all([Take("t:requests", one, 1), Take("t:other", one, 1)])
        assert [o.allowed for o in second] == [False]
        assert (await store.take("t:other", one, 1)).allowed
        await store.aclose()

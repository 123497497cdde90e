"""Target groups: several targets behind one id, with fallback, weighted spreading or least-busy
picking, and a circuit breaker per member.

A group is a ``Target`` whose provider is a ``GroupProvider``, so it is addressable wherever a
target is: by id in a request's ``model``, in router rules, in ``allowed_targets``. Members may be
targets or other groups (cycles are a config error).

Failing over: a member's call that raises a connect error, a timeout, a 429 or a 5xx (the
``GatewayError`` the transport maps those to) moves on to the next member. That happens only
before the first byte reaches the client: once a member returned its answer (for a stream: its
status line and headers), that answer is the client's, whatever happens next. Client errors
(400, 401, 403, 404, a policy block) are passed on at once: another member would refuse them too.

The breaker: after ``failure_threshold`` failures in a row a member is *open* (skipped) for
``cooldown_seconds``; then one request tries it (*half-open*): success closes it, failure opens it
again. State changes are logged, and ``/readyz`` shows each group's members and their state.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from keeptrust import metrics
from keeptrust.config.model import TargetGroupConfig
from keeptrust.errors import GatewayError, InternalError, UpstreamUnavailable
from keeptrust.results import StreamResult

if TYPE_CHECKING:
    from keeptrust.context import RequestContext
    from keeptrust.results import Result
    from keeptrust.targets import Target

logger = logging.getLogger("keeptrust.groups")


def fails_over(exc: GatewayError) -> bool:
    """Whether another member may succeed where this one failed: connect errors and timeouts
    (502/504), rate limits (429) and upstream 5xx. A gateway bug (500) is not the member's fault."""
    return exc.status == 429 or (exc.status >= 500 and not isinstance(exc, InternalError))


@attrs.define
class Breaker:
    threshold: int
    cooldown: float
    failures: int = 0
    opened_at: float | None = None
    trial: bool = False  # a half-open trial request is in flight

    def state(self, now: float) -> str:
        if self.opened_at is None:
            return "closed"
        return "open" if now - self.opened_at < self.cooldown else "half-open"

    def admits(self, now: float) -> bool:
        state = self.state(now)
        if state == "closed":
            return True
        if state == "half-open" and not self.trial:
            self.trial = True
            return True
        return False


class GroupProvider:
    """The provider of a group target: picks members and calls their providers."""

    name = "group"

    def __init__(self, config: TargetGroupConfig, members: list[Target]) -> None:
        self.config = config
        self.members = members
        self.weights = config.weights
        self.breakers = {m.id: Breaker(config.failure_threshold, config.cooldown_seconds) for m in members}
        self.inflight = {m.id: 0 for m in members}
        self.naming_hint = None
        self._random = random.Random()

    # -- the provider interface
    def supports(self, operation: str) -> bool:
        return any(m.provider.supports(operation) for m in self.members)

    def resolve_model(self, model: str) -> str | None:
        return None

    async def list_models(self) -> list[dict[str, Any]]:
        return []

    async def aclose(self) -> None:
        """Members are targets of their own and are closed as such."""

    # -- picking
    def order(self) -> list[Target]:
        """Members in the order this request tries them."""
        strategy = self.config.strategy
        if strategy == "fallback":
            return list(self.members)
        if strategy == "least-busy":
            # Ties keep the configured order, so an idle group behaves like a fallback group.
            return sorted(self.members, key=lambda m: self.inflight[m.id])
        pool = list(zip(self.members, self.weights, strict=True))
        out: list[Target] = []
        while pool:
            pick = self._random.choices(range(len(pool)), weights=[w for _, w in pool])[0]
            out.append(pool.pop(pick)[0])
        return out

    def status(self) -> dict[str, Any]:
        now = time.monotonic()
        members = {}
        for m in self.members:
            breaker = self.breakers[m.id]
            state = breaker.state(now)
            entry: dict[str, Any] = {"state": state, "in_flight": self.inflight[m.id]}
            if state == "open" and breaker.opened_at is not None:
                entry["retry_in_seconds"] = round(breaker.cooldown - (now - breaker.opened_at), 1)
            members[m.id] = entry
        return {"strategy": self.config.strategy, "members": members}

    def _failed(self, member: Target, exc: GatewayError) -> None:
        breaker = self.breakers[member.id]
        breaker.failures += 1
        was_trial, breaker.trial = breaker.trial, False
        if was_trial or (breaker.opened_at is None and breaker.failures >= breaker.threshold):
            breaker.opened_at = time.monotonic()
            logger.warning(
                "group '%s': member '%s' is skipped for %gs after %d failure(s) in a row (last: %s)",
                self.config.id,
                member.id,
                breaker.cooldown,
                breaker.failures,
                exc.code,
            )

    def _succeeded(self, member: Target) -> None:
        breaker = self.breakers[member.id]
        if breaker.opened_at is not None:
            logger.info("group '%s': member '%s' answered again; back in rotation", self.config.id, member.id)
        breaker.failures, breaker.opened_at, breaker.trial = 0, None, False

    async def execute(self, ctx: RequestContext) -> Result:
        if ctx.route is None:
            ctx.route = {"group": self.config.id, "attempts": []}
        route = ctx.route
        attempts: list[dict[str, Any]] = route["attempts"]
        model, upstream_model = ctx.model, ctx.upstream_model
        last: GatewayError | None = None
        # The member this request just left and why, until it is taken to the next one.
        left: tuple[str, str] | None = None
        now = time.monotonic()
        for member in self.order():
            if not member.provider.supports(ctx.operation):
                continue
            if not self.breakers[member.id].admits(now):
                attempts.append({"group": self.config.id, "target": member.id, "skipped": "circuit open"})
                left = left or (member.id, "circuit_open")
                continue
            if left is not None:
                _fell_back(ctx, left[0], member.id, left[1])
                left = None
            ctx.upstream_model = member.provider.resolve_model(model) if member.is_open and model else None
            started = time.monotonic()
            self.inflight[member.id] += 1
            done = True
            try:
                result = await member.provider.execute(ctx)
            except GatewayError as exc:
                attempt = {
                    "group": self.config.id,
                    "target": member.id,
                    "status": exc.status,
                    "error": exc.code,
                    "ms": round((time.monotonic() - started) * 1000, 1),
                }
                attempts.append(attempt)
                if not fails_over(exc):
                    # The member answered (a client error): it is up, whatever the request's fault.
                    self._succeeded(member)
                    raise
                self._failed(member, exc)
                last = exc
                left = (member.id, f"status_{exc.status}")
                continue
            except BaseException:
                # Cancelled (the client went away) or a plugin bug: no verdict on the member, but
                # a half-open trial must not stay claimed forever.
                self.breakers[member.id].trial = False
                raise
            else:
                if isinstance(result, StreamResult):
                    # A stream is in flight until its connection is released.
                    done = False
                    result.aclose = _released(result.aclose, self.inflight, member.id)
            finally:
                if done:
                    self.inflight[member.id] -= 1
            self._succeeded(member)
            attempts.append(
                {
                    "group": self.config.id,
                    "target": member.id,
                    "status": 200,
                    "ms": round((time.monotonic() - started) * 1000, 1),
                }
            )
            # The innermost group names the target that answered; outer groups keep its choice.
            route.setdefault("member", member.id)
            if not isinstance(member.provider, GroupProvider):
                ctx.target = member
            return result
        ctx.upstream_model = upstream_model
        if last is not None:
            raise last
        retry = min(
            (b.cooldown - (now - b.opened_at) for b in self.breakers.values() if b.opened_at is not None), default=1.0
        )
        raise UpstreamUnavailable(
            f"group '{self.config.id}': every member is failing and skipped for now; retry shortly",
            code="no_healthy_member",
            headers={"retry-after": str(max(1, round(retry)))},
        )


def _fell_back(ctx: RequestContext, from_target: str, to_target: str, reason: str) -> None:
    """Count (and trace) a request moving to the next member. ``reason``: the status of the member's
    error (``status_503``, ``status_429``; ``status_502``/``status_504`` when it could not be reached
    or timed out), or ``circuit_open`` for a member skipped."""
    metrics.upstream_fallback(from_target, to_target, reason)
    if ctx.trace is not None:
        ctx.trace.fallback(from_target, to_target, reason)


def _released(aclose: Any, inflight: dict[str, int], member_id: str) -> Any:
    released = False

    async def close() -> None:
        nonlocal released
        try:
            if aclose is not None:
                await aclose()
        finally:
            if not released:
                released = True
                inflight[member_id] -= 1

    return close


def build_groups(groups: list[TargetGroupConfig], targets: Mapping[str, Target]) -> dict[str, Target]:
    """Group targets, built after their members (config validation has ruled out cycles)."""
    from keeptrust.targets import Target

    built: dict[str, Target] = {}
    pending = {g.id: g for g in groups}
    while pending:
        for gid, config in list(pending.items()):
            known = {**targets, **built}
            if all(m in known for m in config.member_ids):
                members = [known[m] for m in config.member_ids]
                built[gid] = Target(config, GroupProvider(config, members))  # type: ignore[arg-type]
                del pending[gid]
                break
        else:  # unreachable after validation; never loop forever on a bad config
            raise ValueError(f"target groups with unresolvable members: {', '.join(sorted(pending))}")
    return built


def group_status(targets: Mapping[str, Target]) -> dict[str, Any]:
    """Each group's members and their breaker state, for ``/readyz``."""
    return {t.id: t.provider.status() for t in targets.values() if isinstance(t.provider, GroupProvider)}


def check_groups(groups: list[TargetGroupConfig], target_ids: list[str], paths: Mapping[str, str]) -> list[str]:
    """Config errors of the groups, each naming its field path: unknown or repeated members, an
    empty group, a weight that is not positive, a group that contains itself (directly or not)."""
    errors: list[str] = []
    ids = set(target_ids) | {g.id for g in groups}
    for group in groups:
        path = paths[group.id]
        if not group.members:
            errors.append(f"{path}.members: a group needs at least one member")
        seen: set[str] = set()
        for j, member in enumerate(group.members):
            where = f"{path}.members[{j}]" + ("" if isinstance(member, str) else ".target")
            mid = member if isinstance(member, str) else member.target
            if mid not in ids:
                known = ", ".join(sorted(ids - {group.id})) or "none"
                errors.append(f"{where}: unknown target '{mid}' (known: {known})")
            if mid in seen:
                errors.append(f"{where}: '{mid}' is already a member of this group")
            seen.add(mid)
            if not isinstance(member, str) and not member.weight > 0:
                errors.append(f"{path}.members[{j}].weight: expected a number above 0; got {member.weight:g}")
        if group.failure_threshold < 1:
            errors.append(f"{path}.failure_threshold: expected an integer of at least 1")
        if group.cooldown_seconds < 0:
            errors.append(f"{path}.cooldown_seconds: expected a number of at least 0")
    by_id = {g.id: g for g in groups}

    def cycle_from(start: str) -> list[str] | None:
        stack = [(start, [start])]
        while stack:
            gid, trail = stack.pop()
            for mid in by_id[gid].member_ids:
                if mid == start:
                    return [*trail, mid]
                if mid in by_id and mid not in trail:
                    stack.append((mid, [*trail, mid]))
        return None

    reported: set[frozenset[str]] = set()
    for group in groups:
        cycle = cycle_from(group.id)
        if cycle is not None and frozenset(cycle) not in reported:
            reported.add(frozenset(cycle))
            errors.append(f"{paths[group.id]}.members: the group contains itself ({' -> '.join(cycle)})")
    return errors

"""The outbox side of the pipeline: deliver what committed, per address in order, paced,
retried, and never dropped silently.

Each address (a chat) has at most one worker in this process, and the outbox's
claim lets only an address's oldest unfinished row out, so messages never
overtake each other, also across processes. A slow platform answer, a rate
limit or a retry pauses that address only: other people's messages keep going.

    committed row ─wake─> the address's worker ─claim (lease)─> pace ─> channel.deliver
        delivered ─> sent (the platform's message id kept, for presses and edits)
        retry later ─> due again after the platform's retry_after or a growing pause
        unreachable ─> recorded on the person's account (shown to coordinators)
        failed, or retried too often ─> reported to coordinators
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from bot.metrics import Metrics
from bot.workers import Workers
from channels.base import Channel, Delivered, Failed, Outcome, RetryLater, Unreachable
from storage.db import Database, is_transient
from storage.identities import mark_unreachable
from storage.outbox import (
    FAILED,
    UNREACHABLE,
    Due,
    Item,
    claim_next,
    due_addresses,
    next_due,
    next_wakeup,
    record_final,
    record_retry,
    record_sent,
)

log = logging.getLogger(__name__)

Report = Callable[[Item, str], Awaitable[None]]
Settled = Callable[[str, bool], Awaitable[None]]  # a keyed row's key, and whether delivered
Wall = Callable[[], dt.datetime]
UNPACED = ("answer", "menu")  # not messages: no chat limit applies
HOLD = 60.0  # a worker waits this long for a retry to come due; the sweep covers longer


def _wall() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def backoff(attempts: int) -> float:
    """Seconds before retry number `attempts`: 1, 2, 4, ... up to five minutes."""
    return float(min(300, 2 ** max(0, attempts - 1)))


class Bucket:
    """A token bucket: `rate` a second on average, `burst` at once."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = burst
        self.stamp = time.monotonic()

    def reserve(self) -> float:
        """Take a token; seconds to wait before using it."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


@dataclass
class DeliveryStats:
    delivered: dict[str, int] = field(default_factory=dict)
    retried: dict[str, int] = field(default_factory=dict)
    unreachable: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)

    def count(self, what: dict[str, int], platform: str) -> None:
        what[platform] = what.get(platform, 0) + 1


class Deliverer:
    def __init__(
        self,
        db: Database,
        channels: Mapping[str, Channel],
        *,
        report: Report,
        lease: dt.timedelta = dt.timedelta(seconds=60),
        max_attempts: int = 20,
        sweep_seconds: float = 1.0,
        wall: Wall = _wall,
        metrics: Metrics | None = None,
        settled: Settled | None = None,
    ) -> None:
        self.db = db
        self.metrics = metrics
        self.settled = settled
        self.channels = channels
        self.report = report
        self.lease = lease
        self.max_attempts = max_attempts
        self.wall = wall
        self.stats = DeliveryStats()
        self.workers = Workers("delivery", self._work, self._due, sweep_seconds)
        self._buckets: dict[tuple[str, str], Bucket] = {}
        self._overall: dict[str, Bucket] = {}

    def wake(self, platform: str, address: str) -> None:
        if platform in self.channels:
            self.workers.wake((platform, address))

    async def start(self) -> None:
        await self.workers.start()

    async def stop(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Deliver what is due (up to `timeout`), then stop; the rest waits in the outbox."""
        await self.workers.stop(timeout)

    def running(self) -> bool:
        return self.workers.running()

    async def wait_idle(self, timeout: float, horizon: float = 15.0) -> None:  # noqa: ASYNC109
        """Until nothing is being delivered and nothing waits to be tried within `horizon`
        seconds (a retry after a 429 or a 5xx, a lease a dead process left): tests and the
        playground see what a person would see a little later."""
        async with asyncio.timeout(timeout):
            while True:
                await self.workers.until_idle()
                wakeup = await next_wakeup(db=self.db, platforms=list(self.channels))
                if wakeup is None:
                    return
                wait = (wakeup - self.wall()).total_seconds()
                if wait > horizon:
                    return
                await asyncio.sleep(max(wait, 0.01))
                await self.workers.sweep_once()

    # --- working --------------------------------------------------------------------------

    async def _work(self, key: tuple[str, str]) -> None:
        platform, address = key
        item: Item | None = None
        due: Due | None = None
        claimed = False  # item and due come from the transaction that recorded the last one
        while not self.workers.stopping:
            if not claimed:
                try:
                    item, due = await self._next(platform, address)
                except Exception as error:
                    if not is_transient(error):
                        raise
                    log.warning("outbox unavailable, retrying: %s", type(error).__name__)
                    await asyncio.sleep(1.0)
                    continue
            claimed = False
            if item is None:
                if self.workers.woken_again(key):
                    continue
                wait = self._wait(due)
                if wait is None or await self.workers.drained_within(wait):
                    return
                continue
            await self._pace(item)
            outcome = await self._deliver(item)
            item, due = await self._record(item, outcome)
            claimed = True

    async def _next(self, platform: str, address: str) -> tuple[Item | None, Due | None]:
        """Claim the address's next row; when none can be claimed, when one can be tried."""
        async with self.db.unit_of_work():
            item = await claim_next(
                db=self.db, platform=platform, address=address, now=self.wall(), lease=self.lease
            )
            if item is not None:
                return item, None
            return None, await next_due(db=self.db, platform=platform, address=address)

    def _wait(self, due: Due | None) -> float | None:
        """Seconds until the address's next row can be tried here; None to stop working on
        it: nothing waits, it waits long (the sweep comes back for it), the process is
        draining, or another process holds the row (that worker goes on with the rest)."""
        if due is None or due.held or self.workers.draining:
            return None
        wait = (due.at - self.wall()).total_seconds()
        return None if wait > HOLD else max(wait, 0.01)

    async def _pace(self, item: Item) -> None:
        if item.kind in UNPACED:
            return
        caps = self.channels[item.platform].capabilities
        key = (item.platform, item.address)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Bucket(caps.per_address_rate, caps.per_address_burst)
        overall = self._overall.setdefault(
            item.platform, Bucket(caps.overall_rate, caps.overall_rate)
        )
        wait = max(bucket.reserve(), overall.reserve())
        if wait > 0:
            await asyncio.sleep(wait)

    async def _deliver(self, item: Item) -> Outcome:
        try:
            return await self.channels[item.platform].deliver(item)
        except Exception as error:  # a channel's bug or an unexpected network failure
            log.exception("channel %s raised delivering a %s", item.platform, item.kind)
            return RetryLater(f"{type(error).__name__}: {error}")

    async def _record(self, item: Item, outcome: Outcome) -> tuple[Item | None, Due | None]:
        """Write down how it went and claim the address's next row, in one transaction;
        retried until the database takes it (a row recorded as sent must never be sent
        again). Should what follows an outcome fail (a report, a receipt, the unreachable
        mark), the outcome is recorded without it rather than rolled back."""
        pause, follow_ups = 0.5, True
        while True:
            try:
                async with self.db.unit_of_work():
                    await self._write(item, outcome, follow_ups=follow_ups)
                    return await self._next(item.platform, item.address)
            except Exception as error:
                if is_transient(error):
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, 10.0)
                    continue
                if not follow_ups:
                    raise
                log.exception("%s: what follows a %s's outcome failed", item.platform, item.kind)
                follow_ups = False

    async def _write(self, item: Item, outcome: Outcome, *, follow_ups: bool = True) -> None:
        """Record the outcome; a keyed row's final outcome is told to `settled` in the same
        transaction (a broadcast counts its deliveries so)."""
        now = self.wall()
        platform = item.platform
        if self.metrics is not None:
            name = type(outcome).__name__.lower()
            self.metrics.deliveries.labels(platform, item.kind, name).inc()
        async with self.db.unit_of_work():
            if isinstance(outcome, Delivered):
                self.stats.count(self.stats.delivered, platform)
                await record_sent(db=self.db, item=item, message=outcome.message, now=now)
                if follow_ups:
                    await self._settled(item, delivered=True)
                return
            if isinstance(outcome, Unreachable):
                self.stats.count(self.stats.unreachable, platform)
                log.info("%s: %s unreachable (%s)", platform, item.kind, outcome.reason)
                await record_final(
                    db=self.db,
                    item=item,
                    state=UNREACHABLE,
                    error=outcome.reason,
                    now=now,
                )
                if follow_ups:
                    await mark_unreachable(
                        db=self.db, platform=platform, address=item.address, now=now
                    )
                    await self._settled(item, delivered=False)
                return
            if isinstance(outcome, RetryLater) and item.attempts < self.max_attempts:
                self.stats.count(self.stats.retried, platform)
                pause = outcome.after if outcome.after is not None else backoff(item.attempts)
                log.warning(
                    "%s: %s not delivered, retry %d in %.0f s: %s",
                    platform,
                    item.kind,
                    item.attempts,
                    pause,
                    outcome.reason,
                )
                due = now + dt.timedelta(seconds=pause)
                await record_retry(db=self.db, item=item, due=due, error=outcome.reason)
                return
            reason = outcome.reason if isinstance(outcome, Failed | RetryLater) else "?"
            self.stats.count(self.stats.failed, platform)
            log.warning("%s: %s failed for good: %s", platform, item.kind, reason)
            await record_final(db=self.db, item=item, state=FAILED, error=reason, now=now)
            if follow_ups:
                await self.report(item, reason)
                await self._settled(item, delivered=False)

    async def _settled(self, item: Item, *, delivered: bool) -> None:
        if item.key is not None and self.settled is not None:
            await self.settled(item.key, delivered)

    async def _due(self) -> list[tuple[str, str]]:
        """Addresses with rows due (retries come due, leases run out, other processes'
        leftovers, what waited across a restart): the sweep's question."""
        return await due_addresses(db=self.db, now=self.wall(), platforms=list(self.channels))

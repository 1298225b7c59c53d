"""The inbox side of the pipeline: keep every event before it is acknowledged, then apply
each person's events one at a time, in arrival order, and different people's at once.

    channel ─accept─> inbox row (committed) ─> acknowledged to the platform
                          │
                          └─> the person's worker: oldest pending event, applied in one
                              unit of work with everything it sends (outbox rows), marked
                              done in the same transaction

A worker's failures never stop it. The database away (or SQLite's lock held by
another process) postpones the event with a growing pause and retries it; a
flow's error rolls the event back, marks it failed, apologises to the person
and tells the coordinators. A sweep finds events no worker holds (after a
restart, or left by a process that died) and starts workers for them (bot.workers).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.workers import Workers
from handlers.core.events import Event
from handlers.flood import FloodGate
from storage.db import Database, is_transient
from storage.inbox import (
    accept_event,
    finish_event,
    has_pending,
    inbox_depth,
    oldest_pending,
    postpone_event,
    waiting_people,
)

log = logging.getLogger(__name__)

Apply = Callable[[Event, str | None], Awaitable[None]]
OnError = Callable[[Event, BaseException], Awaitable[None]]
Wall = Callable[[], dt.datetime]

MAX_PAUSE = 30.0  # seconds between retries while the database is away


def _wall() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class InboxStats:
    accepted: int = 0
    repeated: int = 0
    applied: int = 0
    failed: int = 0
    postponed: int = 0
    last_applied_at: dt.datetime | None = None


class _Failure(Exception):
    """A flow failed on an event: carried out of the unit of work so it rolls back."""

    def __init__(self, event_id: int, event: Event, error: BaseException) -> None:
        super().__init__(str(error))
        self.event_id, self.event, self.error = event_id, event, error


class Inbox:
    def __init__(
        self,
        db: Database,
        *,
        apply: Apply,
        on_error: OnError,
        flood_gate: FloodGate | None = None,
        concurrency: int = 8,
        sweep_seconds: float = 2.0,
        wall: Wall = _wall,
    ) -> None:
        self.db = db
        self.apply = apply
        self.on_error = on_error
        self.flood_gate = flood_gate or FloodGate()
        self.wall = wall
        self.stats = InboxStats()
        self._slots = asyncio.Semaphore(concurrency)
        self.workers = Workers("inbox", self._work, self._waiting, sweep_seconds)
        self._seen = 0

    # --- receiving -----------------------------------------------------------------------

    async def accept(self, event: Event) -> bool:
        """Keep the event (raises when the database cannot: the platform must not be told
        it arrived); True when it is new."""
        person = event.sender.person
        self._seen += 1
        if self._seen % 1000 == 0:
            self.flood_gate.forget_idle()
        verdict = self.flood_gate.admit(person)
        flood = None if verdict else ("warn" if verdict is None else "drop")
        new = await accept_event(
            db=self.db,
            platform=event.platform,
            event_id=event.id,
            person=person,
            body=event.to_json(),
            flood=flood,
            now=self.wall(),
        )
        if new:
            self.stats.accepted += 1
            self.wake(person)
        else:
            self.stats.repeated += 1
        return new

    def wake(self, person: str) -> None:
        self.workers.wake(person)

    # --- life -------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.workers.start()

    async def stop(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Apply what was kept (up to `timeout`; an event waiting for the database to come
        back is left for the next process), then stop."""
        await self.workers.stop(timeout)

    def running(self) -> bool:
        return self.workers.running()

    @property
    def idle(self) -> bool:
        return self.workers.idle

    async def wait_idle(self, timeout: float) -> None:  # noqa: ASYNC109
        """Until no worker has anything left (tests, the playground)."""
        async with asyncio.timeout(timeout):
            await self.workers.until_idle()

    async def oldest_wait(self) -> float:
        """Seconds the oldest event not yet applied has waited (0 when none waits)."""
        depth = await inbox_depth(db=self.db)
        if depth.oldest is None:
            return 0.0
        return max(0.0, (self.wall() - depth.oldest).total_seconds())

    # --- working --------------------------------------------------------------------------

    async def _work(self, person: str) -> None:
        while not self.workers.stopping:
            async with self._slots:
                outcome = await self._apply_next(person)
            if outcome is None:
                if self.workers.woken_again(person):
                    continue
                return
            # Postponed: wait, then try again; when stopping, it is left for the next process.
            if isinstance(outcome, float) and await self.workers.drained_within(outcome):
                return

    async def _apply_next(self, person: str) -> float | bool | None:
        """Apply the person's oldest pending event: True when one was applied and another
        waits, a pause in seconds when it must wait, None when nothing is left."""
        pending_id: int | None = None
        attempts = 0
        try:
            async with self.db.unit_of_work():
                pending = await oldest_pending(db=self.db, person=person)
                if pending is None:
                    return None
                pending_id, attempts = pending.id, pending.attempts
                wait = (pending.due_at - self.wall()).total_seconds()
                if wait > 0:
                    return min(wait, MAX_PAUSE)
                try:
                    event = Event.from_json(pending.body)
                except (KeyError, TypeError, ValueError) as error:
                    # Kept by a version that wrote it differently: set aside, not retried
                    # for ever ahead of the person's later events.
                    log.error("an event could not be read, set aside: %r", error)
                    self.stats.failed += 1
                    await finish_event(
                        db=self.db, event_id=pending.id, now=self.wall(), failed="unreadable"
                    )
                    return True
                try:
                    await self.apply(event, pending.flood)
                except Exception as error:
                    if is_transient(error):
                        raise
                    raise _Failure(pending.id, event, error) from error
                await finish_event(db=self.db, event_id=pending.id, now=self.wall())
                more = await has_pending(db=self.db, person=person)
        except _Failure as failure:
            await self._failed(failure)
            return True
        except Exception as error:
            if not is_transient(error):
                raise
            return await self._postpone(pending_id, attempts, error)
        self.stats.applied += 1
        self.stats.last_applied_at = self.wall()
        return True if more else None

    async def _failed(self, failure: _Failure) -> None:
        """A flow's error: the event's effects were rolled back; mark it, apologise, report."""
        self.stats.failed += 1
        log.error("an event failed", exc_info=failure.error)
        try:
            async with self.db.unit_of_work():
                await self._mark_failed(failure)
                await self.on_error(failure.event, failure.error)
        except Exception as error:
            if is_transient(error):
                return  # left pending: applied again once the database is back
            log.exception("the error handler failed")
            # Marked failed without the apology, or the event would fail again at once,
            # for ever, ahead of the person's later events.
            with contextlib.suppress(Exception):
                async with self.db.unit_of_work():
                    await self._mark_failed(failure)

    async def _mark_failed(self, failure: _Failure) -> None:
        await finish_event(
            db=self.db,
            event_id=failure.event_id,
            now=self.wall(),
            failed=f"{type(failure.error).__name__}: {failure.error}",
        )

    async def _postpone(self, event_id: int | None, attempts: int, error: BaseException) -> float:
        self.stats.postponed += 1
        pause = min(MAX_PAUSE, 0.5 * 2 ** min(attempts, 6))
        log.warning("database unavailable, retrying in %.1f s: %s", pause, type(error).__name__)
        if event_id is not None:
            with contextlib.suppress(Exception):
                await postpone_event(
                    db=self.db,
                    event_id=event_id,
                    due=self.wall() + dt.timedelta(seconds=pause),
                    error=f"{type(error).__name__}: {error}",
                )
        return pause

    async def _waiting(self) -> list[str]:
        """People whose events no worker may hold (the sweep's question)."""
        return await waiting_people(db=self.db)

"""Scheduled jobs on APScheduler 3 (the library python-telegram-bot's JobQueue runs on), in
BOT_TIMEZONE.

The jobs belong to the programme, not to a platform: they run whether Telegram
is configured or not, so they sit on APScheduler directly rather than on a
Telegram Application's JobQueue. They only tick: what is due lives in the
database, so a restart loses nothing and a run that happens twice (or in two
processes) does no harm. Tests and the playground run a job by name, or every
job whose time a moved clock skipped over.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger(__name__)

Body = Callable[[], Awaitable[None]]
_JUST_AFTER = dt.timedelta(microseconds=1)  # the interval skipped is (start, end]


@dataclass(frozen=True)
class Job:
    name: str
    trigger: BaseTrigger | None  # None: run by name only
    body: Body


class Scheduler:
    def __init__(self, timezone: dt.tzinfo) -> None:
        self.timezone = timezone
        self.jobs: dict[str, Job] = {}
        self._aps: AsyncIOScheduler | None = None
        self._runs: set[asyncio.Task[None]] = set()
        self._stopping = False

    def daily(self, name: str, at: dt.time, body: Body) -> None:
        trigger = CronTrigger(hour=at.hour, minute=at.minute, timezone=self.timezone)
        self._add(Job(name, trigger, body))

    def every(self, name: str, seconds: float, body: Body, *, first: float = 0) -> None:
        start = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=first)
        trigger = IntervalTrigger(seconds=seconds, start_date=start, timezone=self.timezone)
        self._add(Job(name, trigger, body))

    def on_demand(self, name: str, body: Body) -> None:
        """A job with no time of its own: run by name only (a round right after a demand)."""
        self._add(Job(name, None, body))

    def _add(self, job: Job) -> None:
        if job.name in self.jobs:
            raise ValueError(f"job {job.name!r} is scheduled twice")
        self.jobs[job.name] = job

    def start(self) -> None:
        self._stopping = False
        self._aps = AsyncIOScheduler(timezone=self.timezone)
        for job in self.jobs.values():
            if job.trigger is None:
                continue
            self._aps.add_job(
                self.run,
                job.trigger,
                args=[job.name],
                id=job.name,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=60,
            )
        self._aps.start()

    async def stop(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Fire nothing more, and let runs in progress finish (up to `timeout`): a run cut
        off would leave its slot claimed and unfinished, and that round or digest undone."""
        self._stopping = True
        if self._aps is not None and self._aps.running:
            self._aps.shutdown(wait=False)
        self._aps = None
        running = self._runs - {asyncio.current_task()}
        if running:
            await asyncio.wait(running, timeout=timeout)

    def running(self) -> bool:
        return self._aps is not None and self._aps.running

    def pause(self) -> None:
        """Keep the jobs from firing on their own (tests run them by name)."""
        if self._aps is not None:
            self._aps.pause()

    async def run(self, name: str) -> None:
        """Run one job now; its failure is logged, never raised into the scheduler."""
        if self._stopping:
            # Fired a moment before stop, its task not yet started: beginning now would
            # claim the slot as the process shuts down around it.
            return
        task = asyncio.current_task()
        assert task is not None
        self._runs.add(task)
        try:
            await self.jobs[name].body()
        except Exception:
            log.exception("job %s failed", name)
        finally:
            self._runs.discard(task)

    def due(self, start: dt.datetime, end: dt.datetime) -> list[str]:
        """Jobs with a fire time in (start, end], in the order they first fell due: after a
        week skipped, hourly deadlines run before the morning digest that reports them."""
        due = []
        for job in self.jobs.values():
            if job.trigger is None:
                continue
            fire = job.trigger.get_next_fire_time(None, start + _JUST_AFTER)
            if fire is not None and start < fire <= end:
                due.append((fire, job.name))
        return [name for _, name in sorted(due)]

"""Move a clock forward and run the scheduled jobs whose time was skipped.

The playground's clock control and tests use it to see rounds, reminders and
digests without waiting. It knows no job by name: every job of the scheduler
is asked when it would next fire after the old time, and run once if that
falls inside the skipped interval. Job bodies read the time from the same
clock and act only on what the database says is due, so one run after a long
jump does what several runs would, and a run too many does no harm
(DESIGN.md, Scheduling).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Protocol

from bot.scheduler import Scheduler

log = logging.getLogger(__name__)


class MovableClock(Protocol):
    def now(self) -> dt.datetime: ...

    def advance(self, delta: dt.timedelta) -> dt.datetime: ...


async def skip_ahead(scheduler: Scheduler, clock: MovableClock, delta: dt.timedelta) -> list[str]:
    """Advance the clock by delta, run each job that became due once; names of those run."""
    start = clock.now()
    end = clock.advance(delta)
    ran = []
    for name in scheduler.due(start, end):
        log.info("clock moved to %s: running %s", end.isoformat(timespec="minutes"), name)
        await scheduler.run(name)
        ran.append(name)
    return ran

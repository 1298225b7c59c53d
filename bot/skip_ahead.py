"""Move a clock forward and run the scheduled jobs whose time was skipped.

The playground's clock control and tests use it to see rounds, reminders and
digests without waiting. It knows no job by name: whatever is on the
Application's JobQueue (PTB jobs on APScheduler triggers) is asked when it
would next fire after the old time, and run once if that falls inside the
skipped interval. Job bodies read the time from the same clock and act only on
what the database says is due, so one run after a long jump does what several
runs would, and a run too many does no harm (DESIGN.md, Scheduling).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Protocol

from telegram.ext import Application, Job

log = logging.getLogger(__name__)

_JUST_AFTER = dt.timedelta(microseconds=1)  # the interval skipped is (start, end]


class MovableClock(Protocol):
    def now(self) -> dt.datetime: ...

    def advance(self, delta: dt.timedelta) -> dt.datetime: ...


def due_jobs(jobs: list[Job[Any]], start: dt.datetime, end: dt.datetime) -> list[Job[Any]]:
    """Scheduled jobs with a fire time in (start, end], in their queue order.

    A paused job has no next run time in APScheduler (PTB's `Job.enabled` only
    reflects what was set through it, so it is not asked).
    """
    due = []
    for job in jobs:
        if job.removed or getattr(job.job, "next_run_time", None) is None:
            continue
        fire = job.job.trigger.get_next_fire_time(None, start + _JUST_AFTER)
        if fire is not None and start < fire <= end:
            due.append(job)
    return due


async def skip_ahead(
    application: Application[Any, Any, Any, Any, Any, Any],
    clock: MovableClock,
    delta: dt.timedelta,
) -> list[str]:
    """Advance the clock by delta, run each job that became due once; names of those run."""
    queue = application.job_queue
    start = clock.now()
    end = clock.advance(delta)
    if queue is None:
        return []
    ran = []
    for job in due_jobs(list(queue.jobs()), start, end):
        log.info("clock moved to %s: running %s", end.isoformat(timespec="minutes"), job.name)
        await job.run(application)
        ran.append(job.name or "job")
    return ran

"""Scheduled jobs on PTB's JobQueue, in BOT_TIMEZONE.

Jobs only tick: what is due lives in the database, so a restart loses nothing
and a run that happens twice (or in two processes) does no harm.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.ext import Application, CallbackContext

from bot.config import Settings
from bot.metrics import METRICS_KEY, Metrics
from handlers.checkins import MONTHLY_CHECK, run_monthly_check
from handlers.digest import DAILY_DIGEST, run_daily_digest
from handlers.engagement_checkins import ENGAGEMENT_CHECKINS, run_engagement_checkins
from handlers.privacy import RETENTION, RETENTION_DAYS_KEY, run_retention
from handlers.rounds import deadlines_job, round_job
from handlers.services import services
from storage.jobs import claim_job_run, finish_job_run

log = logging.getLogger(__name__)
Job = Callable[[CallbackContext], Coroutine[Any, Any, None]]

# Daily: the check itself acts from each month's first working day on.
MONTHLY_CHECK_TIME = dt.time(10, 0)
# Daily: nudges are weekly and questions monthly per engagement, as the database records.
ENGAGEMENT_CHECKINS_TIME = dt.time(10, 30)
# Daily, at night: personal data of users silent for RETENTION_DAYS is erased.
RETENTION_TIME = dt.time(3, 30)


def once_per_slot(name: str, slot_minutes: int, body: Job) -> Job:
    """Run body only in the process that claims this slot (the due time, to the minute) first.

    With several bot processes on one database every one of them fires the
    job; the claim row makes exactly one do the work, and records the outcome.
    """

    async def run(context: CallbackContext) -> None:
        svc = services(context)
        now = svc.clock.now()
        minute = now.replace(second=0, microsecond=0)
        slot = minute - dt.timedelta(minutes=minute.minute % slot_minutes)
        run_id = await claim_job_run(db=svc.db, name=name, slot=slot, now=now)
        if run_id is None:
            return
        metrics: Metrics = context.application.bot_data[METRICS_KEY]
        try:
            await body(context)
        except Exception:
            metrics.jobs.labels(name, "failed").inc()
            await finish_job_run(db=svc.db, run_id=run_id, now=svc.clock.now(), failed=True)
            raise
        metrics.jobs.labels(name, "done").inc()
        await finish_job_run(db=svc.db, run_id=run_id, now=svc.clock.now(), failed=False)

    return run


def schedule_jobs(application: Application, settings: Settings) -> None:
    job_queue = application.job_queue
    if job_queue is None:
        raise RuntimeError("the JobQueue is missing: install python-telegram-bot[job-queue]")
    job_queue.run_daily(
        once_per_slot(MONTHLY_CHECK, 1, run_monthly_check),
        time=MONTHLY_CHECK_TIME.replace(tzinfo=settings.timezone),
        name=MONTHLY_CHECK,
    )
    # Each coordinator's digest is claimed per day (digest_sends), not per run: a restart
    # at the scheduled minute still reaches whoever was not sent one yet.
    job_queue.run_daily(
        run_daily_digest,
        time=settings.digest_time.replace(tzinfo=settings.timezone),
        name=DAILY_DIGEST,
    )
    job_queue.run_daily(
        once_per_slot(ENGAGEMENT_CHECKINS, 1, run_engagement_checkins),
        time=ENGAGEMENT_CHECKINS_TIME.replace(tzinfo=settings.timezone),
        name=ENGAGEMENT_CHECKINS,
    )
    application.bot_data[RETENTION_DAYS_KEY] = settings.retention_days
    job_queue.run_daily(
        once_per_slot(RETENTION, 1, run_retention),
        time=RETENTION_TIME.replace(tzinfo=settings.timezone),
        name=RETENTION,
    )
    for at in settings.match_times:
        job_queue.run_daily(
            once_per_slot("match_round", 1, round_job),
            time=at.replace(tzinfo=settings.timezone),
            name=f"match_round_{at:%H%M}",
        )
    job_queue.run_repeating(
        once_per_slot(
            "proposal_deadlines", max(1, settings.deadline_tick_seconds // 60), deadlines_job
        ),
        interval=dt.timedelta(seconds=settings.deadline_tick_seconds),
        first=dt.timedelta(seconds=min(30, settings.deadline_tick_seconds)),
        name="proposal_deadlines",
    )

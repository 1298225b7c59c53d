"""Scheduled jobs on PTB's JobQueue, in BOT_TIMEZONE.

Jobs only tick: what is due lives in the database, so a restart loses nothing
and a run that happens twice (or in two processes) does no harm.
"""

from __future__ import annotations

import datetime as dt

from telegram.ext import Application

from bot.config import Settings
from handlers.checkins import MONTHLY_CHECK, run_monthly_check

# Daily: the check itself acts from each month's first working day on.
MONTHLY_CHECK_TIME = dt.time(10, 0)


def schedule_jobs(application: Application, settings: Settings) -> None:
    job_queue = application.job_queue
    if job_queue is None:
        raise RuntimeError("the JobQueue is missing: install python-telegram-bot[job-queue]")
    job_queue.run_daily(
        run_monthly_check,
        time=MONTHLY_CHECK_TIME.replace(tzinfo=settings.timezone),
        name=MONTHLY_CHECK,
    )

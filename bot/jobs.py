"""The programme's scheduled jobs, in BOT_TIMEZONE, and the claim that runs each slot once.

Jobs only tick: what is due lives in the database, so a restart loses nothing
and a run that happens twice (or in two processes) does no harm. Each job is a
use case that takes the services; what it sends goes through the outbox.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from bot.config import Settings
from bot.metrics import Metrics
from bot.scheduler import Body, Scheduler
from handlers import errors
from handlers.checkins import MONTHLY_CHECK, run_monthly_check
from handlers.digest import DAILY_DIGEST, run_daily_digest
from handlers.engagement_checkins import ENGAGEMENT_CHECKINS, run_engagement_checkins
from handlers.privacy import RETENTION, run_retention
from handlers.rounds import run_round, tick_deadlines
from handlers.services import Services
from storage.buttons import forget_tokens
from storage.inbox import prune_inbox
from storage.jobs import claim_job_run, finish_job_run
from storage.outbox import prune_outbox

log = logging.getLogger(__name__)
UseCase = Callable[[Services], Awaitable[object]]

# Daily: the check itself acts from each month's first working day on.
MONTHLY_CHECK_TIME = dt.time(10, 0)
# Daily: nudges are weekly and questions monthly per engagement, as the database records.
ENGAGEMENT_CHECKINS_TIME = dt.time(10, 30)
# Daily, at night: personal data of users silent for RETENTION_DAYS is erased.
RETENTION_TIME = dt.time(3, 30)
# Daily, at night: what the pipeline no longer needs to remember.
HOUSEKEEPING, HOUSEKEEPING_TIME = "housekeeping", dt.time(4, 0)
MATCH_ROUND_NOW = "match_round_now"
DEADLINES = "proposal_deadlines"
SENT_KEPT = dt.timedelta(days=90)  # a press on a message older than this is stale
CHANGES_KEPT = dt.timedelta(days=1)  # delivered edits, answers and menus
TOKENS_KEPT = dt.timedelta(days=180)  # buttons not drawn again since


def once_per_slot(
    svc: Services, metrics: Metrics, name: str, slot_seconds: int, body: UseCase
) -> Body:
    """Run body only in the process that claims this slot (the due time, to `slot_seconds`)
    first.

    With several bot processes on one database every one of them fires the
    job; the claim row makes exactly one do the work, and records the outcome.
    """

    async def run() -> None:
        now = svc.clock.now()
        stamp = int(now.timestamp())
        slot = dt.datetime.fromtimestamp(stamp - stamp % slot_seconds, dt.UTC)
        run_id = await claim_job_run(db=svc.db, name=name, slot=slot, now=now)
        if run_id is None:
            return
        failed = await _run(svc, metrics, name, body)
        await finish_job_run(db=svc.db, run_id=run_id, now=svc.clock.now(), failed=failed)

    return run


def every_time(svc: Services, metrics: Metrics, name: str, body: UseCase) -> Body:
    """Run body on every firing (it claims its own work, per coordinator or per row)."""

    async def run() -> None:
        await _run(svc, metrics, name, body)

    return run


async def _run(svc: Services, metrics: Metrics, name: str, body: UseCase) -> bool:
    """Run; a failure is counted, logged and reported to coordinators. True if it failed."""
    try:
        await body(svc)
    except Exception as error:
        metrics.jobs.labels(name, "failed").inc()
        log.exception("job %s failed", name)
        await errors.report_job_failure(svc, name, error)
        return True
    metrics.jobs.labels(name, "done").inc()
    return False


def housekeeping(settings: Settings) -> UseCase:
    async def run(svc: Services) -> None:
        wall = svc.outbox.wall()
        events = await prune_inbox(
            db=svc.db, before=wall - dt.timedelta(hours=settings.inbox_retention_hours)
        )
        messages = await prune_outbox(
            db=svc.db, sent_before=wall - SENT_KEPT, edits_before=wall - CHANGES_KEPT
        )
        tokens = await forget_tokens(db=svc.db, issued_before=wall - TOKENS_KEPT)
        log.info(
            "housekeeping: %d events, %d messages, %d buttons forgotten", events, messages, tokens
        )

    return run


def schedule_jobs(
    scheduler: Scheduler, svc: Services, settings: Settings, metrics: Metrics
) -> None:
    def daily(name: str, at: dt.time, body: UseCase) -> None:
        scheduler.daily(name, at, once_per_slot(svc, metrics, name, 60, body))

    daily(MONTHLY_CHECK, MONTHLY_CHECK_TIME, run_monthly_check)
    # Each coordinator's digest is claimed per day (digest_sends), not per run: a restart
    # at the scheduled minute still reaches whoever was not sent one yet.
    scheduler.daily(
        DAILY_DIGEST, settings.digest_time, every_time(svc, metrics, DAILY_DIGEST, run_daily_digest)
    )
    daily(ENGAGEMENT_CHECKINS, ENGAGEMENT_CHECKINS_TIME, run_engagement_checkins)
    daily(RETENTION, RETENTION_TIME, run_retention)
    daily(HOUSEKEEPING, HOUSEKEEPING_TIME, housekeeping(settings))
    for at in settings.match_times:
        scheduler.daily(
            f"match_round_{at:%H%M}", at, once_per_slot(svc, metrics, "match_round", 60, run_round)
        )
    scheduler.on_demand(MATCH_ROUND_NOW, every_time(svc, metrics, MATCH_ROUND_NOW, run_round))
    tick = settings.deadline_tick_seconds
    scheduler.every(
        DEADLINES,
        tick,
        once_per_slot(svc, metrics, DEADLINES, tick, tick_deadlines),
        first=min(30, tick),
    )

"""What the coordinators' report says, gathered once: the figures of a period and of the
programme to date, and the weekly chart. The digest job, /digest and /stats read them, each
in its coordinator's language (handlers.digest renders them)."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

from handlers.dates import week_starts
from handlers.digest_chart import weekly_chart
from handlers.services import PlacementTarget, Services
from storage import stats
from storage.engagements import (
    EngagementFigures,
    TroubledEngagement,
    UnitFigures,
    VoucherGrouping,
    VoucherTotal,
    engagement_figures,
    group_vouchers,
    troubled_engagements,
    unit_figures,
    voucher_lines,
)

STALE_AFTER = dt.timedelta(days=7)  # a demand this old without a yes is stuck
UNDECIDED_AFTER = dt.timedelta(days=5)  # a yes the enterprise left this long is stuck
LISTED = 10  # records named in each "stuck" list; the rest are counted
TALLIED = 8  # cities and institutions named in the placement tallies
SHORTAGES = 5
WEEKS = 8
# How vouchers are totalled, in the order the report shows them.
VOUCHER_GROUPINGS: tuple[VoucherGrouping, ...] = ("city", "institution", "enterprise", "engagement")


@dataclass(frozen=True)
class Figures:
    """Everything one report says, gathered once and read in each coordinator's language."""

    now: dt.datetime
    today: dt.date
    days: int  # the period: the last `days` days
    since: dt.datetime  # the period's start
    period: stats.Activity
    to_date: stats.Activity
    snapshot: stats.Snapshot
    placements: int
    targets: tuple[tuple[PlacementTarget, int], ...]  # each with the placements it counts
    by_city: stats.Tally
    by_institution: stats.Tally
    unsuited: stats.Listed[stats.UnsuitedDemand]  # no specialist with subject evidence yet
    stale: stats.Listed[stats.StaleDemand]
    undecided: stats.Listed[stats.UndecidedChoice]
    silent: stats.Listed[stats.Silent]
    shortages: list[stats.Shortage]
    engagements: EngagementFigures
    troubled: stats.Listed[TroubledEngagement]  # check-ins answered "no" in the period
    vouchers: dict[VoucherGrouping, tuple[VoucherTotal, ...]]  # the largest amount first
    units: tuple[UnitFigures, ...]  # the most confirmed service days first


async def gather(svc: Services, *, days: int) -> Figures:
    """The report's figures for the last `days` days, as of now."""
    db, now, today = svc.db, svc.clock.now(), svc.today()
    placements = await stats.placements(db=db, until=now)
    targets = []
    for target in svc.placement_targets:
        if target.by < today:  # a past target counts what was reached by its date
            end = dt.datetime.combine(target.by + dt.timedelta(days=1), dt.time(), svc.timezone)
            targets.append((target, await stats.placements(db=db, until=end)))
        else:
            targets.append((target, placements))
    since = now - dt.timedelta(days=days)
    troubled = await troubled_engagements(db=db, since=since)
    vouchers = await voucher_lines(db=db)
    return Figures(
        now=now,
        today=today,
        days=days,
        since=since,
        period=await stats.activity(db=db, since=since, until=now),
        to_date=await stats.activity(db=db, since=None, until=now),
        snapshot=await stats.snapshot(db=db),
        placements=placements,
        targets=tuple(targets),
        by_city=await stats.placements_by_city(db=db, limit=TALLIED),
        by_institution=await stats.placements_by_institution(db=db, limit=TALLIED),
        unsuited=await stats.unsuited_demands(db=db, limit=LISTED),
        stale=await stats.stale_demands(db=db, created_before=now - STALE_AFTER, limit=LISTED),
        undecided=await stats.undecided_choices(
            db=db, accepted_before=now - UNDECIDED_AFTER, limit=LISTED
        ),
        silent=await stats.silent_specialists(db=db, limit=LISTED),
        shortages=await stats.shortages(db=db, today=today, limit=SHORTAGES),
        engagements=await engagement_figures(db=db),
        troubled=stats.Listed(tuple(troubled[:LISTED]), len(troubled)),
        vouchers={by: tuple(group_vouchers(vouchers, by=by)) for by in VOUCHER_GROUPINGS},
        units=tuple(await unit_figures(db=db)),
    )


async def chart_of(svc: Services) -> bytes:
    """Calendar weeks, Monday to Sunday in the bot's time zone, this one the last."""
    monday = week_starts(svc.today(), WEEKS)[0]
    first = dt.datetime.combine(monday, dt.time(), svc.timezone)
    weeks = await stats.weekly_counts(db=svc.db, first=first, weeks=WEEKS)
    return await asyncio.to_thread(weekly_chart, weeks, svc.timezone)

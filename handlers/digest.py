"""The coordinators' daily digest, and the same report on demand (/digest, /stats).

    DIGEST_TIME in BOT_TIMEZONE (bot.jobs) ─> run_daily_digest
        each coordinator: claim (coordinator, day) in digest_sends ─> won? ─> the report in
        their saved language, split below 4096 characters at line boundaries ─> the chart
    /digest ─> the same now, to the coordinator who asked (it claims nothing)

What the report says, top to bottom: the period (the last day, or /stats' days), the
programme to date, placements against PLACEMENT_TARGETS (overall, per city, per
dispatching institution), engagements now with those an enterprise said are not going
well in the period (monthly check-in answered "no"), innovation vouchers granted and
usable (in all, then the largest cities, units, enterprises and engagements), the busiest
dispatching units (all of them: /units), what is stuck (each with an id to act on) and the
fields that need recruiting. Figures come from storage.stats and storage.engagements only,
gathered once per run.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from telegram import Bot, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackContext, CommandHandler

from handlers.access import coordinators_only
from handlers.actor import Actor
from handlers.digest_chart import weekly_chart
from handlers.engagement_views import STATUSES, local_date, number, yuan
from handlers.i18n import MESSAGE_LIMIT, Markup, escape, shorten, visible_length
from handlers.services import PlacementTarget, Services, services
from handlers.specialist_views import LocaleReader, Reader
from handlers.unit_views import NAME_SHOWN, unit_text, units_heading
from matching import taxonomy
from storage import stats
from storage.coordinators import coordinators, record_action
from storage.digests import claim_digest, mark_digest_sent
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
from storage.models import EngagementStatus

log = logging.getLogger(__name__)

DAILY_DIGEST = "daily_digest"  # the job's name in the JobQueue
STALE_AFTER = dt.timedelta(days=7)  # a demand this old without a yes is stuck
UNDECIDED_AFTER = dt.timedelta(days=5)  # a yes the enterprise left this long is stuck
LISTED = 10  # records named in each "stuck" list; the rest are counted
TALLIED = 8  # cities and institutions named in the placement tallies
VOUCHERS_NAMED = 3  # groups named under each of the voucher totals; the rest are counted
VOUCHER_HEADINGS: dict[VoucherGrouping, str] = {  # in the order the report shows them
    "city": "report.vouchers_by_city",
    "institution": "report.vouchers_by_institution",
    "enterprise": "report.vouchers_by_enterprise",
    "engagement": "report.vouchers_by_engagement",
}
UNITS_NAMED = 3  # dispatching units named; /units lists them all
SHORTAGES = 5
WEEKS = 8
REASONS = {reason: f"report.reason_{reason}" for reason in stats.DECLINE_REASONS}


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
        stale=await stats.stale_demands(db=db, created_before=now - STALE_AFTER, limit=LISTED),
        undecided=await stats.undecided_choices(
            db=db, accepted_before=now - UNDECIDED_AFTER, limit=LISTED
        ),
        silent=await stats.silent_specialists(db=db, limit=LISTED),
        shortages=await stats.shortages(db=db, today=today, limit=SHORTAGES),
        engagements=await engagement_figures(db=db),
        troubled=stats.Listed(tuple(troubled[:LISTED]), len(troubled)),
        vouchers={by: tuple(group_vouchers(vouchers, by=by)) for by in VOUCHER_HEADINGS},
        units=tuple(await unit_figures(db=db)),
    )


def _joined(parts: Sequence[Markup]) -> Markup:
    return Markup(" · ".join(parts))


def _activity(reader: Reader, activity: stats.Activity) -> list[str]:
    lines: list[str] = [
        reader.t(
            "report.proposals",
            sent=activity.proposals,
            accepted=activity.accepted,
            declined=activity.declined,
            expired=activity.expired,
        )
    ]
    if activity.decline_reasons:
        reasons = [Markup(f"{reader.t(REASONS[r])} {n}") for r, n in activity.decline_reasons]
        lines.append(reader.t("report.reasons", reasons=_joined(reasons)))
    lines.append(
        reader.t(
            "report.engagements",
            started=activity.engagements_started,
            completed=activity.engagements_completed,
        )
    )
    return lines


def _city(reader: Reader, code: str) -> str:
    city = taxonomy.city(code)
    return city.name(reader.locale) if city else code


def _field(reader: Reader, code: str) -> str:
    field = taxonomy.discipline(code)
    return field.name(reader.locale) if field else code


def _tally(reader: Reader, tally: stats.Tally) -> Markup:
    parts = [Markup(f"{escape(name)} {n}") for name, n in tally.top]
    if tally.rest:
        parts.append(reader.t("report.tally_rest", count=tally.rest))
    return _joined(parts) if parts else reader.t("report.none_yet")


def _placements(reader: Reader, figures: Figures) -> list[str]:
    lines: list[str] = [reader.t("report.placements", count=figures.placements)]
    for target, reached in figures.targets:
        percent = reached * 100 // target.placements
        left = (target.by - figures.today).days
        said = {
            "target": target.placements,
            "date": f"{target.by:%Y-%m-%d}",
            "reached": reached,
            "percent": percent,
        }
        lines.append(
            reader.t("report.target_ahead", days=left, **said)
            if left >= 0
            else reader.t("report.target_passed", **said)
        )
    if not figures.targets:
        lines.append(reader.t("report.no_targets"))
    cities = stats.Tally(
        tuple((_city(reader, code), n) for code, n in figures.by_city.top), figures.by_city.rest
    )
    lines.append(reader.t("report.by_city", items=_tally(reader, cities)))
    lines.append(reader.t("report.by_institution", items=_tally(reader, figures.by_institution)))
    return lines


def _more(reader: Reader, shown: int, total: int) -> list[str]:
    return [reader.t("report.more", count=total - shown)] if total > shown else []


def _engagements(reader: Reader, figures: Figures, timezone: dt.tzinfo) -> list[str]:
    """How engagements stand now, then each "no" to the monthly check-in in the period."""
    counts = figures.engagements.by_status
    lines: list[str] = [
        reader.t(
            "report.engagements_now",
            active=counts[EngagementStatus.ACTIVE],
            completed=counts[EngagementStatus.COMPLETED],
            cancelled=counts[EngagementStatus.CANCELLED],
            days=number(figures.engagements.service_days),
        )
    ]
    troubled, since = figures.troubled, f"{figures.since.astimezone(timezone):%Y-%m-%d %H:%M}"
    if not troubled.total:
        return [*lines, reader.t("report.troubled_none", since=since)]
    lines.append(reader.t("report.troubled", since=since, count=troubled.total))
    lines += [
        reader.t(
            "report.troubled_line",
            id=t.engagement_id,
            title=t.demand_title,
            enterprise=t.enterprise_name,
            specialist=t.specialist_name,
            institution=shorten(t.institution, NAME_SHOWN),
            date=local_date(t.answered_at, timezone),
            status=reader.t(STATUSES[EngagementStatus(t.status)]),
        )
        for t in troubled.items
    ]
    return lines + _more(reader, len(troubled.items), troubled.total)


def _voucher_name(reader: Reader, by: VoucherGrouping, total: VoucherTotal) -> str:
    """The group as a coordinator knows it; an engagement with the id that acts on it."""
    if by == "city":
        return shorten(_city(reader, total.key), NAME_SHOWN)
    if by == "engagement":
        title = shorten(total.label, NAME_SHOWN)
        return reader.t("report.voucher_engagement", id=total.key, title=title)
    return shorten(total.label, NAME_SHOWN)


def _vouchers(reader: Reader, figures: Figures) -> list[str]:
    """Granted and usable (tied to confirmed work) in all, then the largest of each grouping."""
    by_engagement = figures.vouchers["engagement"]  # every grouping sums to the same totals
    if not by_engagement:
        return [reader.t("report.vouchers_none")]
    lines: list[str] = [
        reader.t(
            "report.vouchers",
            count=sum(t.vouchers for t in by_engagement),
            amount=yuan(sum(t.amount for t in by_engagement)),
            usable=yuan(sum(t.usable for t in by_engagement)),
        )
    ]
    for by, heading in VOUCHER_HEADINGS.items():
        totals = figures.vouchers[by]
        lines.append(reader.t(heading))
        lines += [
            reader.t(
                "report.voucher_line",
                name=_voucher_name(reader, by, total),
                amount=yuan(total.amount),
                usable=yuan(total.usable),
                count=total.vouchers,
            )
            for total in totals[:VOUCHERS_NAMED]
        ]
        lines += _more(reader, min(len(totals), VOUCHERS_NAMED), len(totals))
    return lines


def _units(reader: Reader, figures: Figures) -> list[str]:
    """The units that dispatched most (by confirmed service days), and where the rest are."""
    units = figures.units
    if not units:
        return [reader.t("units.none")]
    named = [unit for unit in units if unit.dispatched][:UNITS_NAMED]
    lines: list[str] = [units_heading(reader, units)]
    lines += [unit_text(reader, rank, unit) for rank, unit in enumerate(named, 1)]
    return [*lines, reader.t("report.units_all", count=len(units))]


def _stuck(reader: Reader, figures: Figures, timezone: dt.tzinfo) -> list[str]:
    now = figures.now
    lines: list[str] = []
    if figures.stale.total:
        lines += ["", reader.t("report.stale", days=STALE_AFTER.days, count=figures.stale.total)]
        lines += [
            reader.t(
                "report.stale_line",
                id=d.demand_id,
                title=d.title,
                enterprise=d.enterprise,
                days=(now - d.created_at).days,
            )
            for d in figures.stale.items
        ]
        lines += _more(reader, len(figures.stale.items), figures.stale.total)
    if figures.undecided.total:
        lines += [
            "",
            reader.t("report.undecided", days=UNDECIDED_AFTER.days, count=figures.undecided.total),
        ]
        lines += [
            reader.t(
                "report.undecided_line",
                proposal=u.proposal_id,
                demand=u.demand_id,
                title=u.title,
                enterprise=u.enterprise,
                specialist=u.specialist,
                days=(now - u.accepted_at).days,
            )
            for u in figures.undecided.items
        ]
        lines += _more(reader, len(figures.undecided.items), figures.undecided.total)
    if figures.silent.total:
        lines += ["", reader.t("report.silent", count=figures.silent.total)]
        lines += [
            reader.t(
                "report.silent_line",
                id=s.specialist_id,
                name=s.name,
                institution=s.institution,
                date=f"{s.since.astimezone(timezone):%Y-%m-%d}",
            )
            for s in figures.silent.items
        ]
        lines += _more(reader, len(figures.silent.items), figures.silent.total)
    return lines or ["", reader.t("report.nothing_stuck")]


def report(reader: Reader, figures: Figures, title: Markup, timezone: dt.tzinfo) -> list[Markup]:
    """The report as lines of HTML, each complete in itself, so it may be split between any two.

    Empty lines separate the sections."""
    period, to_date, current = figures.period, figures.to_date, figures.snapshot
    heading = (
        reader.t("report.period_day")
        if figures.days == 1
        else reader.t("report.period_days", days=figures.days)
    )
    lines: list[str] = [title, "", heading]
    lines.append(
        reader.t(
            "report.new",
            demands=period.demands,
            specialists=period.specialists,
            pending=current.specialists_pending,
        )
    )
    lines += _activity(reader, period)
    lines += ["", reader.t("report.to_date")]
    lines.append(
        reader.t(
            "report.to_date_people",
            enterprises=current.enterprises,
            demands=to_date.demands,
            open=current.demands_open,
            approved=current.specialists_approved,
        )
    )
    lines += _activity(reader, to_date)
    lines += ["", *_placements(reader, figures)]
    lines += ["", *_engagements(reader, figures, timezone)]
    lines += ["", *_vouchers(reader, figures)]
    lines += ["", *_units(reader, figures)]
    lines += _stuck(reader, figures, timezone)
    if figures.shortages:
        lines += ["", reader.t("report.shortages")]
        lines += [
            reader.t(
                "report.shortage_line",
                field=_field(reader, s.field),
                demands=s.demands,
                specialists=s.specialists,
            )
            for s in figures.shortages
        ]
    lines += ["", reader.t("report.actions")]
    return [Markup(line) for line in lines]


def split_lines(lines: Sequence[str], limit: int = MESSAGE_LIMIT) -> list[Markup]:
    """Messages of whole lines, each within Telegram's limit (every line is complete HTML, so
    any cut between two lines is safe); no message starts or ends with an empty line."""
    messages: list[list[str]] = []
    size = 0
    for line in lines:
        length = visible_length(line)
        if messages and size + 1 + length <= limit:
            messages[-1].append(line)
            size += 1 + length
        elif line:
            messages.append([line])
            size = length
    return [Markup("\n".join(message).rstrip("\n")) for message in messages]


async def send_report(
    bot: Bot,
    chat_id: int,
    lines: Sequence[str],
    *,
    keyboard: InlineKeyboardMarkup | None = None,
) -> None:
    """The report's messages in order; the buttons, if any, under the last one."""
    messages = split_lines(lines)
    for n, text in enumerate(messages):
        last = n == len(messages) - 1
        await bot.send_message(chat_id, text, reply_markup=keyboard if last else None)


async def send_digest(
    bot: Bot, svc: Services, chat_id: int, reader: Reader, figures: Figures, chart: bytes | str
) -> str:
    """The report, then the chart (PNG bytes, or the file id of the same chart sent before);
    returns the chart's file id, so the next coordinator's copy is not uploaded again."""
    title = reader.t("digest.title", date=f"{figures.today:%Y-%m-%d}")
    await send_report(bot, chat_id, report(reader, figures, title, svc.timezone))
    sent = await bot.send_photo(
        chat_id, chart, caption=reader.t("digest.chart_caption", weeks=WEEKS)
    )
    return sent.photo[-1].file_id


async def chart_of(svc: Services) -> bytes:
    weeks = await stats.weekly_counts(db=svc.db, until=svc.clock.now(), weeks=WEEKS)
    return await asyncio.to_thread(weekly_chart, weeks, svc.timezone)


async def run_daily_digest(context: CallbackContext) -> None:
    """The daily job: each coordinator's digest of today, claimed first so it goes out once."""
    svc = services(context)
    today = svc.today()
    figures: Figures | None = None
    chart: bytes | str = b""
    sent = 0
    for user in await coordinators(db=svc.db, configured=svc.coordinator_ids):
        assert user.id is not None
        if not await claim_digest(db=svc.db, user_id=user.id, day=today, now=svc.clock.now()):
            continue  # sent already today: by an earlier run, before a restart, or elsewhere
        if figures is None:
            figures, chart = await gather(svc, days=1), await chart_of(svc)
        reader = LocaleReader(svc.catalogs, svc.catalogs.locale_for(user.locale, None))
        try:
            chart = await send_digest(context.bot, svc, user.chat_id, reader, figures, chart)
        except TelegramError as error:
            log.warning("daily digest could not reach coordinator user %s: %s", user.id, error)
            continue
        await mark_digest_sent(db=svc.db, user_id=user.id, day=today, now=svc.clock.now())
        sent += 1
    log.info("daily digest %s: sent to %d coordinators", today, sent)


@coordinators_only
async def digest_command(update: Update, context: CallbackContext, actor: Actor) -> None:
    """/digest: today's digest now, for the coordinator who asked."""
    assert update.effective_chat is not None
    svc = actor.services
    figures, chart = await gather(svc, days=1), await chart_of(svc)
    await send_digest(context.bot, svc, update.effective_chat.id, actor, figures, chart)
    await record_action(
        db=svc.db, actor_user_id=actor.user_id, action="coordinator.digest", now=svc.clock.now()
    )


def register(application: Application, group: int) -> None:
    application.add_handler(CommandHandler("digest", digest_command), group)

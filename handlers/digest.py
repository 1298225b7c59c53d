"""The coordinators' daily digest, and the same report on demand (/digest, /stats).

    DIGEST_TIME in BOT_TIMEZONE (bot.jobs) ─> run_daily_digest
        each coordinator: claim (coordinator, day) in digest_sends ─> won? ─> the report in
        their saved language, split below 4096 characters at line boundaries ─> the chart
        (claim and messages commit together; the outbox delivers them)
    /digest ─> the same now, to the coordinator who asked (it claims nothing)

What the report says, top to bottom: the period (the last day, or /stats' days), the
programme to date, placements against PLACEMENT_TARGETS (overall, per city, per
dispatching institution), engagements now with those an enterprise said are not going
well in the period (monthly check-in answered "no"), innovation vouchers granted and
usable (in all, then the largest cities, units, enterprises and engagements), the busiest
dispatching units (all of them: /units), what is stuck (each with an id to act on: first
the demands no specialist suits yet, with the fields they need) and the fields that need
recruiting. The figures are gathered once per run (handlers.digest_figures)
and rendered here in each coordinator's language.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

from handlers.access import coordinators_only
from handlers.coordinators import coordinator_audience
from handlers.core.chat import Chat
from handlers.core.router import Router
from handlers.core.views import File, Keyboard, View
from handlers.digest_figures import STALE_AFTER, UNDECIDED_AFTER, WEEKS, Figures, chart_of, gather
from handlers.engagement_views import STATUSES, local_date, number, yuan
from handlers.i18n import MESSAGE_LIMIT, Markup, escape, shorten, visible_length
from handlers.services import Services
from handlers.specialist_views import Reader
from handlers.unit_views import NAME_SHOWN, unit_text, units_heading
from matching import taxonomy
from matching.named import named_fields
from matching.text import normalise
from storage import stats
from storage.coordinators import record_action
from storage.digests import claim_digest, mark_digest_sent
from storage.engagements import (
    VoucherGrouping,
    VoucherTotal,
)
from storage.institutions import unit_name
from storage.models import EngagementStatus

log = logging.getLogger(__name__)
T = TypeVar("T")

DAILY_DIGEST = "daily_digest"  # the job's name in the scheduler
VOUCHERS_NAMED = 3  # groups named under each of the voucher totals; the rest are counted
VOUCHER_HEADINGS: dict[VoucherGrouping, str] = {  # in the order the report shows them
    "city": "report.vouchers_by_city",
    "institution": "report.vouchers_by_institution",
    "enterprise": "report.vouchers_by_enterprise",
    "engagement": "report.vouchers_by_engagement",
}
UNITS_NAMED = 3  # dispatching units named; /units lists them all
REASONS = {reason: f"report.reason_{reason}" for reason in stats.DECLINE_REASONS}


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
            reader.t("report.target_ahead", count=left, **said)
            if left >= 0
            else reader.t("report.target_passed", **said)
        )
    if not figures.targets:
        lines.append(reader.t("report.no_targets"))
    cities = stats.Tally(
        tuple((_city(reader, code), n) for code, n in figures.by_city.top), figures.by_city.rest
    )
    lines.append(reader.t("report.by_city", items=_tally(reader, cities)))
    institutions = stats.Tally(
        tuple((unit_name(name, reader.locale), n) for name, n in figures.by_institution.top),
        figures.by_institution.rest,
    )
    lines.append(reader.t("report.by_institution", items=_tally(reader, institutions)))
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
            count=number(figures.engagements.service_days),
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


def _needs(reader: Reader, demand: stats.UnsuitedDemand) -> Markup:
    """The fields an unsuited demand needs: its disciplines, else the fields its text
    names, else its keywords."""
    names = [_field(reader, code) for code in demand.fields]
    names = names or list(named_fields(normalise(f"{demand.title}。{demand.description}")))
    names = names or demand.keywords[:3]
    return Markup(reader.t("list.sep").join(names)) or reader.t("report.none_yet")


def _listed(
    reader: Reader, heading: Markup, listed: stats.Listed[T], line: Callable[[T], Markup]
) -> list[str]:
    """A section of what is stuck: its heading, a line per listed item, the rest counted;
    nothing when nothing is listed."""
    if not listed.total:
        return []
    return ["", heading, *map(line, listed.items), *_more(reader, len(listed.items), listed.total)]


def _stuck(reader: Reader, figures: Figures, timezone: dt.tzinfo) -> list[str]:
    now = figures.now

    def day(moment: dt.datetime) -> str:
        return f"{moment.astimezone(timezone):%Y-%m-%d}"

    lines = [
        *_listed(
            reader,
            reader.t("report.unsuited", count=figures.unsuited.total),
            figures.unsuited,
            lambda d: reader.t(
                "report.unsuited_line",
                id=d.demand_id,
                title=d.title,
                enterprise=d.enterprise,
                needs=_needs(reader, d),
                date=day(d.since),
            ),
        ),
        *_listed(
            reader,
            reader.t("report.stale", count=STALE_AFTER.days, total=figures.stale.total),
            figures.stale,
            lambda d: reader.t(
                "report.stale_line",
                id=d.demand_id,
                title=d.title,
                enterprise=d.enterprise,
                count=(now - d.created_at).days,
            ),
        ),
        *_listed(
            reader,
            reader.t("report.undecided", count=UNDECIDED_AFTER.days, total=figures.undecided.total),
            figures.undecided,
            lambda u: reader.t(
                "report.undecided_line",
                proposal=u.proposal_id,
                demand=u.demand_id,
                title=u.title,
                enterprise=u.enterprise,
                specialist=u.specialist,
                count=(now - u.accepted_at).days,
            ),
        ),
        *_listed(
            reader,
            reader.t("report.silent", count=figures.silent.total),
            figures.silent,
            lambda s: reader.t(
                "report.silent_line",
                id=s.specialist_id,
                name=s.name,
                institution=s.institution,
                date=day(s.since),
            ),
        ),
    ]
    return lines or ["", reader.t("report.nothing_stuck")]


def report(reader: Reader, figures: Figures, title: Markup, timezone: dt.tzinfo) -> list[Markup]:
    """The report as lines of HTML, each complete in itself, so it may be split between any two.

    Empty lines separate the sections."""
    period, to_date, current = figures.period, figures.to_date, figures.snapshot
    heading = (
        reader.t("report.period_day")
        if figures.days == 1
        else reader.t("report.period_days", count=figures.days)
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
    """Messages of whole lines, each within the platforms' limit (every line is complete HTML,
    so any cut between two lines is safe); no message starts or ends with an empty line."""
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


async def send_report(chat: Chat, lines: Sequence[str], *, keyboard: Keyboard = ()) -> None:
    """The report's messages in order, to the person acting; the buttons, if any, under the
    last one."""
    messages = split_lines(lines)
    for n, text in enumerate(messages):
        last = n == len(messages) - 1
        await chat.reply(text, keyboard if last else ())


def digest_texts(svc: Services, reader: Reader, figures: Figures) -> list[Markup]:
    """The digest's report, as the messages it takes."""
    title = reader.t("digest.title", date=f"{figures.today:%Y-%m-%d}")
    return split_lines(report(reader, figures, title, svc.timezone))


def chart_file(reader: Reader, chart: bytes) -> File:
    """The chart (PNG bytes) as a picture, captioned in the reader's language."""
    return File(
        name="digest.png",
        mime="image/png",
        data=chart,
        image=True,
        caption=reader.t("digest.chart_caption", count=WEEKS),
    )


async def send_digest(chat: Chat, figures: Figures, chart: bytes) -> None:
    """The report, then the chart, to the coordinator acting."""
    for text in digest_texts(chat.services, chat.actor, figures):
        await chat.reply(text)
    await chat.send_file(chart_file(chat.actor, chart))


async def run_daily_digest(svc: Services) -> None:
    """The daily job: each coordinator's digest of today, claimed first so it goes out once.

    The claim and the digest's messages commit together, one coordinator at a time: the
    outbox then delivers them (retrying while the platform is busy), and a failure with one
    coordinator leaves the others' digests alone."""
    today = svc.today()
    figures: Figures | None = None
    chart = b""
    sent = 0
    for coordinator in await coordinator_audience(svc):
        user_id = coordinator.user.id
        assert user_id is not None
        async with svc.db.unit_of_work():
            if not await claim_digest(db=svc.db, user_id=user_id, day=today, now=svc.clock.now()):
                continue  # sent already today: by an earlier run, before a restart, or elsewhere
            if figures is None:
                figures, chart = await gather(svc, days=1), await chart_of(svc)
            for text in digest_texts(svc, coordinator.reader, figures):
                await svc.outbox.send(coordinator.target, View(text))
            await svc.outbox.file(coordinator.target, chart_file(coordinator.reader, chart))
            await mark_digest_sent(db=svc.db, user_id=user_id, day=today, now=svc.clock.now())
        sent += 1
    log.info("daily digest %s: queued for %d coordinators", today, sent)


@coordinators_only
async def digest_command(chat: Chat) -> None:
    """/digest: today's digest now, for the coordinator who asked."""
    actor = chat.actor
    svc = actor.services
    figures, chart = await gather(svc, days=1), await chart_of(svc)
    await send_digest(chat, figures, chart)
    await record_action(
        db=svc.db, actor_user_id=actor.user_id, action="coordinator.digest", now=svc.clock.now()
    )


def register(router: Router) -> None:
    router.command("digest", digest_command)

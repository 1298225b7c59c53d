"""The monthly "are you still available?" check, and its one-tap answers.

    daily at 10:00 (bot.jobs) ─> run_monthly_check
        from the month's first working day on: each approved specialist not yet asked
            this month gets [✅ yes] [⏸ pause a month] [🚪 no longer]
        a latest question unanswered for 7 days ─> marked not responding, coordinators told
    answer ─> yes: nothing changes · pause: paused for a month · no longer: withdrawn

The database holds the truth (one availability_checks row per specialist and
month), so a job that runs twice, a restart or a missed day asks nobody twice;
after a missed first working day the next run catches up. Specialists who
registered after the month's check day wait for next month's. Nothing is ever
deleted: "not responding" is a mark for coordinators, cleared by any answer.
"""

from __future__ import annotations

import datetime as dt
import logging

from handlers.callbacks import pack, pattern
from handlers.coordinators import coordinator_audience, tell_coordinators
from handlers.core.chat import Chat
from handlers.core.router import Router
from handlers.core.views import Keyboard, View, column
from handlers.dates import first_working_day, months_after
from handlers.i18n import Markup
from handlers.notify import notify
from handlers.services import Services
from handlers.specialist_views import LocaleReader, Reader
from storage.models import Specialist, SpecialistStatus
from storage.specialists import (
    CheckAnswerKind,
    answer_check,
    claim_check,
    due_for_check,
    mark_not_responding,
)

log = logging.getLogger(__name__)

MONTHLY_CHECK = "monthly_check"  # the job's name in the scheduler
FLOW = "chk"
BUTTON = pattern(FLOW, "yes|pause|leave", r"\d{1,9}")
ANSWERS: dict[str, CheckAnswerKind] = {"yes": "available", "pause": "pause", "leave": "leave"}
NOTED = {
    "available": "checkin.noted_available",
    "pause": "checkin.noted_pause",
    "leave": "checkin.noted_leave",
}
SILENT_AFTER = dt.timedelta(days=7)
SILENT_LISTED = 30  # names in the coordinators' notice; the rest are counted


def question_buttons(reader: Reader, check_id: int) -> Keyboard:
    return column(
        [
            (reader.t("checkin.yes"), pack(FLOW, "yes", check_id)),
            (reader.t("checkin.pause"), pack(FLOW, "pause", check_id)),
            (reader.t("checkin.leave"), pack(FLOW, "leave", check_id)),
        ]
    )


async def run_monthly_check(svc: Services) -> None:
    """The daily job: mark who stayed silent a week, then ask whoever is due this month.

    Each specialist's question is claimed and sent in a unit of work of its own, so one
    that fails undoes nobody else's.
    """
    await _mark_silent(svc)
    today = svc.today()
    check_day = first_working_day(today.year, today.month)
    if today < check_day:
        return
    registered_before = dt.datetime.combine(check_day, dt.time(0), tzinfo=svc.timezone)
    month = f"{today:%Y-%m}"
    due = await due_for_check(
        db=svc.db, month=month, registered_before=registered_before, today=today
    )
    asked = 0
    for specialist_id in due:
        async with svc.db.unit_of_work():
            recipient = await claim_check(
                db=svc.db, specialist_id=specialist_id, month=month, now=svc.clock.now()
            )
            if recipient is None:
                continue  # asked meanwhile by another run or process, or no longer approved
            reader = LocaleReader(svc.catalogs, svc.catalogs.locale_for(recipient.locale, None))
            if await notify(
                svc,
                recipient.user_id,
                reader.t("checkin.question"),
                question_buttons(reader, recipient.check_id),
            ):
                asked += 1
            else:
                log.warning("monthly check could not reach specialist %s", specialist_id)
    log.info("monthly check %s: asked %d of %d due", month, asked, len(due))


async def _mark_silent(svc: Services) -> None:
    """Mark the silent and tell the coordinators in one unit of work: the notice goes out
    only with the marks it reports."""
    async with svc.db.unit_of_work():
        now = svc.clock.now()
        marked = await mark_not_responding(db=svc.db, asked_before=now - SILENT_AFTER, now=now)
        if not marked:
            return
        for coordinator in await coordinator_audience(svc):
            await svc.outbox.send(
                coordinator.target, View(silent_notice(coordinator.reader, marked))
            )


def silent_notice(reader: Reader, marked: list[Specialist]) -> Markup:
    lines = [reader.t("checkin.silent_heading", count=len(marked))]
    lines += [
        reader.t("checkin.silent_line", id=s.id, name=s.name, institution=s.institution)
        for s in marked[:SILENT_LISTED]
    ]
    if len(marked) > SILENT_LISTED:
        lines.append(reader.t("checkin.silent_more", count=len(marked) - SILENT_LISTED))
    lines.append(reader.t("checkin.silent_footer"))
    return Markup("\n".join(lines))


async def on_answer(chat: Chat) -> None:
    """Yes / pause a month / no longer, for the specialist's own latest check only."""
    match = chat.match
    assert match is not None
    actor = chat.actor
    if match["arg"] is None:
        await chat.notice(actor.t("button.unknown"))
        return
    answer = ANSWERS[match["action"]]
    svc = actor.services
    result = await answer_check(
        db=svc.db,
        check_id=int(match["arg"]),
        user_id=actor.user_id,
        answer=answer,
        pause_until=months_after(svc.today(), 1),
        now=svc.clock.now(),
    )
    if result.outcome != "answered" or result.specialist is None:
        said = {"already": "checkin.already", "stale": "button.stale"}
        await chat.notice(actor.t(said.get(result.outcome, "button.unknown")))
        return
    specialist = result.specialist
    await chat.notice()
    noted = actor.t(NOTED[answer], date=specialist.paused_until or "")
    await chat.annotate(noted)
    if answer == "leave" and specialist.status == SpecialistStatus.WITHDRAWN:
        await tell_coordinators(svc, "checkin.left_notice", id=specialist.id, name=specialist.name)


def register(router: Router) -> None:
    router.button(BUTTON, on_answer)

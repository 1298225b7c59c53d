"""Scheduled check-ins on engagements: a nudge to log work, and a monthly question to the
enterprise.

    daily at 10:30 (bot.jobs) ─> run_engagement_checkins
        nudge: an active engagement with no work logged for 14 days ─> the specialist:
               "please log your work" [📝 log work]; again a week later while still silent
        question: from each month's first working day, every active engagement at least
               14 days old on that day ─> the enterprise: "is the work going well?"
               [👍 yes] [🤏 partly] [👎 no] ─> stored; a "no" goes to the coordinators' digest
               (storage.engagements.troubled_engagements)

The database holds the truth (the nudge time on each engagement, one check-in row per
engagement and month), so a job that runs twice, a restart or a second process sends
nothing twice, and a missed day is caught up by the next run.
"""

from __future__ import annotations

import datetime as dt
import logging

from handlers.callbacks import pack, pattern
from handlers.core.chat import Chat
from handlers.core.router import Router
from handlers.core.views import column, inline
from handlers.dates import first_working_day
from handlers.engagement_views import LOG, counterpart, reader_for, send_to
from handlers.services import Services
from storage.engagements import (
    CHECKIN_ANSWERS,
    answer_checkin,
    claim_checkin,
    claim_log_nudges,
    due_for_checkin,
)

log = logging.getLogger(__name__)

ENGAGEMENT_CHECKINS = "engagement_checkins"  # the job's name (bot.jobs)
QUIET_FOR = dt.timedelta(days=14)  # no work logged for this long: nudge
NUDGE_EVERY = dt.timedelta(days=7)
ASK_AFTER = dt.timedelta(days=14)  # an engagement this old is asked about monthly
FLOW = "ech"
BUTTON = pattern(FLOW, "|".join(CHECKIN_ANSWERS), r"\d{1,9}")
ANSWERS = {
    "good": "checkin_e.good",
    "partly": "checkin_e.partly",
    "no": "checkin_e.no",
}
NOTED = {
    "good": "checkin_e.noted_good",
    "partly": "checkin_e.noted_partly",
    "no": "checkin_e.noted_no",
}


async def run_engagement_checkins(svc: Services) -> None:
    """The daily job: nudge the silent, then ask the enterprises due this month."""
    await send_log_nudges(svc)
    await ask_enterprises(svc)


async def send_log_nudges(svc: Services) -> int:
    """Specialists with an active engagement and nothing logged for 14 days; weekly at most.

    The claim marks every due engagement at once (storage.engagements.claim_log_nudges), so
    the claim and the nudges it owes commit together: nothing claimed goes unsent.
    """
    now = svc.clock.now()
    sent = 0
    async with svc.db.unit_of_work():
        due = await claim_log_nudges(
            db=svc.db, quiet_since=now - QUIET_FOR, nudged_before=now - NUDGE_EVERY, now=now
        )
        for card, silent_since in due:
            reader = reader_for(svc, card.specialist_user)
            text = reader.t(
                "checkin_e.nudge",
                title=card.demand.title,
                other=counterpart(reader, card, "specialist"),
                count=(now - silent_since).days,
            )
            button = [(reader.t("engagement.log_work"), pack(LOG, "for", card.id))]
            sent += await send_to(svc, card.specialist_user, text, inline([button]))
    log.info("log nudges: %d sent of %d due", sent, len(due))
    return sent


async def ask_enterprises(svc: Services) -> int:
    """This month's "is the work going well?" to each enterprise not yet asked; each claim
    commits with its question, one engagement at a time."""
    today = svc.today()
    first = first_working_day(today.year, today.month)
    if today < first:
        return 0
    month = f"{today:%Y-%m}"
    now = svc.clock.now()
    # Two weeks old by the month's first working day: one begun later waits for next month,
    # or it would be asked mid-month and again a fortnight later.
    day_one = dt.datetime.combine(first, dt.time(), svc.timezone)
    due = await due_for_checkin(db=svc.db, month=month, started_before=day_one - ASK_AFTER)
    asked = 0
    for engagement_id in due:
        async with svc.db.unit_of_work():
            claimed = await claim_checkin(
                db=svc.db, engagement_id=engagement_id, month=month, now=now
            )
            if claimed is None:
                continue  # asked meanwhile by another run or process, or no longer active
            checkin_id, card = claimed
            reader = reader_for(svc, card.owner)
            text = reader.t(
                "checkin_e.question",
                title=card.demand.title,
                other=counterpart(reader, card, "enterprise"),
            )
            buttons = column(
                [
                    (reader.t(msgid), pack(FLOW, answer, checkin_id))
                    for answer, msgid in ANSWERS.items()
                ]
            )
            asked += await send_to(svc, card.owner, text, buttons)
    log.info("engagement check-ins %s: asked %d of %d due", month, asked, len(due))
    return asked


async def on_answer(chat: Chat) -> None:
    """Yes / partly / no, for the enterprise's own question only; the first answer counts."""
    match = chat.match
    assert match is not None
    actor = chat.actor
    if match["arg"] is None:
        await chat.notice(actor.t("button.unknown"))
        return
    answer = match["action"]
    svc = actor.services
    result, _ = await answer_checkin(
        db=svc.db,
        checkin_id=int(match["arg"]),
        owner_user_id=actor.user_id,
        answer=answer,
        now=svc.clock.now(),
    )
    if result != "done":
        stale = result == "stale"
        await chat.notice(actor.t("checkin_e.already") if stale else actor.t("button.unknown"))
        return
    await chat.notice()
    noted = actor.t(NOTED[answer])
    await chat.annotate(noted)


def register(router: Router) -> None:
    router.button(BUTTON, on_answer)

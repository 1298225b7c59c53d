"""/log: a specialist records work done; the enterprise confirms or disputes it in one tap.

    /log ─(several active engagements)─> which one? ─┐
         └─(one)──────────────────────────────────────┴─> day [today] [yesterday] or typed
         ─> [on site] [remote] ─> hours (0.5-24, buttons or typed) ─> what was done
         ─> summary ─confirm─> stored as pending ─> the enterprise: [✅ confirm] [❌ dispute]
                                                       └─> the specialist is told either way
    dispute ─> the specialist and the coordinators told at once; the enterprise asked why
            ─> a typed reason (kept, and sent to both) or [skip]

Only confirmed entries count towards service days (hours / 8) and vouchers. The form
is the guided-form engine's, so every step has Back and Cancel and a restart loses
nothing; the engagement travels in the draft and is checked again when stored.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from handlers import form
from handlers.actor import Actor
from handlers.callbacks import pack, pattern
from handlers.coordinators import coordinator_audience, tell_coordinators
from handlers.core.chat import Chat
from handlers.core.router import Router
from handlers.core.views import Keyboard, View, column, inline
from handlers.engagement_views import (
    LOG,
    LOG_STATUSES,
    MODES,
    counterpart,
    log_line,
    number,
    reader_for,
    send_to,
    short_title,
)
from handlers.form import Draft, Field, Form, Option, open_form, resume_form
from handlers.i18n import Markup
from handlers.services import Services
from handlers.specialist_views import Reader
from handlers.validators import Invalid, date_on_or_after, text_between
from storage.dialogues import end_dialogue, load_dialogue, save_dialogue
from storage.engagements import (
    EngagementCard,
    NewWorkLog,
    add_work_log,
    decide_work_log,
    engagement_for,
    list_engagements,
    record_dispute_reason,
)
from storage.models import Dialogue, EngagementStatus, Role, WorkLog

FLOW = "wl"
SUMMARY_MIN, SUMMARY_MAX = 5, 500
HOURS_MIN, HOURS_MAX = 0.5, 24
HOUR_CHOICES = ("1", "2", "4", "8")
CHOICES_SHOWN = 10  # engagements offered by /log; more is unusual for one specialist
PICK = pattern(LOG, "for", r"\d{1,9}")
DECIDE = pattern("wlc", "ok|no", r"\d{1,9}")
WHY = "wlw"  # the optional reason after a dispute
SKIP_WHY = pattern(WHY, "skip", r"\d{1,9}")
REASON_MIN, REASON_MAX = 2, 300
_HOURS = re.compile(r"^(\d{1,2}(?:[.,]\d{1,2})?)\s*(?:h|hrs?|hours?|个?小时|钟头)?$", re.IGNORECASE)


def started(draft: Draft) -> dt.date:
    return dt.date.fromisoformat(draft["started"])


def date_options(actor: Actor, draft: Draft) -> list[Option]:
    """Today and, if the engagement had begun by then, yesterday; other days are typed."""
    today = actor.services.today()
    days = [("log.today", today), ("log.yesterday", today - dt.timedelta(days=1))]
    return [
        Option(day.isoformat(), actor.t(msgid, date=day.isoformat()))
        for msgid, day in days
        if day >= started(draft)
    ]


def parse_date(text: str, actor: Actor, draft: Draft) -> str:
    """A day from the engagement's start to today."""
    day = date_on_or_after(text, earliest=started(draft))
    if day > actor.services.today():
        raise Invalid("log.invalid_future")
    return day.isoformat()


def example(actor: Actor, draft: Draft) -> str:
    """A day one would type: yesterday, unless the engagement began today."""
    return max(started(draft), actor.services.today() - dt.timedelta(days=1)).isoformat()


def mode_options(actor: Actor, draft: Draft) -> list[Option]:
    return [Option(code, actor.t(msgid)) for code, msgid in MODES.items()]


def hour_options(actor: Actor, draft: Draft) -> list[Option]:
    return [Option(hours, actor.t("log.hours_value", hours=hours)) for hours in HOUR_CHOICES]


def parse_hours(text: str, actor: Actor, draft: Draft) -> str:
    """Hours as typed (3, 2.5, 1,5, ３小时), in half hours from 0.5 to 24."""
    match = _HOURS.match(unicodedata.normalize("NFKC", text).strip())
    hours = float(match.group(1).replace(",", ".")) if match else 0.0
    if not HOURS_MIN <= hours <= HOURS_MAX or (hours * 2) % 1:
        raise Invalid("log.invalid_hours", low=number(HOURS_MIN), high=number(HOURS_MAX))
    return number(hours)


def hours_text(actor: Actor, value: object) -> str:
    return actor.t("log.hours_value", hours=value)


FIELDS = (
    Field(
        "date",
        "log.ask_date",
        "log.label_date",
        options=date_options,
        parse=parse_date,
        render=lambda actor, value: str(value),  # a typed day is in no option
        prompt_params=lambda actor, draft: {
            "title": draft["title"],
            "example": example(actor, draft),
        },
    ),
    Field("mode", "log.ask_mode", "log.label_mode", options=mode_options),
    Field(
        "hours",
        "log.ask_hours",
        "log.label_hours",
        options=hour_options,
        parse=parse_hours,
        render=hours_text,
        prompt_params=lambda actor, draft: {"low": number(HOURS_MIN), "high": number(HOURS_MAX)},
    ),
    Field(
        "work",  # not "summary": that is the name of the form's last step
        "log.ask_summary",
        "log.label_summary",
        parse=lambda text, actor, draft: text_between(text, low=SUMMARY_MIN, high=SUMMARY_MAX),
        prompt_params=lambda actor, draft: {"low": SUMMARY_MIN, "high": SUMMARY_MAX},
    ),
)


def decide_buttons(reader: Reader, log_id: int) -> Keyboard:
    return inline(
        [
            [
                (reader.t("log.confirm"), pack("wlc", "ok", log_id)),
                (reader.t("log.dispute"), pack("wlc", "no", log_id)),
            ]
        ]
    )


async def confirm_log(chat: Chat, draft: Draft) -> None:
    """Store the entry as pending and ask the enterprise to confirm it."""
    actor = chat.actor
    svc = actor.services
    added = await add_work_log(
        db=svc.db,
        engagement_id=draft["engagement_id"],
        specialist_user_id=actor.user_id,
        entry=NewWorkLog(
            work_date=dt.date.fromisoformat(draft["date"]),
            mode=draft["mode"],
            hours=float(draft["hours"]),
            summary=draft["work"],
        ),
        now=svc.clock.now(),
    )
    if added is None:
        await chat.reply(actor.t("log.not_active"))
        return
    entry, card = added
    assert entry.id is not None
    reader = reader_for(svc, card.owner)
    text = Markup(
        "\n".join(
            [
                reader.t(
                    "log.to_confirm",
                    title=card.demand.title,
                    other=counterpart(reader, card, "enterprise"),
                ),
                log_line(reader, entry),
                reader.t("log.to_confirm_hint"),
            ]
        )
    )
    await send_to(svc, card.owner, text, decide_buttons(reader, entry.id))
    await chat.reply(actor.t("log.sent", name=card.enterprise.name))


WORK_LOG = Form(flow=FLOW, fields=FIELDS, summary="log.summary", confirm=confirm_log)


async def open_log(chat: Chat, card: EngagementCard) -> None:
    """The form for one engagement; its start day bounds the dates that can be logged."""
    start = card.engagement.started_at.astimezone(chat.services.timezone).date()
    draft = {"engagement_id": card.id, "title": card.demand.title, "started": start.isoformat()}
    await open_form(WORK_LOG, chat, draft)


async def log_command(chat: Chat) -> None:
    """/log: for specialists with an active engagement; asks which one when there are several."""
    actor = chat.actor
    if actor.user.role != Role.SPECIALIST:
        await chat.reply(actor.t("log.specialists_only"))
        return
    svc = actor.services
    dialogue = await load_dialogue(db=svc.db, user_id=actor.user_id)
    if dialogue is not None and dialogue.flow == FLOW:
        await chat.reply(actor.t("log.in_progress"))
        await resume_form(WORK_LOG, chat, dialogue)
        return
    total, cards = await list_engagements(
        db=svc.db, user_id=actor.user_id, limit=CHOICES_SHOWN, active_only=True
    )
    if total == 0:
        await chat.reply(actor.t("log.none_active"))
    elif total == 1:
        await open_log(chat, cards[0])
    else:
        buttons = [(short_title(card), pack(LOG, "for", card.id)) for card in cards]
        await chat.reply(actor.t("log.which"), column(buttons))


async def on_pick(chat: Chat) -> None:
    """Log work for one engagement (from /log's question, a card or a nudge): own, active only."""
    match = chat.match
    assert match is not None
    actor = chat.actor
    found = (
        await engagement_for(
            db=actor.services.db, engagement_id=int(match["arg"]), user_id=actor.user_id
        )
        if match["arg"]
        else None
    )
    if found is None or found[1] != "specialist":
        await chat.notice(actor.t("button.unknown"))
        return
    card, _ = found
    if card.engagement.status != EngagementStatus.ACTIVE:
        await chat.notice(actor.t("log.not_active"), alert=True)
        return
    await chat.notice()
    await open_log(chat, card)


async def on_decide(chat: Chat) -> None:
    """The enterprise confirms or disputes an entry: its own engagements only, first tap counts."""
    match = chat.match
    assert match is not None
    actor = chat.actor
    if match["arg"] is None:
        await chat.notice(actor.t("button.unknown"))
        return
    svc = actor.services
    confirm = match["action"] == "ok"
    result, entry, card = await decide_work_log(
        db=svc.db,
        log_id=int(match["arg"]),
        owner_user_id=actor.user_id,
        confirm=confirm,
        now=svc.clock.now(),
    )
    if result == "unknown" or entry is None or card is None:
        await chat.notice(actor.t("button.unknown"))
        return
    noted = actor.t("log.noted", status=actor.t(LOG_STATUSES[entry.status]))
    await chat.annotate(noted)
    if result == "stale":
        await chat.notice(actor.t("log.already_decided"))
        return
    await chat.notice()
    reader = reader_for(svc, card.specialist_user)
    msgid = "log.told_confirmed" if confirm else "log.told_disputed"
    told = reader.t(msgid, title=card.demand.title, name=card.enterprise.name)
    await send_to(svc, card.specialist_user, Markup("\n".join([told, log_line(reader, entry)])))
    if not confirm:
        assert entry.id is not None
        await _alert_coordinators(svc, card, entry)
        await save_dialogue(
            db=svc.db,
            user_id=actor.user_id,
            flow=WHY,
            step="reason",
            data={"log": entry.id},
            now=svc.clock.now(),
        )
        await _ask_why(chat, entry.id)


async def _alert_coordinators(svc: Services, card: EngagementCard, entry: WorkLog) -> None:
    for coordinator in await coordinator_audience(svc):
        reader = coordinator.reader
        text = reader.t(
            "log.dispute_alert",
            id=card.id,
            title=card.demand.title,
            enterprise=card.enterprise.name,
            specialist=card.specialist.name,
            line=log_line(reader, entry),
        )
        await svc.outbox.send(coordinator.target, View(text))


async def _ask_why(chat: Chat, log_id: int) -> None:
    """The optional reason for a dispute, typed next (or skipped)."""
    actor = chat.actor
    skip = [(actor.t("log.dispute_skip"), pack(WHY, "skip", log_id))]
    await chat.reply(actor.t("log.dispute_why"), inline([skip]))


async def on_reason(chat: Chat, dialogue: Dialogue) -> None:
    """The reason typed after a dispute: kept once, sent to the specialist and coordinators."""
    actor = chat.actor
    svc = actor.services
    try:
        reason = text_between(chat.text or "", low=REASON_MIN, high=REASON_MAX)
    except Invalid as invalid:
        await chat.reply(actor.t(invalid.msgid, **invalid.params))
        await _ask_why(chat, int(dialogue.data["log"]))
        return
    await end_dialogue(db=svc.db, user_id=actor.user_id)
    await chat.drop_choices()  # the question's Skip: stale now
    card = await record_dispute_reason(
        db=svc.db, log_id=int(dialogue.data["log"]), owner_user_id=actor.user_id, reason=reason
    )
    if card is None:  # not a disputed entry of theirs any more, or its reason was given
        await chat.reply(actor.t("button.stale"))
        return
    reader = reader_for(svc, card.specialist_user)
    await send_to(svc, card.specialist_user, reader.t("log.dispute_reason_told", reason=reason))
    await tell_coordinators(svc, "log.dispute_alert_reason", id=card.id, reason=reason)
    await chat.reply(actor.t("log.dispute_forwarded"))


async def on_skip(chat: Chat) -> None:
    """No reason after all: the dialogue ends (a second tap, or a forged one, changes nothing)."""
    actor = chat.actor
    dialogue = await load_dialogue(db=actor.services.db, user_id=actor.user_id)
    match = chat.match
    assert match is not None
    if dialogue is None or dialogue.flow != WHY or str(dialogue.data.get("log")) != match["arg"]:
        await chat.notice(actor.t("button.stale"))
        return
    await end_dialogue(db=actor.services.db, user_id=actor.user_id)
    await chat.notice()
    await chat.annotate(actor.t("log.dispute_skipped"))


async def on_input(chat: Chat, dialogue: Dialogue) -> None:
    await form.on_input(WORK_LOG, chat, dialogue)


def register(router: Router) -> None:
    router.command("log", log_command)
    router.button(PICK, on_pick)
    router.button(DECIDE, on_decide)
    form.register(WORK_LOG, router)
    router.dialogue(FLOW, on_input)
    router.button(SKIP_WHY, on_skip)
    router.dialogue(WHY, on_reason)

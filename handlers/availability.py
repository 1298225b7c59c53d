"""/availability: a specialist keeps their availability current in one tap.

    /availability ─> where they stand, and buttons that act at once:
        [⏸ 1 week] [⏸ 2 weeks] [⏸ 1 month]   [📅 until a date…] [▶ resume]
        [👥 1 … 5]  enterprises at once       [🗓 1 2 4 6 8 10]  days a month
    until a date… ─> a typed date (kept in the dialogues table) ─> paused
    left at a monthly check ─> [I am available again] ─> approved again

A pause is "until a date": proposals stop and resume on that day by themselves.
Buttons carry no ids: each acts on the pressing user's own record only.
"""

from __future__ import annotations

import datetime as dt

from handlers.actor import Actor
from handlers.callbacks import pack, pattern
from handlers.coordinators import tell_coordinators
from handlers.core.chat import Chat
from handlers.core.router import Router
from handlers.core.views import Keyboard, Pair, inline
from handlers.dates import months_after
from handlers.i18n import Markup
from handlers.specialist import CAPACITY_CHOICES, DAYS_CHOICES
from handlers.specialist_views import capacity_text, days_text, period_text, status_text
from handlers.start import help_text
from handlers.validators import Invalid, date_on_or_after
from storage.dialogues import end_dialogue, load_dialogue, save_dialogue
from storage.models import Dialogue, Role, Specialist, SpecialistStatus
from storage.specialists import (
    get_specialist,
    pause_specialist,
    return_to_programme,
    set_capacity,
    set_days_per_month,
)

FLOW = "avl"  # callback prefix, and the dialogue of a typed pause date
DATE_STEP = "date"
BUTTON = pattern(FLOW, "pause|date|resume|cap|days|back|cancel", r"\d{1,2}|m1")
PAUSE_CHOICES = (("7", "availability.pause_week"), ("14", "availability.pause_2_weeks"))


def pause_end(today: dt.date, choice: str) -> dt.date:
    """The day proposals start again after a pause of 7 or 14 days, or a month ("m1")."""
    return months_after(today, 1) if choice == "m1" else today + dt.timedelta(days=int(choice))


def is_paused(specialist: Specialist, today: dt.date) -> bool:
    return specialist.paused_until is not None and specialist.paused_until > today


def view(actor: Actor, specialist: Specialist) -> tuple[Markup, Keyboard]:
    """Where the specialist stands, and the one-tap changes open to them."""
    s = specialist
    if s.status == SpecialistStatus.WITHDRAWN:
        back = [(actor.t("availability.come_back"), pack(FLOW, "back"))]
        return actor.t("availability.withdrawn"), inline([back])
    if s.status == SpecialistStatus.REJECTED:
        return actor.t("availability.rejected"), ()
    today = actor.services.today()
    text = actor.t(
        "availability.view",
        status=status_text(actor, s, today),
        days=days_text(actor, s.days_per_month),
        capacity=capacity_text(actor, s.capacity),
        period=period_text(actor, s.available_from, s.available_to),
    )
    pauses: list[Pair] = [
        (actor.t(msgid), pack(FLOW, "pause", code)) for code, msgid in PAUSE_CHOICES
    ]
    pauses.append((actor.t("availability.pause_month"), pack(FLOW, "pause", "m1")))
    dates: list[Pair] = [(actor.t("availability.pause_until"), pack(FLOW, "date"))]
    if is_paused(s, today):
        dates.append((actor.t("availability.resume"), pack(FLOW, "resume")))
    capacity = [
        (f"{'✅' if n == s.capacity else '👥'} {n}", pack(FLOW, "cap", n)) for n in CAPACITY_CHOICES
    ]
    days = [
        (f"{'✅' if n == s.days_per_month else '🗓'} {n}", pack(FLOW, "days", n))
        for n in DAYS_CHOICES
    ]
    return text, inline([pauses, dates, capacity, days])


async def availability_command(chat: Chat) -> None:
    """/availability: the specialist's availability with its one-tap changes."""
    actor = chat.actor
    if actor.user.role != Role.SPECIALIST:
        await chat.reply(help_text(actor))
        return
    specialist = await get_specialist(db=actor.services.db, user_id=actor.user_id)
    if specialist is None:
        await chat.reply(actor.t("availability.no_profile"))
        return
    text, keyboard = view(actor, specialist)
    await chat.reply(text, keyboard)


async def _apply(actor: Actor, action: str, arg: str | None) -> Specialist | None:
    """Carry out a change button; None when the button names no change we offer."""
    db, now, today = actor.services.db, actor.services.clock.now(), actor.services.today()
    user_id = actor.user_id
    if action == "pause" and arg in ("7", "14", "m1"):
        return await pause_specialist(db=db, user_id=user_id, until=pause_end(today, arg), now=now)
    if action == "resume":
        return await pause_specialist(db=db, user_id=user_id, until=None, now=now)
    if action == "cap" and arg and arg.isdigit() and int(arg) in CAPACITY_CHOICES:
        return await set_capacity(db=db, user_id=user_id, capacity=int(arg), now=now)
    if action == "days" and arg and arg.isdigit() and int(arg) in DAYS_CHOICES:
        return await set_days_per_month(db=db, user_id=user_id, days=int(arg), now=now)
    return None


async def on_button(chat: Chat) -> None:
    """A one-tap change; the message then shows the new state."""
    match = chat.match
    assert match is not None
    actor = chat.actor
    action, arg = match["action"], match["arg"]
    specialist = await get_specialist(db=actor.services.db, user_id=actor.user_id)
    if action == "cancel":
        await _end_date_dialogue(actor)
        await chat.notice()
        await chat.replace(chat.message, actor.t("availability.date_cancelled"))
        return
    withdrawn = specialist is not None and specialist.status == SpecialistStatus.WITHDRAWN
    if (
        specialist is None
        or specialist.status == SpecialistStatus.REJECTED
        or (withdrawn != (action == "back"))
    ):
        await chat.notice(actor.t("button.stale"))
        return
    if action == "date":
        await save_dialogue(
            db=actor.services.db,
            user_id=actor.user_id,
            flow=FLOW,
            step=DATE_STEP,
            data={},
            now=actor.services.clock.now(),
        )
        await chat.notice()
        await _ask_date(chat)
        return
    if action == "back":
        updated = await return_to_programme(
            db=actor.services.db, user_id=actor.user_id, now=actor.services.clock.now()
        )
        if updated is not None:
            await tell_coordinators(
                actor.services, "availability.came_back_notice", id=updated.id, name=updated.name
            )
    else:
        updated = await _apply(actor, action, arg)
    if updated is None:
        await chat.notice(actor.t("button.unknown"))
        return
    await chat.notice(actor.t("availability.saved"))
    text, keyboard = view(actor, updated)
    await chat.replace(chat.message, text, keyboard)


async def _ask_date(chat: Chat) -> None:
    actor = chat.actor
    cancel = [(actor.t("form.cancel"), pack(FLOW, "cancel"))]
    example = months_after(actor.services.today(), 1)
    await chat.reply(actor.t("availability.ask_date", example=example), inline([cancel]))


async def _end_date_dialogue(actor: Actor) -> None:
    dialogue = await load_dialogue(db=actor.services.db, user_id=actor.user_id)
    if dialogue is not None and dialogue.flow == FLOW:
        await end_dialogue(db=actor.services.db, user_id=actor.user_id)


async def on_input(chat: Chat, dialogue: Dialogue) -> None:
    """The typed date a pause lasts until (from tomorrow on)."""
    actor = chat.actor
    today = actor.services.today()
    try:
        if chat.text is None:
            raise Invalid("invalid.not_text")
        until = date_on_or_after(chat.text, earliest=today + dt.timedelta(days=1))
    except Invalid as invalid:
        await chat.reply(actor.t(invalid.msgid, **invalid.params))
        await _ask_date(chat)
        return
    await end_dialogue(db=actor.services.db, user_id=actor.user_id)
    updated = await pause_specialist(
        db=actor.services.db, user_id=actor.user_id, until=until, now=actor.services.clock.now()
    )
    if updated is None:
        await chat.reply(actor.t("availability.no_profile"))
        return
    text, keyboard = view(actor, updated)
    await chat.reply(text, keyboard)


def register(router: Router) -> None:
    router.command("availability", availability_command)
    router.button(BUTTON, on_button)
    router.dialogue(FLOW, on_input)

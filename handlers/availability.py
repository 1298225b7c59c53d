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

import contextlib
import datetime as dt

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackContext, CallbackQueryHandler, CommandHandler

from handlers import approvals
from handlers.actor import Actor, get_actor
from handlers.callbacks import pack, pattern
from handlers.dates import months_after
from handlers.i18n import Markup
from handlers.keyboards import Button, inline, redraw
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


def view(actor: Actor, specialist: Specialist) -> tuple[Markup, InlineKeyboardMarkup | None]:
    """Where the specialist stands, and the one-tap changes open to them."""
    s = specialist
    if s.status == SpecialistStatus.WITHDRAWN:
        back = [(actor.t("availability.come_back"), pack(FLOW, "back"))]
        return actor.t("availability.withdrawn"), inline([back])
    if s.status == SpecialistStatus.REJECTED:
        return actor.t("availability.rejected"), None
    today = actor.services.today()
    text = actor.t(
        "availability.view",
        status=status_text(actor, s, today),
        days=days_text(actor, s.days_per_month),
        capacity=capacity_text(actor, s.capacity),
        period=period_text(actor, s.available_from, s.available_to),
    )
    pauses: list[Button] = [
        (actor.t(msgid), pack(FLOW, "pause", code)) for code, msgid in PAUSE_CHOICES
    ]
    pauses.append((actor.t("availability.pause_month"), pack(FLOW, "pause", "m1")))
    dates: list[Button] = [(actor.t("availability.pause_until"), pack(FLOW, "date"))]
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


async def availability_command(update: Update, context: CallbackContext) -> None:
    """/availability: the specialist's availability with its one-tap changes."""
    actor = await get_actor(update, context)
    message = update.effective_message
    assert message is not None
    if actor.user.role != Role.SPECIALIST:
        await message.reply_text(help_text(actor))
        return
    specialist = await get_specialist(db=actor.services.db, user_id=actor.user_id)
    if specialist is None:
        await message.reply_text(actor.t("availability.no_profile"))
        return
    text, keyboard = view(actor, specialist)
    await message.reply_text(text, reply_markup=keyboard)


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


async def on_button(update: Update, context: CallbackContext) -> None:
    """A one-tap change; the message then shows the new state."""
    query = update.callback_query
    assert query is not None and query.data is not None
    match = BUTTON.match(query.data)
    message = query.message
    assert match is not None and isinstance(message, Message)
    actor = await get_actor(update, context)
    action, arg = match["action"], match["arg"]
    specialist = await get_specialist(db=actor.services.db, user_id=actor.user_id)
    if action == "cancel":
        await _end_date_dialogue(actor)
        await query.answer()
        await redraw(message, actor.t("availability.date_cancelled"))
        return
    withdrawn = specialist is not None and specialist.status == SpecialistStatus.WITHDRAWN
    if (
        specialist is None
        or specialist.status == SpecialistStatus.REJECTED
        or (withdrawn != (action == "back"))
    ):
        await query.answer(actor.t("button.stale"))
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
        await query.answer()
        await _ask_date(message, actor)
        return
    if action == "back":
        updated = await return_to_programme(
            db=actor.services.db, user_id=actor.user_id, now=actor.services.clock.now()
        )
        if updated is not None:
            await approvals.tell_coordinators(
                context.bot,
                actor.services,
                "availability.came_back_notice",
                id=updated.id,
                name=updated.name,
            )
    else:
        updated = await _apply(actor, action, arg)
    if updated is None:
        await query.answer(actor.t("button.unknown"))
        return
    await query.answer(actor.t("availability.saved"))
    text, keyboard = view(actor, updated)
    with contextlib.suppress(BadRequest):  # the same choice again: nothing to redraw
        await redraw(message, text, reply_markup=keyboard)


async def _ask_date(message: Message, actor: Actor) -> None:
    cancel = [(actor.t("form.cancel"), pack(FLOW, "cancel"))]
    await message.chat.send_message(actor.t("availability.ask_date"), reply_markup=inline([cancel]))


async def _end_date_dialogue(actor: Actor) -> None:
    dialogue = await load_dialogue(db=actor.services.db, user_id=actor.user_id)
    if dialogue is not None and dialogue.flow == FLOW:
        await end_dialogue(db=actor.services.db, user_id=actor.user_id)


async def on_input(
    update: Update, context: CallbackContext, actor: Actor, dialogue: Dialogue
) -> None:
    """The typed date a pause lasts until (from tomorrow on)."""
    message = update.effective_message
    assert message is not None
    today = actor.services.today()
    try:
        if message.text is None:
            raise Invalid("invalid.not_text")
        until = date_on_or_after(message.text, earliest=today + dt.timedelta(days=1))
    except Invalid as invalid:
        await message.reply_text(actor.t(invalid.msgid, **invalid.params))
        await _ask_date(message, actor)
        return
    await end_dialogue(db=actor.services.db, user_id=actor.user_id)
    updated = await pause_specialist(
        db=actor.services.db, user_id=actor.user_id, until=until, now=actor.services.clock.now()
    )
    if updated is None:
        await message.reply_text(actor.t("availability.no_profile"))
        return
    text, keyboard = view(actor, updated)
    await message.reply_text(text, reply_markup=keyboard)


def register(application: Application, group: int) -> None:
    application.add_handler(CommandHandler("availability", availability_command), group)
    application.add_handler(CallbackQueryHandler(on_button, pattern=BUTTON), group)

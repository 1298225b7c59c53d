"""Coordinators vet specialists: approve or reject new registrations, suspend and
reinstate approved ones; /pending lists what waits for them.

    profile confirmed ─> a card to every coordinator: [Approve] [Reject]
        Approve ─> approved (card then offers [Suspend]) ─> specialist told
        Reject ─> reasons on the card, or a typed reason ─> rejected ─> specialist told
    approved ─[Suspend]─> suspended ─[Reinstate]─> approved     (specialist told each time)

Each decision is one guarded transition written with its audit row (see
storage.specialists), so when two coordinators press at once one decision is
applied and the other coordinator sees what happened. Anyone else pressing a
card's button is refused politely and nothing changes. Only approved
specialists are matched.
"""

from __future__ import annotations

import logging

from telegram import Bot, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, CallbackContext, CallbackQueryHandler, CommandHandler

from handlers.access import coordinators_only
from handlers.actor import Actor
from handlers.callbacks import pack, pattern
from handlers.i18n import Markup
from handlers.keyboards import column, inline, redraw
from handlers.services import Services
from handlers.specialist_views import REASONS, STATUSES, LocaleReader, Reader, card, label
from handlers.validators import Invalid, text_between
from storage.dialogues import end_dialogue, load_dialogue, save_dialogue
from storage.models import Dialogue, Specialist, SpecialistStatus, User
from storage.specialists import (
    REJECT_REASONS,
    Decision,
    decide_specialist,
    not_responding_specialists,
    pending_specialists,
    specialist_and_user,
)
from storage.users import coordinator_chat_ids, get_user

log = logging.getLogger(__name__)

FLOW = "apr"  # callback prefix, and the dialogue of a coordinator typing a rejection reason
REASON_STEP = "reason"
CARD_BUTTON = pattern(FLOW, "ok|no|back|sus|rei", r"\d{1,9}")
REASON_BUTTON = pattern(FLOW, "why", rf"\d{{1,9}}\.(?:{'|'.join(REJECT_REASONS)})")
DECISIONS: dict[str, Decision] = {"ok": "approve", "sus": "suspend", "rei": "reinstate"}
TOLD = {
    "approve": "specialist.told_approved",
    "reject": "specialist.told_rejected",
    "suspend": "specialist.told_suspended",
    "reinstate": "specialist.told_reinstated",
}
DONE = {
    "approve": "approvals.done_approve",
    "reject": "approvals.done_reject",
    "suspend": "approvals.done_suspend",
    "reinstate": "approvals.done_reinstate",
}
SHOWN = 10  # cards per section of /pending: the oldest first
REASON_MIN, REASON_MAX = 3, 500


def card_buttons(reader: Reader, specialist: Specialist) -> InlineKeyboardMarkup | None:
    """What a coordinator can do from the card in the specialist's present status."""
    sid = specialist.id
    assert sid is not None
    if specialist.status == SpecialistStatus.PENDING:
        return inline(
            [
                [
                    (reader.t("approvals.approve"), pack(FLOW, "ok", sid)),
                    (reader.t("approvals.reject"), pack(FLOW, "no", sid)),
                ]
            ]
        )
    if specialist.status == SpecialistStatus.APPROVED:
        return inline([[(reader.t("approvals.suspend"), pack(FLOW, "sus", sid))]])
    if specialist.status == SpecialistStatus.SUSPENDED:
        return inline([[(reader.t("approvals.reinstate"), pack(FLOW, "rei", sid))]])
    return None


def reason_buttons(reader: Reader, specialist_id: int) -> InlineKeyboardMarkup:
    reasons = [
        (reader.t(REASONS[code]), pack(FLOW, "why", f"{specialist_id}.{code}"))
        for code in REJECT_REASONS
    ]
    return column([*reasons, (reader.t("form.back"), pack(FLOW, "back", specialist_id))])


async def coordinator_readers(svc: Services) -> list[tuple[int, LocaleReader]]:
    """Every coordinator's chat with the language they chose (the default if they never did)."""
    readers = []
    for chat_id in await coordinator_chat_ids(db=svc.db, configured=svc.coordinator_ids):
        user = await get_user(db=svc.db, telegram_id=chat_id)
        locale = svc.catalogs.locale_for(user.locale if user else None, None)
        readers.append((chat_id, LocaleReader(svc.catalogs, locale)))
    return readers


async def _send(
    bot: Bot, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Send, and carry on if this one chat cannot be reached (blocked, deleted)."""
    try:
        await bot.send_message(chat_id, text, reply_markup=markup)
    except TelegramError:
        log.warning("could not reach chat %s", chat_id)


async def tell_coordinators(bot: Bot, svc: Services, msgid: str, **params: object) -> None:
    for chat_id, reader in await coordinator_readers(svc):
        await _send(bot, chat_id, reader.t(msgid, **params))


async def request_approval(bot: Bot, svc: Services, specialist: Specialist) -> None:
    """Every coordinator gets the new (or resubmitted) profile with Approve / Reject."""
    for chat_id, reader in await coordinator_readers(svc):
        text = Markup(reader.t("approvals.new") + "\n\n" + card(reader, specialist, svc.today()))
        await _send(bot, chat_id, text, card_buttons(reader, specialist))


async def _tell_specialist(
    bot: Bot, svc: Services, user: User, decision: Decision, reason: str | None
) -> None:
    reader = LocaleReader(svc.catalogs, svc.catalogs.locale_for(user.locale, None))
    text = reader.t(TOLD[decision], reason=label(reader, REASONS, reason or ""))
    await _send(bot, user.chat_id, text)


async def _refresh_card(
    bot: Bot, actor: Actor, chat_id: int, message_id: int, specialist: Specialist
) -> None:
    """Show the card as the specialist now stands, with the buttons that now apply."""
    try:
        await bot.edit_message_text(
            card(actor, specialist, actor.services.today()),
            chat_id=chat_id,
            message_id=message_id,
            reply_markup=card_buttons(actor, specialist),
        )
    except BadRequest:
        log.debug("card already showed this state")


async def _decide(
    bot: Bot, actor: Actor, specialist_id: int, decision: Decision, reason: str | None = None
) -> tuple[Specialist | None, str]:
    """Apply a decision; returns the specialist as now stored and what to tell the coordinator."""
    svc = actor.services
    decided = await decide_specialist(
        db=svc.db,
        specialist_id=specialist_id,
        coordinator_user_id=actor.user_id,
        decision=decision,
        reason=reason,
        now=svc.clock.now(),
    )
    if decided is not None:
        specialist, user = decided
        await _tell_specialist(bot, svc, user, decision, reason)
        return specialist, actor.t(DONE[decision])
    current = await specialist_and_user(db=svc.db, specialist_id=specialist_id)
    if current is None:
        return None, actor.t("button.unknown")
    return current[0], _already(actor, current[0])


def _already(actor: Actor, specialist: Specialist) -> str:
    return actor.t("approvals.already", status=label(actor, STATUSES, specialist.status))


async def _end_reason_dialogue(actor: Actor) -> None:
    """Stop waiting for a typed reason (and leave any other dialogue alone)."""
    dialogue = await load_dialogue(db=actor.services.db, user_id=actor.user_id)
    if dialogue is not None and dialogue.flow == FLOW:
        await end_dialogue(db=actor.services.db, user_id=actor.user_id)


@coordinators_only
async def on_card_button(update: Update, context: CallbackContext, actor: Actor) -> None:
    """Approve, Reject (asks why), Back (from the reasons), Suspend, Reinstate."""
    query = update.callback_query
    assert query is not None and query.data is not None
    match = CARD_BUTTON.match(query.data)
    message = query.message
    assert match is not None and isinstance(message, Message)
    if match["arg"] is None:
        await query.answer(actor.t("button.unknown"))
        return
    action, specialist_id = match["action"], int(match["arg"])
    if action in DECISIONS:
        specialist, said = await _decide(context.bot, actor, specialist_id, DECISIONS[action])
        await query.answer(said)
        if specialist is not None:
            await _refresh_card(context.bot, actor, message.chat_id, message.message_id, specialist)
        return
    current = await specialist_and_user(db=actor.services.db, specialist_id=specialist_id)
    if current is None:
        await query.answer(actor.t("button.unknown"))
        return
    specialist = current[0]
    if action == "no" and specialist.status == SpecialistStatus.PENDING:
        await save_dialogue(
            db=actor.services.db,
            user_id=actor.user_id,
            flow=FLOW,
            step=REASON_STEP,
            data={"specialist_id": specialist_id, "card": message.message_id},
            now=actor.services.clock.now(),
        )
        await query.answer()
        await redraw(
            message,
            Markup(
                card(actor, specialist, actor.services.today())
                + "\n\n"
                + actor.t("approvals.choose_reason")
            ),
            reason_buttons(actor, specialist_id),
        )
        return
    if action == "no":
        await query.answer(_already(actor, specialist))
    else:  # back from the reasons to the card
        await _end_reason_dialogue(actor)
        await query.answer()
    await _refresh_card(context.bot, actor, message.chat_id, message.message_id, specialist)


@coordinators_only
async def on_reason_button(update: Update, context: CallbackContext, actor: Actor) -> None:
    """A common rejection reason, one tap."""
    query = update.callback_query
    assert query is not None and query.data is not None
    match = REASON_BUTTON.match(query.data)
    message = query.message
    assert match is not None and isinstance(message, Message)
    if match["arg"] is None:
        await query.answer(actor.t("button.unknown"))
        return
    number, reason = match["arg"].split(".")
    await _end_reason_dialogue(actor)
    specialist, said = await _decide(context.bot, actor, int(number), "reject", reason)
    await query.answer(said)
    if specialist is not None:
        await _refresh_card(context.bot, actor, message.chat_id, message.message_id, specialist)


async def on_input(
    update: Update, context: CallbackContext, actor: Actor, dialogue: Dialogue
) -> None:
    """A rejection reason typed by the coordinator instead of picked."""
    message = update.effective_message
    assert message is not None
    if not actor.is_coordinator:
        await end_dialogue(db=actor.services.db, user_id=actor.user_id)
        await message.reply_text(actor.t("access.coordinators_only"))
        return
    try:
        if message.text is None:
            raise Invalid("invalid.not_text")
        reason = text_between(message.text, low=REASON_MIN, high=REASON_MAX)
    except Invalid as invalid:
        await message.reply_text(
            Markup(
                actor.t(invalid.msgid, **invalid.params) + "\n" + actor.t("approvals.type_reason")
            )
        )
        return
    await end_dialogue(db=actor.services.db, user_id=actor.user_id)
    specialist, said = await _decide(
        context.bot, actor, dialogue.data["specialist_id"], "reject", reason
    )
    await message.reply_text(said)
    if specialist is not None:
        await _refresh_card(context.bot, actor, message.chat_id, dialogue.data["card"], specialist)


async def _send_cards(
    message: Message, actor: Actor, heading: str, specialists: list[Specialist]
) -> None:
    await message.reply_text(heading)
    for specialist in specialists:
        await message.reply_text(
            card(actor, specialist, actor.services.today()),
            reply_markup=card_buttons(actor, specialist),
        )


@coordinators_only
async def pending_command(update: Update, context: CallbackContext, actor: Actor) -> None:
    """/pending: registrations waiting for a decision, then approved specialists who went silent."""
    message = update.effective_message
    assert message is not None
    db = actor.services.db
    waiting, waiting_total = await pending_specialists(db=db, limit=SHOWN)
    silent, silent_total = await not_responding_specialists(db=db, limit=SHOWN)
    if not waiting_total and not silent_total:
        await message.reply_text(actor.t("approvals.nothing_pending"))
        return
    if waiting_total:
        heading = actor.t("approvals.pending_heading", total=waiting_total, shown=len(waiting))
        await _send_cards(message, actor, heading, waiting)
    if silent_total:
        heading = actor.t("approvals.silent_heading", total=silent_total, shown=len(silent))
        await _send_cards(message, actor, heading, silent)


def register(application: Application, group: int) -> None:
    application.add_handler(CommandHandler("pending", pending_command), group)
    application.add_handler(CallbackQueryHandler(on_card_button, pattern=CARD_BUTTON), group)
    application.add_handler(CallbackQueryHandler(on_reason_button, pattern=REASON_BUTTON), group)

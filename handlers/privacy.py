"""Privacy: the notice at any time, consent withdrawn, a copy of one's data, deletion, and
the separate consent to share contact details with a matched party.

    /privacy ─> the notice and where the user stands
        ├─[Withdraw consent]─> are you sure? ─yes─> withdrawn, open proposals end;
        │                                    └no──> nothing changes      /start agrees again
        └─[Allow / Stop sharing my contact details]
    /mydata ─> a JSON file with every row kept about the user
    /delete_me ─> are you sure? ─yes─> personal data erased; the other side of an active
                                       engagement is told
    the enterprise chooses a specialist (handlers.candidates) ─> exchange_after_choice:
        both agreed to share contacts ─> the contacts go to both, once
        otherwise ─> each side hears it is matched; who has not agreed is asked
            ─[Share]─> recorded; engagements where the other side agreed too get the contacts;
                       where not, the other side is asked once more
            ─[Not now]─> the engagement goes on; its card offers [Share] instead of a phone
    daily (bot.jobs) ─> run_retention: the same erasure for users silent RETENTION_DAYS

A confirmation is a step in the dialogues table, so a forged or replayed "yes"
with no question asked changes nothing. Buttons carry no ids: each acts on the
pressing user only. The dialogue the user was in is kept aside while they are
asked, and comes back when they say no.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackContext, CallbackQueryHandler, CommandHandler

from handlers.actor import Actor, get_actor
from handlers.callbacks import pack, pattern
from handlers.engagement_views import counterpart, reader_for
from handlers.engagements import engagement_view, show
from handlers.form import Answer
from handlers.i18n import Markup
from handlers.keyboards import Button, inline, redraw
from handlers.menus import set_chat_menu
from handlers.notify import notify
from handlers.services import Services, services
from handlers.specialist_views import LocaleReader, Reader
from storage.dialogues import end_dialogue, load_dialogue, save_dialogue
from storage.engagements import (
    EngagementCard,
    Side,
    claim_contact_exchanges,
    claim_contact_reminder,
    engagement_for,
    other_side,
)
from storage.models import Dialogue
from storage.privacy import (
    Departure,
    Withdrawal,
    erase_personal_data,
    export_personal_data,
    inactive_users,
    record_contact_consent,
    withdraw_consent,
    withdraw_contact_consent,
)

log = logging.getLogger(__name__)

FLOW = "prv"  # callback prefix, and the dialogue of a pending confirmation
WITHDRAW, ERASE = "withdraw", "erase"
# Share may name the engagement whose card carried the button (the card is drawn again).
BUTTON = pattern(FLOW, "withdraw|yes|no|share|later|unshare", r"\d{1,9}")
RETENTION = "retention"  # the job's name in the JobQueue
RETENTION_DAYS_KEY = "retention_days"  # bot_data: RETENTION_DAYS (bot.jobs puts it there)
RETENTION_BATCH = 200
SIDES: tuple[Side, Side] = ("enterprise", "specialist")
_RESUME = "resume"  # dialogue data: the dialogue the user was in before being asked


def notice(actor: Actor, retention_days: int) -> tuple[Markup, InlineKeyboardMarkup | None]:
    """The privacy notice, where this user stands, and what they can change."""
    user, tz = actor.user, actor.services.timezone
    lines = [actor.t("privacy.notice", days=retention_days)]
    buttons: list[Button] = []
    if user.consent_at is None:
        lines.append(actor.t("privacy.consent_none"))
    else:
        lines.append(actor.t("privacy.consent_given", date=f"{user.consent_at.astimezone(tz):%F}"))
        if user.contact_consent_at is None:
            lines.append(actor.t("privacy.contacts_not_shared"))
            buttons.append((actor.t("privacy.share_button"), pack(FLOW, "share")))
        else:
            when = f"{user.contact_consent_at.astimezone(tz):%F}"
            lines.append(actor.t("privacy.contacts_shared", date=when))
            buttons.append((actor.t("privacy.unshare_button"), pack(FLOW, "unshare")))
        buttons.append((actor.t("privacy.withdraw_button"), pack(FLOW, "withdraw")))
    return Markup("\n\n".join(lines)), inline([b] for b in buttons) if buttons else None


async def privacy_command(update: Update, context: CallbackContext) -> None:
    """/privacy: the notice at any time, with the user's consents and how to change them."""
    actor = await get_actor(update, context)
    assert update.effective_message is not None
    text, keyboard = notice(actor, context.application.bot_data[RETENTION_DAYS_KEY])
    await update.effective_message.reply_text(text, reply_markup=keyboard)


async def mydata_command(update: Update, context: CallbackContext) -> None:
    """/mydata: everything kept about the user, as one UTF-8 JSON file."""
    actor = await get_actor(update, context)
    chat = update.effective_chat
    assert chat is not None
    svc = actor.services
    document = await export_personal_data(db=svc.db, user_id=actor.user_id, now=svc.clock.now())
    rows = sum(len(table) for table in document["tables"].values())
    data = json.dumps(document, ensure_ascii=False, indent=2, default=str).encode()
    await chat.send_document(
        data,
        filename=f"techmatch-my-data-{svc.today():%Y%m%d}.json",
        caption=actor.t("privacy.export_caption", rows=rows),
    )


def confirmation(actor: Actor, step: str) -> tuple[Markup, InlineKeyboardMarkup]:
    question, yes = {
        WITHDRAW: ("privacy.withdraw_confirm", "privacy.withdraw_yes"),
        ERASE: ("privacy.erase_confirm", "privacy.erase_yes"),
    }[step]
    buttons = [[(actor.t(yes), pack(FLOW, "yes"))], [(actor.t("privacy.keep"), pack(FLOW, "no"))]]
    return actor.t(question), inline(buttons)


async def _ask(actor: Actor, step: str) -> None:
    """Remember that a confirmation waits, keeping aside the dialogue the user was in."""
    svc = actor.services
    current = await load_dialogue(db=svc.db, user_id=actor.user_id)
    resume: Any = None
    if current is not None and current.flow == FLOW:
        resume = current.data.get(_RESUME)
    elif current is not None:
        resume = {"flow": current.flow, "step": current.step, "data": current.data}
    await save_dialogue(
        db=svc.db,
        user_id=actor.user_id,
        flow=FLOW,
        step=step,
        data={_RESUME: resume},
        now=svc.clock.now(),
    )


async def _resume(actor: Actor, dialogue: Dialogue) -> None:
    """Give back the dialogue the user was in before the question, or none."""
    svc = actor.services
    previous = dialogue.data.get(_RESUME)
    if not isinstance(previous, dict):
        await end_dialogue(db=svc.db, user_id=actor.user_id)
        return
    await save_dialogue(
        db=svc.db,
        user_id=actor.user_id,
        flow=previous["flow"],
        step=previous["step"],
        data=previous["data"],
        now=svc.clock.now(),
    )


async def delete_me_command(update: Update, context: CallbackContext) -> None:
    """/delete_me: ask first; nothing happens without the yes."""
    actor = await get_actor(update, context)
    assert update.effective_message is not None
    await _ask(actor, ERASE)
    text, keyboard = confirmation(actor, ERASE)
    await update.effective_message.reply_text(text, reply_markup=keyboard)


async def on_button(update: Update, context: CallbackContext) -> None:
    """Withdraw (asks first), yes / no to a waiting question, and the contact consents."""
    query = update.callback_query
    assert query is not None and query.data is not None and isinstance(query.message, Message)
    match = BUTTON.match(query.data)
    assert match is not None
    message, action = query.message, match["action"]
    actor = await get_actor(update, context)
    svc = actor.services
    if action in ("share", "later", "unshare"):
        card = int(match["arg"]) if match["arg"] and action == "share" else None
        await _contact_choice(actor, query.answer, message, action, card)
        return
    if action == WITHDRAW:
        if actor.user.consent_at is None:
            await query.answer(actor.t("privacy.withdrawn_already"))
            return
        await _ask(actor, WITHDRAW)
        await query.answer()
        await redraw(message, *confirmation(actor, WITHDRAW))
        return
    dialogue = await load_dialogue(db=svc.db, user_id=actor.user_id)
    if dialogue is None or dialogue.flow != FLOW:
        await query.answer(actor.t("button.stale"))
        return
    if action == "no":
        await _resume(actor, dialogue)
        await query.answer()
        await redraw(message, actor.t("privacy.kept"))
        return
    if dialogue.step == WITHDRAW:
        await _withdraw(actor, query.answer, message)
    else:
        await _erase(actor, query.answer, message)


async def _withdraw(actor: Actor, answer: Answer, message: Message) -> None:
    svc = actor.services
    await end_dialogue(db=svc.db, user_id=actor.user_id)
    ended = await withdraw_consent(db=svc.db, user_id=actor.user_id, now=svc.clock.now())
    if ended is None:
        await answer(actor.t("privacy.withdrawn_already"))
        return
    await answer()
    said = actor.t("privacy.withdrawn", proposals=ended.withdrawal.withdrawn)
    if ended.told:
        said += Markup("\n\n") + actor.t(
            "privacy.withdrawn_engagements", engagements=len(ended.told)
        )
    await redraw(message, said)
    await tell_counterparts(message.get_bot(), svc, ended, erased=False)


async def tell_withdrawn(bot: Bot, svc: Services, withdrawal: Withdrawal) -> None:
    """The other side of each proposal that ended with the user's consent or data hears it
    (without the user's name: after an erasure it is no longer ours to pass on)."""
    for ctx in withdrawal.specialists:
        reader = reader_for(svc, ctx.specialist_user)
        text = reader.t("proposal.enterprise_left", ref=ctx.proposal.id, title=ctx.demand.title)
        await _tell(bot, ctx.specialist_user.chat_id, text)
    for ctx in withdrawal.enterprises:
        reader = reader_for(svc, ctx.owner)
        text = reader.t("candidate.withdrew", ref=ctx.proposal.id, title=ctx.demand.title)
        await _tell(bot, ctx.owner.chat_id, text)


async def _tell(bot: Bot, chat_id: int, text: Markup) -> None:
    """One notice that someone left: sent once and never retried, so no failure (a blocked
    chat, the network) may stop the others, or a retention run."""
    try:
        await bot.send_message(chat_id, text)
    except TelegramError:
        log.warning("could not tell the other side that a pairing ended")


async def _erase(actor: Actor, answer: Answer, message: Message) -> None:
    svc = actor.services
    erasure = await erase_personal_data(db=svc.db, user_id=actor.user_id, now=svc.clock.now())
    if erasure is None:
        await answer(actor.t("privacy.erased_already"))
        return
    await answer()
    await redraw(message, actor.t("privacy.erased"))
    # The chat's menu goes back to what a newcomer sees.
    await set_chat_menu(
        message.get_bot(),
        svc.catalogs,
        chat_id=message.chat_id,
        locale=actor.locale,
        role=None,
        is_coordinator=actor.is_coordinator,
    )
    await tell_counterparts(message.get_bot(), svc, erasure)


# What the other side of an engagement hears: (erased, demand reopened) -> message id.
PARTNER_LEFT = {
    (True, False): "privacy.partner_left",
    (True, True): "privacy.partner_left_reopened",
    (False, False): "privacy.partner_withdrew",
    (False, True): "privacy.partner_withdrew_reopened",
}


async def tell_counterparts(
    bot: Bot, svc: Services, departure: Departure, *, erased: bool = True
) -> None:
    """The other side of each proposal and engagement that ended because the user left (data
    erased, or consent withdrawn) hears it."""
    await tell_withdrawn(bot, svc, departure.withdrawal)
    for other in departure.told:
        reader = LocaleReader(svc.catalogs, svc.catalogs.locale_for(other.locale, None))
        msgid = PARTNER_LEFT[erased, other.demand_reopened]
        await _tell(bot, other.chat_id, reader.t(msgid, title=other.demand_title))


async def on_input(
    update: Update, context: CallbackContext, actor: Actor, dialogue: Dialogue
) -> None:
    """Typed text while a confirmation waits: point at the buttons and ask again."""
    message = update.effective_message
    assert message is not None
    await message.reply_text(actor.t("privacy.use_buttons"))
    text, keyboard = confirmation(actor, dialogue.step)
    await message.reply_text(text, reply_markup=keyboard)


# --- consent to share contact details ------------------------------------------------------


def contact_consent_request(reader: Reader) -> tuple[Markup, InlineKeyboardMarkup]:
    buttons = [
        [(reader.t("privacy.contact_share"), pack(FLOW, "share"))],
        [(reader.t("privacy.contact_later"), pack(FLOW, "later"))],
    ]
    return reader.t("privacy.contact_ask"), inline(buttons)


async def send_contact_consent_request(
    bot: Bot, chat_id: int, reader: Reader, lead: Markup | None = None
) -> bool:
    """The question to someone the bot writes to outside their own update, after `lead`."""
    text, keyboard = contact_consent_request(reader)
    if lead is not None:
        text = lead + Markup("\n\n") + text
    return await notify(bot, chat_id, text, keyboard)


async def _contact_choice(
    actor: Actor, answer: Answer, message: Message, action: str, card: int | None = None
) -> None:
    svc = actor.services
    now = svc.clock.now()
    if action == "share":
        if actor.user.consent_at is None:
            await answer(actor.t("privacy.consent_needed_short"), show_alert=True)
            return
        await record_contact_consent(db=svc.db, user_id=actor.user_id, now=now)
        if card is None:
            await answer()
            await redraw(message, actor.t("privacy.contact_shared"))
        await _share_contacts(message.get_bot(), actor)
        if card is not None:  # pressed on an engagement card: the card stays, brought up to date
            await answer(actor.t("privacy.contact_shared"))
            found = await engagement_for(db=svc.db, engagement_id=card, user_id=actor.user_id)
            if found is not None:
                await show(message, *await engagement_view(actor, *found))
        return
    if action == "unshare":
        await withdraw_contact_consent(db=svc.db, user_id=actor.user_id, now=now)
        said = actor.t("privacy.contact_stopped")
    else:
        said = actor.t("privacy.contact_not_shared")
    await answer()
    await redraw(message, said)


async def exchange_after_choice(
    bot: Bot, svc: Services, *, engagement_id: int, chooser_user_id: int
) -> None:
    """Right after the enterprise chose: the contacts go out now if both sides agreed to share
    them before; otherwise each side hears it is matched, and whoever has not agreed is asked."""
    exchange = await claim_contact_exchanges(
        db=svc.db, user_id=chooser_user_id, now=svc.clock.now(), engagement_id=engagement_id
    )
    for card in exchange.shared:
        await _send_contacts(bot, svc, card)
    for card in exchange.waiting:
        for side in SIDES:
            user = card.user_of(side)
            reader = reader_for(svc, user)
            other = counterpart(reader, card, side)
            matched = reader.t("match.waiting_for_consent", title=card.demand.title, other=other)
            if user.contact_consent_at is None:
                await notify(bot, user.chat_id, matched)
                await send_contact_consent_request(bot, user.chat_id, reader)
            else:
                waiting = reader.t(
                    "privacy.contact_waiting_other", title=card.demand.title, other=other
                )
                await notify(bot, user.chat_id, matched + Markup("\n\n") + waiting)


async def _share_contacts(bot: Bot, actor: Actor) -> None:
    """The user agreed: every active engagement of theirs where the other side agreed too gets
    the contacts; on the others the user hears what they wait for."""
    svc = actor.services
    now = svc.clock.now()
    exchange = await claim_contact_exchanges(db=svc.db, user_id=actor.user_id, now=now)
    for card in exchange.shared:
        await _send_contacts(bot, svc, card)
    for card in exchange.waiting:
        side = card.side_of(actor.user_id)
        assert side is not None
        title, other = card.demand.title, other_side(side)
        await notify(
            bot,
            actor.user.chat_id,
            actor.t(
                "privacy.contact_waiting_other", title=title, other=counterpart(actor, card, side)
            ),
        )
        # The other side was asked when the enterprise chose (unless they had agreed then and
        # stopped since); asked once more now that this side agreed, and never again: a second
        # press, or stopping and sharing again, must not keep pestering them.
        if await claim_contact_reminder(db=svc.db, engagement_id=card.id, now=now):
            user = card.user_of(other)
            reader = reader_for(svc, user)
            lead = reader.t(
                "privacy.contact_other_agreed", title=title, other=counterpart(reader, card, other)
            )
            await send_contact_consent_request(bot, user.chat_id, reader, lead)


async def _send_contacts(bot: Bot, svc: Services, card: EngagementCard) -> None:
    """Each side gets the other's contact details and what to do next."""
    specialist, enterprise = card.specialist, card.enterprise
    owner = reader_for(svc, card.owner)
    await notify(
        bot,
        card.owner.chat_id,
        owner.t(
            "match.enterprise_contacts",
            name=specialist.name,
            institution=specialist.institution,
            phone=specialist.phone,
        ),
    )
    expert = reader_for(svc, card.specialist_user)
    await notify(
        bot,
        card.specialist_user.chat_id,
        expert.t(
            "match.specialist_contacts",
            enterprise=enterprise.name,
            title=card.demand.title,
            contact=enterprise.contact_name,
            phone=enterprise.phone,
        ),
    )


# --- retention --------------------------------------------------------------------------


async def run_retention(context: CallbackContext) -> None:
    """The daily job: erase the personal data of users silent for RETENTION_DAYS.

    The same erasure as /delete_me; a user erased is never found again, so a run that
    happens twice, or in two processes, erases nobody twice."""
    svc = services(context)
    now = svc.clock.now()
    cut = now - dt.timedelta(days=context.application.bot_data[RETENTION_DAYS_KEY])
    erased = 0
    while batch := await inactive_users(db=svc.db, seen_before=cut, limit=RETENTION_BATCH):
        for user_id in batch:
            erasure = await erase_personal_data(db=svc.db, user_id=user_id, now=now, by_user=False)
            if erasure is not None:
                erased += 1
                await tell_counterparts(context.bot, svc, erasure)
    log.info("retention: erased %d users not seen since %s", erased, f"{cut:%F}")


def register(application: Application, group: int) -> None:
    application.add_handler(CommandHandler("privacy", privacy_command), group)
    application.add_handler(CommandHandler("mydata", mydata_command), group)
    application.add_handler(CommandHandler("delete_me", delete_me_command), group)
    application.add_handler(CallbackQueryHandler(on_button, pattern=BUTTON), group)

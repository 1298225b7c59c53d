"""/my_matches: a specialist's open proposals, each one tap from its card, then their
engagements (handlers.engagements draws those)."""

from __future__ import annotations

import re

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackContext, CallbackQueryHandler, CommandHandler

from handlers.actor import Actor, get_actor
from handlers.callbacks import pack
from handlers.engagements import engagements_view
from handlers.i18n import Markup
from handlers.keyboards import column
from handlers.proposal_views import proposal_card
from handlers.proposals import card_keyboard
from storage.models import ProposalStatus
from storage.proposals import ProposalContext, specialist_proposals
from storage.specialists import get_specialist

OPEN_CARD = re.compile(r"^mm:open:(?P<id>\d{1,9})$")
SHOWN = 10


async def my_matches(update: Update, context: CallbackContext) -> None:
    """The open proposals, newest first, with a button to open each; then the engagements."""
    actor = await get_actor(update, context)
    message = update.effective_message
    assert message is not None
    specialist = await get_specialist(db=actor.services.db, user_id=actor.user_id)
    if specialist is None:
        await message.reply_text(actor.t("matches.specialists_only"))
        return
    found = await specialist_proposals(db=actor.services.db, specialist_id=specialist.id or 0)
    text, keyboard = proposals_view(actor, found)
    await message.reply_text(text, reply_markup=keyboard)
    text, keyboard = await engagements_view(actor, side="specialist")
    if keyboard is not None:  # only when there are engagements to open
        await message.reply_text(text, reply_markup=keyboard)


def proposals_view(
    actor: Actor, found: list[ProposalContext]
) -> tuple[Markup, InlineKeyboardMarkup | None]:
    if not found:
        return actor.t("matches.heading") + Markup("\n") + actor.t("matches.none"), None
    lines = [actor.t("matches.heading")]
    buttons = []
    for ctx in found[:SHOWN]:
        state = "proposed" if ctx.proposal.status == ProposalStatus.PROPOSED else "accepted"
        lines.append(actor.t(f"matches.line_{state}", ref=ctx.proposal.id, title=ctx.demand.title))
        if state == "proposed":
            label = actor.t("matches.open", ref=ctx.proposal.id)
            buttons.append((label, pack("mm", "open", ctx.proposal.id or 0)))
    return Markup("\n".join(lines)), column(buttons) if buttons else None


async def on_open(update: Update, context: CallbackContext) -> None:
    """Show one open proposal again with its current buttons (the specialist's own only)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    match = OPEN_CARD.match(query.data)
    assert match is not None
    actor = await get_actor(update, context)
    specialist = await get_specialist(db=actor.services.db, user_id=actor.user_id)
    found = (
        await specialist_proposals(db=actor.services.db, specialist_id=specialist.id or 0)
        if specialist
        else []
    )
    ctx = next((c for c in found if c.proposal.id == int(match["id"])), None)
    if ctx is None or ctx.proposal.status != ProposalStatus.PROPOSED:
        await query.answer(actor.t("proposal.no_longer_open"), show_alert=True)
        return
    await query.answer()
    await context.bot.send_message(
        actor.user.chat_id, proposal_card(actor, ctx), reply_markup=card_keyboard(actor, ctx)
    )


def register(application: Application, group: int) -> None:
    application.add_handler(CommandHandler("my_matches", my_matches), group)
    application.add_handler(CallbackQueryHandler(on_open, pattern=OPEN_CARD), group)

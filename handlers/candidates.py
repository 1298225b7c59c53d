"""The enterprise's side: specialists who accepted, Choose or Not suitable.

Choosing is mutual selection's last step: the engagement starts, the demand's
other candidates are thanked and released, and the demand is marked matched
(all in one storage transaction; see storage.proposals.select_candidate).
Contact details go out only once both sides agreed to share theirs, a consent
asked at that moment (handlers.privacy.exchange_after_choice). Buttons carry
the proposal id and version (`ca:pick:12:2`); only the demand's owner can press
them to any effect.
"""

from __future__ import annotations

import re

from telegram import Bot, InlineKeyboardMarkup, Message, Update
from telegram.ext import Application, CallbackContext, CallbackQueryHandler

from handlers.actor import get_actor
from handlers.callbacks import pack
from handlers.i18n import Markup
from handlers.keyboards import inline, redraw, remove_keyboard
from handlers.notify import notify
from handlers.privacy import exchange_after_choice
from handlers.proposal_views import candidate_card, reader_for
from handlers.services import Services
from handlers.specialist_views import Reader
from storage.enterprises import get_enterprise
from storage.models import ProposalStatus
from storage.proposals import (
    Outcome,
    ProposalContext,
    demand_candidates,
    proposal_context,
    reject_candidate,
    select_candidate,
)

PATTERN = re.compile(r"^ca:(?P<action>pick|no):(?P<id>\d{1,9}):(?P<ver>\d{1,6})$")
LIST = re.compile(r"^ca:list:(?P<demand>\d{1,9})$")


def keyboard(reader: Reader, ctx: ProposalContext) -> InlineKeyboardMarkup:
    p = ctx.proposal
    return inline(
        [
            [
                (reader.t("candidate.choose"), pack("ca", "pick", p.id or 0, p.version)),
                (reader.t("candidate.not_suitable"), pack("ca", "no", p.id or 0, p.version)),
            ]
        ]
    )


async def send_candidate(
    bot: Bot, svc: Services, proposal_id: int, *, reminder: bool = False
) -> bool:
    """Tell the enterprise a specialist accepted, with Choose / Not suitable."""
    ctx = await proposal_context(db=svc.db, proposal_id=proposal_id)
    if ctx is None or ctx.proposal.status != ProposalStatus.ACCEPTED:
        return False
    reader = reader_for(svc, ctx.owner)
    text = candidate_card(reader, ctx)
    if reminder:
        text = reader.t("candidate.reminder") + Markup("\n\n") + text
    return await notify(bot, ctx.owner.chat_id, text, keyboard(reader, ctx))


async def on_button(update: Update, context: CallbackContext) -> None:
    """Choose or Not suitable, from the demand's owner only, on the current version only."""
    query = update.callback_query
    assert query is not None and query.data is not None
    match = PATTERN.match(query.data)
    assert match is not None
    actor = await get_actor(update, context)
    svc = actor.services
    enterprise = await get_enterprise(db=svc.db, owner_user_id=actor.user_id)
    proposal_id, version = int(match["id"]), int(match["ver"])
    ctx = await proposal_context(db=svc.db, proposal_id=proposal_id)
    if ctx is None or enterprise is None or ctx.enterprise.id != enterprise.id:
        await query.answer(actor.t("proposal.not_yours"), show_alert=True)
        return
    message = query.message if isinstance(query.message, Message) else None
    now = svc.clock.now()
    if match["action"] == "no":
        outcome = await reject_candidate(
            db=svc.db,
            proposal_id=proposal_id,
            version=version,
            enterprise_id=enterprise.id or 0,
            now=now,
        )
        if outcome != Outcome.DONE:
            await query.answer(actor.t("proposal.no_longer_open"), show_alert=True)
            return
        await query.answer()
        if message:
            await redraw(
                message, candidate_card(actor, ctx) + Markup("\n\n") + actor.t("candidate.rejected")
            )
        await _tell(context.bot, svc, ctx, "proposal.not_selected")
        return
    selection = await select_candidate(
        db=svc.db,
        proposal_id=proposal_id,
        version=version,
        enterprise_id=enterprise.id or 0,
        now=now,
    )
    if selection.outcome != Outcome.DONE:
        await query.answer(actor.t("match.already_decided"), show_alert=True)
        return
    await query.answer()
    if message:
        await remove_keyboard(message)
    engagement = selection.engagement
    assert engagement is not None and engagement.id is not None
    await exchange_after_choice(
        context.bot, svc, engagement_id=engagement.id, chooser_user_id=actor.user_id
    )
    for released in selection.released:
        other = await proposal_context(db=svc.db, proposal_id=released.id or 0)
        if other is not None:
            await _tell(context.bot, svc, other, "proposal.withdrawn")


async def _tell(bot: Bot, svc: Services, ctx: ProposalContext, msgid: str) -> None:
    reader = reader_for(svc, ctx.specialist_user)
    await notify(
        bot,
        ctx.specialist_user.chat_id,
        reader.t(msgid, ref=ctx.proposal.id, title=ctx.demand.title),
    )


async def on_list(update: Update, context: CallbackContext) -> None:
    """The candidates of one of the user's demands, each with its buttons."""
    query = update.callback_query
    assert query is not None and query.data is not None
    match = LIST.match(query.data)
    assert match is not None
    actor = await get_actor(update, context)
    found = await demand_candidates(
        db=actor.services.db, demand_id=int(match["demand"]), owner_user_id=actor.user_id
    )
    await query.answer(None if found else actor.t("candidate.list_empty"))
    for ctx in found:
        await context.bot.send_message(
            actor.user.chat_id, candidate_card(actor, ctx), reply_markup=keyboard(actor, ctx)
        )


def register(application: Application, group: int) -> None:
    application.add_handler(CallbackQueryHandler(on_button, pattern=PATTERN), group)
    application.add_handler(CallbackQueryHandler(on_list, pattern=LIST), group)

"""/match DEMAND SPECIALIST: a coordinator proposes a specialist for a demand themselves.

    /match 12 7 ─> demand open? specialist approved? pair never proposed? ─> proposal stored
        ─> claimed as sent ─> the proposal card to the specialist (handlers.proposals) ─> told

From there it is an ordinary proposal: the specialist accepts or declines, the enterprise
chooses, reminders and expiry apply. The ids come from the digest's "stuck" lists and
from /pending; nothing is imposed on either side.
"""

from __future__ import annotations

import re

from telegram import Update
from telegram.error import NetworkError, RetryAfter
from telegram.ext import Application, CallbackContext, CommandHandler

from handlers.access import coordinators_only
from handlers.actor import Actor
from handlers.proposals import send_proposal
from storage.coordinators import claim_notification, pair_for_match, record_action
from storage.models import DemandStatus, SpecialistStatus
from storage.proposals import NewProposal, create_proposals, release_unsent

ID = re.compile(r"^#?(\d{1,9})$")


def _shared_fields(demand_fields: list[str], disciplines: list[str]) -> list[str]:
    """Fields both sides name (by first-level discipline), the reason shown on the card."""
    offered = {code[:3] for code in disciplines}
    return [code for code in demand_fields if code[:3] in offered]


@coordinators_only
async def match_command(update: Update, context: CallbackContext, actor: Actor) -> None:
    """/match DEMAND SPECIALIST: propose, send, and say how it went."""
    message = update.effective_message
    assert message is not None
    found = [ID.match(arg) for arg in context.args or []]
    if len(found) != 2 or not all(found):
        await message.reply_text(actor.t("match.usage"))
        return
    demand_id, specialist_id = (int(m[1]) for m in found if m)
    svc = actor.services
    check = await pair_for_match(db=svc.db, demand_id=demand_id, specialist_id=specialist_id)
    if check.demand is None:
        await message.reply_text(actor.t("match.no_demand", id=demand_id))
        return
    if check.demand.status != DemandStatus.OPEN:
        await message.reply_text(actor.t("match.demand_not_open", id=demand_id))
        return
    if check.specialist is None:
        await message.reply_text(actor.t("match.no_specialist", id=specialist_id))
        return
    if check.specialist.status != SpecialistStatus.APPROVED:
        await message.reply_text(actor.t("match.specialist_not_approved", id=specialist_id))
        return
    if check.existing is not None:
        await message.reply_text(
            actor.t("match.already", demand=demand_id, specialist=specialist_id)
        )
        return
    shared = _shared_fields(check.demand.fields, check.specialist.disciplines)
    created = await create_proposals(
        db=svc.db,
        proposals=[
            NewProposal(
                demand_id=demand_id,
                specialist_id=specialist_id,
                score=0.0,
                reasons=[{"kind": "field", "values": shared}] if shared else [],
            )
        ],
        now=svc.clock.now(),
    )
    if not created:  # proposed meanwhile by a round or another coordinator
        await message.reply_text(
            actor.t("match.already", demand=demand_id, specialist=specialist_id)
        )
        return
    proposal_id = created[0].id
    assert proposal_id is not None
    await record_action(
        db=svc.db,
        actor_user_id=actor.user_id,
        action="coordinator.match",
        now=svc.clock.now(),
        target_type="proposal",
        target_id=proposal_id,
        detail={"demand_id": demand_id, "specialist_id": specialist_id},
    )
    sent = False
    if await claim_notification(db=svc.db, proposal_id=proposal_id, now=svc.clock.now()):
        try:
            sent = await send_proposal(context.bot, svc, proposal_id)
        except (RetryAfter, NetworkError):  # as for a round's: the next deadline tick sends it
            await release_unsent(db=svc.db, proposal_id=proposal_id)
    said = {
        "proposal": proposal_id,
        "demand": demand_id,
        "specialist": specialist_id,
        "name": check.specialist.name,
    }
    await message.reply_text(
        actor.t("match.sent", **said) if sent else actor.t("match.not_reached", **said)
    )


def register(application: Application, group: int) -> None:
    application.add_handler(CommandHandler("match", match_command), group)

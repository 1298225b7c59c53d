"""/match DEMAND SPECIALIST: a coordinator proposes a specialist for a demand themselves;
/match_now: a match round at once.

    /match 12 7 ─> demand open? specialist approved? pair never proposed? ─> proposal stored
        ─> claimed as sent ─> the proposal card to the specialist (handlers.proposals) ─> told

From there it is an ordinary proposal: the specialist accepts or declines, the enterprise
chooses, reminders and expiry apply. The ids come from the digest's "stuck" lists and
from /pending; nothing is imposed on either side.
"""

from __future__ import annotations

import re

from handlers import rounds
from handlers.access import coordinators_only
from handlers.core.chat import Chat
from handlers.core.router import Router
from handlers.proposals import send_proposal
from storage.coordinators import claim_notification, pair_for_match, record_action
from storage.models import DemandStatus, SpecialistStatus
from storage.proposals import NewProposal, create_proposals

ID = re.compile(r"^#?(\d{1,9})$")


def _shared_fields(demand_fields: list[str], disciplines: list[str]) -> list[str]:
    """Fields both sides name (by first-level discipline), the reason shown on the card."""
    offered = {code[:3] for code in disciplines}
    return [code for code in demand_fields if code[:3] in offered]


@coordinators_only
async def match_command(chat: Chat) -> None:
    """/match DEMAND SPECIALIST: propose, send, and say how it went."""
    actor = chat.actor
    found = [ID.match(arg) for arg in chat.args]
    if len(found) != 2 or not all(found):
        await chat.reply(actor.t("match.usage"))
        return
    demand_id, specialist_id = (int(m[1]) for m in found if m)
    svc = actor.services
    check = await pair_for_match(db=svc.db, demand_id=demand_id, specialist_id=specialist_id)
    if check.demand is None:
        await chat.reply(actor.t("match.no_demand", id=demand_id))
        return
    if check.demand.status != DemandStatus.OPEN:
        await chat.reply(actor.t("match.demand_not_open", id=demand_id))
        return
    if check.specialist is None:
        await chat.reply(actor.t("match.no_specialist", id=specialist_id))
        return
    if check.specialist.status != SpecialistStatus.APPROVED:
        await chat.reply(actor.t("match.specialist_not_approved", id=specialist_id))
        return
    if check.existing is not None:
        await chat.reply(actor.t("match.already", demand=demand_id, specialist=specialist_id))
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
        await chat.reply(actor.t("match.already", demand=demand_id, specialist=specialist_id))
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
        sent = await send_proposal(svc, proposal_id)
    said = {
        "proposal": proposal_id,
        "demand": demand_id,
        "specialist": specialist_id,
        "name": check.specialist.name,
    }
    await chat.reply(
        actor.t("match.sent", **said) if sent else actor.t("match.not_reached", **said)
    )


@coordinators_only
async def match_now(chat: Chat) -> None:
    """/match_now: a round at once, with its figures."""
    report = await rounds.run_round(chat.services)
    await chat.reply(
        chat.actor.t(
            "rounds.done",
            count=report.proposed,
            demands=report.demands,
            specialists=report.specialists,
        )
    )


def register(router: Router) -> None:
    router.command("match", match_command)
    router.command("match_now", match_now)

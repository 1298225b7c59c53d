"""The enterprise's side: specialists who accepted, Choose or Not suitable.

Choosing is mutual selection's last step: the engagement starts, the demand's
other candidates are thanked and released, and the demand is marked matched
(all in one storage transaction; see storage.proposals.select_candidate).
Contact details go out only once both sides agreed to share theirs, a consent
asked at that moment (handlers.contact_exchange). Buttons carry
the proposal id and version (`ca:pick:12:2`); only the demand's owner can press
them to any effect.
"""

from __future__ import annotations

import re

from handlers.callbacks import pack
from handlers.contact_exchange import exchange_after_choice
from handlers.core.chat import Chat
from handlers.core.router import Router
from handlers.core.views import Keyboard, inline
from handlers.i18n import Markup
from handlers.notify import notify
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


def keyboard(reader: Reader, ctx: ProposalContext) -> Keyboard:
    p = ctx.proposal
    return inline(
        [
            [
                (reader.t("candidate.choose"), pack("ca", "pick", p.id or 0, p.version)),
                (reader.t("candidate.not_suitable"), pack("ca", "no", p.id or 0, p.version)),
            ]
        ]
    )


async def send_candidate(svc: Services, proposal_id: int, *, reminder: bool = False) -> bool:
    """Tell the enterprise a specialist accepted, with Choose / Not suitable."""
    ctx = await proposal_context(db=svc.db, proposal_id=proposal_id)
    if ctx is None or ctx.proposal.status != ProposalStatus.ACCEPTED:
        return False
    owner = ctx.owner
    assert owner.id is not None
    reader = reader_for(svc, owner)
    text = candidate_card(reader, ctx)
    if reminder:
        text = reader.t("candidate.reminder") + Markup("\n\n") + text
    return await notify(svc, owner.id, text, keyboard(reader, ctx))


async def on_button(chat: Chat) -> None:
    """Choose or Not suitable, from the demand's owner only, on the current version only."""
    match = chat.match
    assert match is not None
    actor = chat.actor
    svc = actor.services
    enterprise = await get_enterprise(db=svc.db, owner_user_id=actor.user_id)
    proposal_id, version = int(match["id"]), int(match["ver"])
    ctx = await proposal_context(db=svc.db, proposal_id=proposal_id)
    if ctx is None or enterprise is None or ctx.enterprise.id != enterprise.id:
        await chat.notice(actor.t("proposal.not_yours"), alert=True)
        return
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
            await chat.notice(actor.t("proposal.no_longer_open"), alert=True)
            return
        await chat.notice()
        await chat.replace(
            chat.message,
            candidate_card(actor, ctx) + Markup("\n\n") + actor.t("candidate.rejected"),
        )
        await _tell(svc, ctx, "proposal.not_selected")
        return
    selection = await select_candidate(
        db=svc.db,
        proposal_id=proposal_id,
        version=version,
        enterprise_id=enterprise.id or 0,
        now=now,
    )
    if selection.outcome != Outcome.DONE:
        await chat.notice(actor.t("match.already_decided"), alert=True)
        return
    await chat.notice()
    await chat.strip()
    engagement = selection.engagement
    assert engagement is not None and engagement.id is not None
    await exchange_after_choice(svc, engagement_id=engagement.id, chooser_user_id=actor.user_id)
    for released in selection.released:
        other = await proposal_context(db=svc.db, proposal_id=released.id or 0)
        if other is not None:
            await _tell(svc, other, "proposal.withdrawn")


async def _tell(svc: Services, ctx: ProposalContext, msgid: str) -> None:
    user = ctx.specialist_user
    assert user.id is not None
    reader = reader_for(svc, user)
    await notify(svc, user.id, reader.t(msgid, ref=ctx.proposal.id, title=ctx.demand.title))


async def on_list(chat: Chat) -> None:
    """The candidates of one of the user's demands, each with its buttons."""
    match = chat.match
    assert match is not None
    actor = chat.actor
    found = await demand_candidates(
        db=actor.services.db, demand_id=int(match["demand"]), owner_user_id=actor.user_id
    )
    await chat.notice(None if found else actor.t("candidate.list_empty"))
    for ctx in found:
        await chat.reply(candidate_card(actor, ctx), keyboard(actor, ctx))


def register(router: Router) -> None:
    router.button(PATTERN, on_button)
    router.button(LIST, on_list)

"""/my_matches: a specialist's open proposals, each one tap from its card, then their
engagements (handlers.engagements draws those)."""

from __future__ import annotations

import re

from handlers.actor import Actor
from handlers.callbacks import pack
from handlers.core.chat import Chat
from handlers.core.router import Router
from handlers.core.views import Keyboard, Pair, column
from handlers.engagements import engagements_view
from handlers.i18n import Markup
from handlers.proposal_views import proposal_card
from handlers.proposals import card_keyboard
from storage.models import ProposalStatus
from storage.proposals import ProposalContext, specialist_proposals
from storage.specialists import get_specialist

OPEN_CARD = re.compile(r"^mm:open:(?P<id>\d{1,9})$")
SHOWN = 10


async def my_matches(chat: Chat) -> None:
    """The open proposals, newest first, with a button to open each; then the engagements."""
    actor = chat.actor
    specialist = await get_specialist(db=actor.services.db, user_id=actor.user_id)
    if specialist is None:
        await chat.reply(actor.t("matches.specialists_only"))
        return
    found = await specialist_proposals(db=actor.services.db, specialist_id=specialist.id or 0)
    text, keyboard = proposals_view(actor, found)
    await chat.reply(text, keyboard)
    text, keyboard = await engagements_view(actor, side="specialist")
    if keyboard:  # only when there are engagements to open
        await chat.reply(text, keyboard)


def proposals_view(actor: Actor, found: list[ProposalContext]) -> tuple[Markup, Keyboard]:
    if not found:
        return actor.t("matches.heading") + Markup("\n") + actor.t("matches.none"), ()
    lines = [actor.t("matches.heading")]
    buttons: list[Pair] = []
    for ctx in found[:SHOWN]:
        state = "proposed" if ctx.proposal.status == ProposalStatus.PROPOSED else "accepted"
        lines.append(actor.t(f"matches.line_{state}", ref=ctx.proposal.id, title=ctx.demand.title))
        if state == "proposed":
            label = actor.t("matches.open", ref=ctx.proposal.id)
            buttons.append((label, pack("mm", "open", ctx.proposal.id or 0)))
    return Markup("\n".join(lines)), column(buttons)


async def on_open(chat: Chat) -> None:
    """Show one open proposal again with its current buttons (the specialist's own only)."""
    match = chat.match
    assert match is not None
    actor = chat.actor
    specialist = await get_specialist(db=actor.services.db, user_id=actor.user_id)
    found = (
        await specialist_proposals(db=actor.services.db, specialist_id=specialist.id or 0)
        if specialist
        else []
    )
    ctx = next((c for c in found if c.proposal.id == int(match["id"])), None)
    if ctx is None or ctx.proposal.status != ProposalStatus.PROPOSED:
        await chat.notice(actor.t("proposal.no_longer_open"), alert=True)
        return
    await chat.notice()
    await chat.reply(proposal_card(actor, ctx), card_keyboard(actor, ctx))


def register(router: Router) -> None:
    router.command("my_matches", my_matches)
    router.button(OPEN_CARD, on_open)

"""The specialist's side of a proposal: read it, accept, decline with a reason, see details.

    proposal card --Accept--> accepted --(enterprise chooses)--> contacts
                  --Decline--> reason buttons --other--> optional note (typed)
                  --Details--> the whole demand (changes nothing)

Buttons carry the proposal id and its version (`pr:acc:12:1`), so a button
printed for an older state answers "no longer open" and changes nothing, also
after a restart; the storage operation checks that the presser is the
specialist it was sent to.
"""

from __future__ import annotations

import re

from handlers import candidates
from handlers.callbacks import pack
from handlers.core.chat import Chat
from handlers.core.router import Router
from handlers.core.views import Keyboard, column, inline
from handlers.i18n import Markup
from handlers.notify import notify
from handlers.proposal_views import (
    DECLINE_REASONS,
    deadline_text,
    details_text,
    proposal_card,
    reader_for,
)
from handlers.services import Services
from handlers.specialist_views import Reader
from handlers.validators import Invalid, text_between
from storage.dialogues import end_dialogue, load_dialogue, save_dialogue
from storage.models import Dialogue, ProposalStatus
from storage.proposals import (
    Outcome,
    ProposalContext,
    accept_proposal,
    add_decline_note,
    decline_proposal,
    proposal_context,
)
from storage.specialists import get_specialist

FLOW = "decl"  # the optional note after "other"
PATTERN = re.compile(
    r"^pr:(?P<action>acc|dec|det|why|skip):(?P<id>\d{1,9}):(?P<ver>\d{1,6})(?::(?P<arg>[a-z_]{1,20}))?$"
)
NOTE_LIMIT = 300


def card_keyboard(reader: Reader, ctx: ProposalContext) -> Keyboard:
    t = reader.t
    p = ctx.proposal
    return inline(
        [
            [
                (t("proposal.accept"), pack("pr", "acc", p.id or 0, p.version)),
                (t("proposal.decline"), pack("pr", "dec", p.id or 0, p.version)),
            ],
            [(t("proposal.details"), pack("pr", "det", p.id or 0, p.version))],
        ]
    )


async def send_proposal(svc: Services, proposal_id: int, *, reminder: bool = False) -> bool:
    """Send (or remind of) an open proposal to its specialist; False if there is nothing to send."""
    ctx = await proposal_context(db=svc.db, proposal_id=proposal_id)
    if ctx is None or ctx.proposal.status != ProposalStatus.PROPOSED:
        return False
    user = ctx.specialist_user
    assert user.id is not None
    reader = reader_for(svc, user)
    text = (
        proposal_card(reader, ctx)
        + Markup("\n\n")
        + reader.t(
            "proposal.reply_by",
            deadline=deadline_text(svc, ctx.proposal.proposed_at, svc.deadlines.expiry_hours),
        )
    )
    if reminder:
        text = reader.t("proposal.reminder") + Markup("\n\n") + text
    # No account to write to (erased, never wrote to the bot): the proposal simply expires.
    return await notify(svc, user.id, text, card_keyboard(reader, ctx))


async def on_button(chat: Chat) -> None:
    """A proposal button: checked against the presser and the proposal's current version."""
    match = chat.match
    assert match is not None
    actor = chat.actor
    svc = actor.services
    specialist = await get_specialist(db=svc.db, user_id=actor.user_id)
    proposal_id, version, action = int(match["id"]), int(match["ver"]), match["action"]
    ctx = await proposal_context(db=svc.db, proposal_id=proposal_id)
    if ctx is None or specialist is None or ctx.specialist.id != specialist.id:
        await chat.notice(actor.t("proposal.not_yours"), alert=True)
        return
    if action == "det":
        await chat.notice()
        await chat.reply(details_text(actor, ctx))
        return
    if ctx.proposal.status != ProposalStatus.PROPOSED or ctx.proposal.version != version:
        await chat.notice(actor.t("proposal.no_longer_open"), alert=True)
        return
    now = svc.clock.now()
    if action == "acc":
        outcome = await accept_proposal(
            db=svc.db,
            proposal_id=proposal_id,
            version=version,
            specialist_id=specialist.id or 0,
            now=now,
        )
        if outcome != Outcome.DONE:
            await chat.notice(actor.t("proposal.no_longer_open"), alert=True)
            return
        await chat.notice()
        await chat.replace(
            chat.message,
            proposal_card(actor, ctx) + Markup("\n\n") + actor.t("proposal.accepted"),
        )
        await candidates.send_candidate(svc, proposal_id)
        return
    if action == "dec":
        await chat.notice()
        reasons = [
            (actor.t(f"proposal.reason_{reason}"), pack("pr", "why", proposal_id, version, reason))
            for reason in DECLINE_REASONS
        ]
        # A second tap finds the reasons already shown: nothing changes.
        await chat.replace(
            chat.message,
            proposal_card(actor, ctx) + Markup("\n\n") + actor.t("proposal.why_decline"),
            column(reasons),
        )
        return
    if action == "why" and match["arg"] in DECLINE_REASONS:
        await _decline(chat, ctx, version, match["arg"])
        return
    await chat.notice(actor.t("button.unknown"))


async def _decline(chat: Chat, ctx: ProposalContext, version: int, reason: str) -> None:
    actor = chat.actor
    svc = actor.services
    proposal_id = ctx.proposal.id or 0
    outcome = await decline_proposal(
        db=svc.db,
        proposal_id=proposal_id,
        version=version,
        specialist_id=ctx.specialist.id or 0,
        reason=reason,
        text=None,
        now=svc.clock.now(),
    )
    if outcome != Outcome.DONE:
        await chat.notice(actor.t("proposal.no_longer_open"), alert=True)
        return
    await chat.notice()
    await chat.replace(
        chat.message, actor.t("proposal.declined", reason=actor.t(f"proposal.reason_{reason}"))
    )
    if reason == "other":
        await save_dialogue(
            db=svc.db,
            user_id=actor.user_id,
            flow=FLOW,
            step="note",
            data={"proposal": proposal_id},
            now=svc.clock.now(),
        )
        skip = [(actor.t("form.skip"), pack("pr", "skip", proposal_id, version + 1))]
        await chat.reply(actor.t("proposal.note_prompt"), inline([skip]))


async def on_skip(chat: Chat) -> None:
    """No note after all: leave the note step."""
    actor = chat.actor
    # Only the note step ends here: a second tap (or a forged skip) must not end another dialogue.
    dialogue = await load_dialogue(db=actor.services.db, user_id=actor.user_id)
    if dialogue is None or dialogue.flow != FLOW:
        await chat.notice(actor.t("button.stale"))
        return
    await end_dialogue(db=actor.services.db, user_id=actor.user_id)
    await chat.notice()
    await chat.strip()


async def on_input(chat: Chat, dialogue: Dialogue) -> None:
    """The optional note after declining for 'other' reasons."""
    actor = chat.actor
    try:
        note = text_between(chat.text or "", low=1, high=NOTE_LIMIT) if chat.text else None
        if note is None:
            raise Invalid("invalid.not_text")
    except Invalid as invalid:
        await chat.reply(actor.t(invalid.msgid, **invalid.params))
        return
    specialist = await get_specialist(db=actor.services.db, user_id=actor.user_id)
    await end_dialogue(db=actor.services.db, user_id=actor.user_id)
    if specialist is not None:
        await add_decline_note(
            db=actor.services.db,
            proposal_id=int(dialogue.data["proposal"]),
            specialist_id=specialist.id or 0,
            text=note,
        )
    await chat.reply(actor.t("proposal.note_saved"))


async def dispatch(chat: Chat) -> None:
    if (chat.data or "").startswith("pr:skip:"):
        await on_skip(chat)
    else:
        await on_button(chat)


def register(router: Router) -> None:
    router.button(PATTERN, dispatch)
    router.dialogue(FLOW, on_input)

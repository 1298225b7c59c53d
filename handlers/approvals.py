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

from handlers.access import coordinators_only
from handlers.actor import Actor
from handlers.callbacks import pack, pattern
from handlers.coordinators import coordinator_audience
from handlers.core.chat import Chat
from handlers.core.router import Router
from handlers.core.views import Keyboard, View, column, inline
from handlers.i18n import Markup
from handlers.notify import notify
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


def card_buttons(reader: Reader, specialist: Specialist) -> Keyboard:
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
    return ()


def reason_buttons(reader: Reader, specialist_id: int) -> Keyboard:
    reasons = [
        (reader.t(REASONS[code]), pack(FLOW, "why", f"{specialist_id}.{code}"))
        for code in REJECT_REASONS
    ]
    return column([*reasons, (reader.t("form.back"), pack(FLOW, "back", specialist_id))])


async def request_approval(svc: Services, specialist: Specialist) -> None:
    """Every coordinator gets the new (or resubmitted) profile with Approve / Reject."""
    for coordinator in await coordinator_audience(svc):
        reader = coordinator.reader
        text = Markup(reader.t("approvals.new") + "\n\n" + card(reader, specialist, svc.today()))
        await svc.outbox.send(coordinator.target, View(text, card_buttons(reader, specialist)))


async def _tell_specialist(
    svc: Services, user: User, decision: Decision, reason: str | None
) -> None:
    assert user.id is not None
    reader = LocaleReader(svc.catalogs, svc.catalogs.locale_for(user.locale, None))
    text = reader.t(TOLD[decision], reason=label(reader, REASONS, reason or ""))
    await notify(svc, user.id, text)


async def _refresh_card(chat: Chat, ref: str | None, specialist: Specialist) -> None:
    """Show the card as the specialist now stands, with the buttons that now apply."""
    actor = chat.actor
    await chat.replace(
        ref, card(actor, specialist, actor.services.today()), card_buttons(actor, specialist)
    )


async def _decide(
    actor: Actor, specialist_id: int, decision: Decision, reason: str | None = None
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
        await _tell_specialist(svc, user, decision, reason)
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
async def on_card_button(chat: Chat) -> None:
    """Approve, Reject (asks why), Back (from the reasons), Suspend, Reinstate."""
    match = chat.match
    assert match is not None
    actor = chat.actor
    if match["arg"] is None:
        await chat.notice(actor.t("button.unknown"))
        return
    action, specialist_id = match["action"], int(match["arg"])
    if action in DECISIONS:
        specialist, said = await _decide(actor, specialist_id, DECISIONS[action])
        await chat.notice(said)
        if specialist is not None:
            await _refresh_card(chat, chat.message, specialist)
        return
    current = await specialist_and_user(db=actor.services.db, specialist_id=specialist_id)
    if current is None:
        await chat.notice(actor.t("button.unknown"))
        return
    specialist = current[0]
    if action == "no" and specialist.status == SpecialistStatus.PENDING:
        await chat.notice()
        # Where the card cannot be changed in place it is drawn anew: keep where it shows now.
        shown = await chat.replace(
            chat.message,
            Markup(
                card(actor, specialist, actor.services.today())
                + "\n\n"
                + actor.t("approvals.choose_reason")
            ),
            reason_buttons(actor, specialist_id),
        )
        await save_dialogue(
            db=actor.services.db,
            user_id=actor.user_id,
            flow=FLOW,
            step=REASON_STEP,
            data={"specialist_id": specialist_id, "card": shown},
            now=actor.services.clock.now(),
        )
        return
    if action == "no":
        await chat.notice(_already(actor, specialist))
    else:  # back from the reasons to the card
        await _end_reason_dialogue(actor)
        await chat.notice()
    await _refresh_card(chat, chat.message, specialist)


@coordinators_only
async def on_reason_button(chat: Chat) -> None:
    """A common rejection reason, one tap."""
    match = chat.match
    assert match is not None
    actor = chat.actor
    if match["arg"] is None:
        await chat.notice(actor.t("button.unknown"))
        return
    number, reason = match["arg"].split(".")
    await _end_reason_dialogue(actor)
    specialist, said = await _decide(actor, int(number), "reject", reason)
    await chat.notice(said)
    if specialist is not None:
        await _refresh_card(chat, chat.message, specialist)


async def on_input(chat: Chat, dialogue: Dialogue) -> None:
    """A rejection reason typed by the coordinator instead of picked."""
    actor = chat.actor
    if not actor.is_coordinator:
        await end_dialogue(db=actor.services.db, user_id=actor.user_id)
        await chat.reply(actor.t("access.coordinators_only"))
        return
    try:
        if chat.text is None:
            raise Invalid("invalid.not_text")
        reason = text_between(chat.text, low=REASON_MIN, high=REASON_MAX)
    except Invalid as invalid:
        await chat.reply(
            Markup(
                actor.t(invalid.msgid, **invalid.params) + "\n" + actor.t("approvals.type_reason")
            )
        )
        return
    await end_dialogue(db=actor.services.db, user_id=actor.user_id)
    specialist, said = await _decide(actor, dialogue.data["specialist_id"], "reject", reason)
    await chat.reply(said)
    if specialist is not None:
        card_ref = dialogue.data.get("card")
        # A message id kept before refs existed names no message: the card is sent anew.
        await _refresh_card(chat, card_ref if isinstance(card_ref, str) else None, specialist)


async def _send_cards(chat: Chat, heading: str, specialists: list[Specialist]) -> None:
    actor = chat.actor
    await chat.reply(heading)
    for specialist in specialists:
        await chat.reply(
            card(actor, specialist, actor.services.today()), card_buttons(actor, specialist)
        )


@coordinators_only
async def pending_command(chat: Chat) -> None:
    """/pending: registrations waiting for a decision, then approved specialists who went silent."""
    actor = chat.actor
    db = actor.services.db
    waiting, waiting_total = await pending_specialists(db=db, limit=SHOWN)
    silent, silent_total = await not_responding_specialists(db=db, limit=SHOWN)
    if not waiting_total and not silent_total:
        await chat.reply(actor.t("approvals.nothing_pending"))
        return
    # How many are below is said only when not all of them are.
    if waiting_total:
        heading = (
            actor.t("approvals.pending_heading_all", total=waiting_total)
            if len(waiting) == waiting_total
            else actor.t("approvals.pending_heading", total=waiting_total, shown=len(waiting))
        )
        await _send_cards(chat, heading, waiting)
    if silent_total:
        heading = (
            actor.t("approvals.silent_heading_all", total=silent_total)
            if len(silent) == silent_total
            else actor.t("approvals.silent_heading", total=silent_total, shown=len(silent))
        )
        await _send_cards(chat, heading, silent)


def register(router: Router) -> None:
    router.command("pending", pending_command)
    router.button(CARD_BUTTON, on_card_button)
    router.button(REASON_BUTTON, on_reason_button)
    router.dialogue(FLOW, on_input)

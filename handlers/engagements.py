"""/engagements: both sides see the work they are engaged in, one card each, and may end it.

    /engagements (or /my_matches for specialists, or a matched demand in /my_demands)
        ─> list, active first (paged) ─> one engagement: contacts, confirmed work, voucher,
           recent logs ─> [📝 log work] (handlers.worklog) [🏁 complete] (handlers.completion)
                          [✖ cancel] ─> reason ─> cancelled, the other side told,
                                                  the demand open to matching again

Every button reaches an engagement through storage operations that find only the
pressing user's own (as the enterprise's owner or as the specialist), so a forged
id changes nothing.
"""

from __future__ import annotations

from typing import Literal

from handlers.actor import Actor
from handlers.callbacks import pack, pattern
from handlers.core.chat import Chat
from handlers.core.router import Router
from handlers.core.views import Keyboard, Pair, column, inline
from handlers.engagement_views import (
    CANCEL_REASONS,
    ENG,
    STATUSES,
    card_keyboard,
    card_text,
    counterpart,
    reader_for,
    send_to,
    short_title,
    work_text,
)
from handlers.i18n import Markup
from storage.engagements import (
    EngagementCard,
    Side,
    cancel_engagement,
    engagement_for,
    engagement_of_demand,
    list_engagements,
    other_side,
    recent_logs,
)
from storage.models import EngagementStatus, Role

LIST_PAGE = 5
RECENT_LOGS = 5
BUTTON = pattern(
    ENG, "list|open|dem|cancel|why", r"\d{1,9}(?:\.(?:" + "|".join(CANCEL_REASONS) + "))?"
)
NONE_YET = {"specialist": "engagement.none_specialist", "enterprise": "engagement.none_enterprise"}
# Told to the side that did not cancel (the key).
TOLD_CANCELLED = {
    "specialist": "engagement.told_cancelled_specialist",
    "enterprise": "engagement.told_cancelled_enterprise",
}


def side_of(actor: Actor) -> Side | None:
    """The side a user takes in engagements, by their role."""
    if actor.user.role == Role.ENTERPRISE:
        return "enterprise"
    if actor.user.role == Role.SPECIALIST:
        return "specialist"
    return None


async def engagements_view(
    actor: Actor, *, side: Literal["specialist", "enterprise"], page: int = 0
) -> tuple[Markup, Keyboard]:
    """One page of the user's engagements, active first, each with a button to open it."""
    total, cards = await list_engagements(
        db=actor.services.db, user_id=actor.user_id, limit=LIST_PAGE, offset=page * LIST_PAGE
    )
    if total == 0:
        return actor.t(NONE_YET[side]), ()
    lines = [actor.t("engagement.list_heading", total=total)]
    buttons: list[list[Pair]] = []
    for number, card in enumerate(cards, page * LIST_PAGE + 1):
        lines.append(
            actor.t(
                "engagement.list_line",
                number=number,
                title=card.demand.title,
                other=counterpart(actor, card, side),
                status=actor.t(STATUSES[EngagementStatus(card.engagement.status)]),
                work=work_text(actor, card),
            )
        )
        buttons.append([(f"{number}. {short_title(card)}", pack(ENG, "open", card.id))])
    pages = -(-total // LIST_PAGE)
    if pages > 1:
        buttons.append(
            [
                ("‹", pack(ENG, "list", (page - 1) % pages)),
                (f"{page + 1}/{pages}", pack(ENG, "list", page)),
                ("›", pack(ENG, "list", (page + 1) % pages)),
            ]
        )
    return Markup("\n\n".join(lines)), inline(buttons)


async def engagement_view(
    actor: Actor, card: EngagementCard, side: Side
) -> tuple[Markup, Keyboard]:
    """One engagement as this side sees it, with the buttons that apply now."""
    logs = await recent_logs(
        db=actor.services.db, engagement_id=card.id, user_id=actor.user_id, limit=RECENT_LOGS
    )
    return (
        card_text(actor, card, side, logs, actor.services.timezone),
        card_keyboard(actor, card, side),
    )


async def show(chat: Chat, text: str, keyboard: Keyboard) -> None:
    """Replace the pressed message in place (the list, an engagement or the cancel question)."""
    await chat.replace(chat.message, text, keyboard)


async def engagements_command(chat: Chat) -> None:
    """/engagements: the user's engagements, for enterprises and specialists alike."""
    actor = chat.actor
    side = side_of(actor)
    if side is None:
        await chat.reply(actor.t("engagement.no_side"))
        return
    text, keyboard = await engagements_view(actor, side=side)
    await chat.reply(text, keyboard)


def cancel_view(actor: Actor, card: EngagementCard) -> tuple[Markup, Keyboard]:
    """Why the engagement ends: one button per reason, or back to it."""
    reasons = [
        (actor.t(msgid), pack(ENG, "why", f"{card.id}.{reason}"))
        for reason, msgid in CANCEL_REASONS.items()
    ]
    back = (actor.t("form.back"), pack(ENG, "open", card.id))
    return actor.t("engagement.cancel_why", title=card.demand.title), column([*reasons, back])


async def on_button(chat: Chat) -> None:
    """A button of /engagements, applied to the user's own engagement only."""
    match = chat.match
    assert match is not None
    actor = chat.actor
    action, arg = match["action"], match["arg"]
    side = side_of(actor)
    # A page number never carries a reason: "list:2.other" is forged.
    forged = action == "list" and "." in (arg or "")
    if arg is None or side is None or forged:
        await chat.notice(actor.t("button.unknown"))
        return
    if action == "list":
        await chat.notice()
        await show(chat, *await engagements_view(actor, side=side, page=int(arg)))
        return
    ref, _, reason = arg.partition(".")
    if (action == "why") != bool(reason):
        await chat.notice(actor.t("button.unknown"))
        return
    svc = actor.services
    engagement_id: int | None = int(ref)
    if action == "dem":
        engagement_id = await engagement_of_demand(
            db=svc.db, demand_id=int(ref), owner_user_id=actor.user_id
        )
    found = (
        await engagement_for(db=svc.db, engagement_id=engagement_id, user_id=actor.user_id)
        if engagement_id is not None
        else None
    )
    if found is None:
        await chat.notice(actor.t("engagement.not_found"))
        return
    card, side = found
    if action == "cancel" and card.engagement.status == EngagementStatus.ACTIVE:
        await chat.notice()
        await show(chat, *cancel_view(actor, card))
        return
    if action == "why":
        done, card = await _cancel(actor, card, side, reason)
        said = actor.t("engagement.cancelled") if done else actor.t("engagement.changed_meanwhile")
        await chat.notice(said)
    elif action == "cancel":
        await chat.notice(actor.t("engagement.changed_meanwhile"))
    else:
        await chat.notice()
    await show(chat, *await engagement_view(actor, card, side))


async def _cancel(
    actor: Actor, card: EngagementCard, side: Side, reason: str
) -> tuple[bool, EngagementCard]:
    """End the engagement if it is still active and tell the other side; the card as it is now."""
    svc = actor.services
    change = await cancel_engagement(
        db=svc.db, engagement_id=card.id, user_id=actor.user_id, reason=reason, now=svc.clock.now()
    )
    if change.result != "done" or change.card is None:
        return False, change.card or card
    other = other_side(side)
    user = change.card.user_of(other)
    reader = reader_for(svc, user)
    text = reader.t(
        TOLD_CANCELLED[other],
        title=card.demand.title,
        other=counterpart(reader, card, other),
        reason=reader.t(CANCEL_REASONS[reason]),
    )
    await send_to(svc, user, text)
    return True, change.card


def register(router: Router) -> None:
    router.command("engagements", engagements_command)
    router.button(BUTTON, on_button)

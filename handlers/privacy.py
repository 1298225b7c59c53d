"""Privacy: the notice at any time, consent withdrawn, a copy of one's data, deletion, and
the separate consent to share contact details with a matched party.

    /privacy ─> the notice and where the user stands
        ├─[Withdraw consent]─> are you sure? ─yes─> withdrawn, open proposals end;
        │                                    └no──> nothing changes      /start agrees again
        └─[Allow / Stop sharing my contact details]
    /mydata ─> a JSON file with every row kept about the user
    /delete_me ─> are you sure? ─yes─> personal data erased; the other side of an active
                                       engagement is told
    the consent to share contact details (asked at the choice, handlers.contact_exchange):
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

from handlers.actor import Actor
from handlers.callbacks import pack, pattern
from handlers.contact_exchange import CONSENT_FLOW, exchange_for
from handlers.core.chat import Chat
from handlers.core.router import Router
from handlers.core.views import File, Keyboard, Pair, inline
from handlers.engagement_views import counterpart, reader_for
from handlers.engagements import engagement_view, show
from handlers.i18n import Markup
from handlers.menus import set_chat_menu
from handlers.notify import notify
from handlers.services import Services
from handlers.specialist_views import LocaleReader
from storage.dialogues import end_dialogue, load_dialogue, save_dialogue
from storage.engagements import (
    engagement_for,
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

FLOW = CONSENT_FLOW  # callback prefix, and the dialogue of a pending confirmation
WITHDRAW, ERASE = "withdraw", "erase"
# Share may name the engagement whose card carried the button (the card is drawn again).
BUTTON = pattern(FLOW, "withdraw|yes|no|share|later|unshare", r"\d{1,9}")
RETENTION = "retention"  # the job's name in the scheduler
RETENTION_BATCH = 200
_RESUME = "resume"  # dialogue data: the dialogue the user was in before being asked


def notice(actor: Actor, retention_days: int) -> tuple[Markup, Keyboard]:
    """The privacy notice, where this user stands, and what they can change."""
    user, tz = actor.user, actor.services.timezone
    retention = actor.t("privacy.retention_days", count=retention_days)
    lines = [actor.t("privacy.notice", retention=retention)]
    buttons: list[Pair] = []
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
    return Markup("\n\n".join(lines)), inline([b] for b in buttons)


async def privacy_command(chat: Chat) -> None:
    """/privacy: the notice at any time, with the user's consents and how to change them."""
    actor = chat.actor
    text, keyboard = notice(actor, actor.services.retention_days)
    await chat.reply(text, keyboard)


async def mydata_command(chat: Chat) -> None:
    """/mydata: everything kept about the user, as one UTF-8 JSON file."""
    actor = chat.actor
    svc = actor.services
    document = await export_personal_data(db=svc.db, user_id=actor.user_id, now=svc.clock.now())
    rows = sum(len(table) for table in document["tables"].values())
    data = json.dumps(document, ensure_ascii=False, indent=2, default=str).encode()
    await chat.send_file(
        File(
            name=f"techmatch-my-data-{svc.today():%Y%m%d}.json",
            mime="application/json",
            data=data,
            caption=actor.t("privacy.export_caption", count=rows),
        )
    )


def confirmation(actor: Actor, step: str) -> tuple[Markup, Keyboard]:
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


async def delete_me_command(chat: Chat) -> None:
    """/delete_me: ask first; nothing happens without the yes."""
    actor = chat.actor
    await _ask(actor, ERASE)
    text, keyboard = confirmation(actor, ERASE)
    await chat.reply(text, keyboard)


async def on_button(chat: Chat) -> None:
    """Withdraw (asks first), yes / no to a waiting question, and the contact consents."""
    match = chat.match
    assert match is not None
    action = match["action"]
    actor = chat.actor
    svc = actor.services
    if action in ("share", "later", "unshare"):
        card = int(match["arg"]) if match["arg"] and action == "share" else None
        await _contact_choice(chat, action, card)
        return
    if action == WITHDRAW:
        if actor.user.consent_at is None:
            await chat.notice(actor.t("privacy.withdrawn_already"))
            return
        await _ask(actor, WITHDRAW)
        await chat.notice()
        await chat.replace(chat.message, *confirmation(actor, WITHDRAW))
        return
    dialogue = await load_dialogue(db=svc.db, user_id=actor.user_id)
    if dialogue is None or dialogue.flow != FLOW:
        await chat.notice(actor.t("button.stale"))
        return
    if action == "no":
        await _resume(actor, dialogue)
        await chat.notice()
        await chat.replace(chat.message, actor.t("privacy.kept"))
        return
    if dialogue.step == WITHDRAW:
        await _withdraw(chat)
    else:
        await _erase(chat)


async def _withdraw(chat: Chat) -> None:
    actor = chat.actor
    svc = actor.services
    await end_dialogue(db=svc.db, user_id=actor.user_id)
    ended = await withdraw_consent(db=svc.db, user_id=actor.user_id, now=svc.clock.now())
    if ended is None:
        await chat.notice(actor.t("privacy.withdrawn_already"))
        return
    await chat.notice()
    said = actor.t("privacy.withdrawn", count=ended.withdrawal.withdrawn)
    if ended.told:
        said += Markup("\n\n") + actor.t("privacy.withdrawn_engagements", count=len(ended.told))
    await chat.replace(chat.message, said)
    await tell_counterparts(svc, ended, erased=False)


async def tell_withdrawn(svc: Services, withdrawal: Withdrawal) -> None:
    """The other side of each proposal that ended with the user's consent or data hears it
    (without the user's name: after an erasure it is no longer ours to pass on)."""
    for ctx in withdrawal.specialists:
        user = ctx.specialist_user
        assert user.id is not None
        reader = reader_for(svc, user)
        text = reader.t("proposal.enterprise_left", ref=ctx.proposal.id, title=ctx.demand.title)
        await notify(svc, user.id, text)
    for ctx in withdrawal.enterprises:
        owner = ctx.owner
        assert owner.id is not None
        reader = reader_for(svc, owner)
        text = reader.t("candidate.withdrew", ref=ctx.proposal.id, title=ctx.demand.title)
        await notify(svc, owner.id, text)


async def _erase(chat: Chat) -> None:
    actor = chat.actor
    svc = actor.services
    erasure = await erase_personal_data(db=svc.db, user_id=actor.user_id, now=svc.clock.now())
    if erasure is None:
        await chat.notice(actor.t("privacy.erased_already"))
        return
    await chat.notice()
    await chat.replace(chat.message, actor.t("privacy.erased"))
    # The person's menu goes back to what a newcomer sees.
    await set_chat_menu(chat, role=None, is_coordinator=actor.is_coordinator)
    await tell_counterparts(svc, erasure)


# What the other side of an engagement hears: (erased, demand reopened) -> message id.
PARTNER_LEFT = {
    (True, False): "privacy.partner_left",
    (True, True): "privacy.partner_left_reopened",
    (False, False): "privacy.partner_withdrew",
    (False, True): "privacy.partner_withdrew_reopened",
}


async def tell_counterparts(svc: Services, departure: Departure, *, erased: bool = True) -> None:
    """The other side of each proposal and engagement that ended because the user left (data
    erased, or consent withdrawn) hears it."""
    await tell_withdrawn(svc, departure.withdrawal)
    for other in departure.told:
        reader = LocaleReader(svc.catalogs, svc.catalogs.locale_for(other.locale, None))
        msgid = PARTNER_LEFT[erased, other.demand_reopened]
        await notify(svc, other.user_id, reader.t(msgid, title=other.demand_title))


async def on_input(chat: Chat, dialogue: Dialogue) -> None:
    """Typed text while a confirmation waits: point at the buttons and ask again."""
    actor = chat.actor
    await chat.reply(actor.t("privacy.use_buttons"))
    text, keyboard = confirmation(actor, dialogue.step)
    await chat.reply(text, keyboard)


# --- consent to share contact details ------------------------------------------------------


async def _contact_choice(chat: Chat, action: str, card: int | None = None) -> None:
    actor = chat.actor
    svc = actor.services
    now = svc.clock.now()
    if action == "share":
        if actor.user.consent_at is None:
            await chat.notice(actor.t("privacy.consent_needed_short"), alert=True)
            return
        await record_contact_consent(db=svc.db, user_id=actor.user_id, now=now)
        if card is None:
            await chat.notice()
            await chat.replace(chat.message, actor.t("privacy.contact_shared"))
        await _share_contacts(chat)
        if card is not None:  # pressed on an engagement card: the card stays, brought up to date
            await chat.notice(actor.t("privacy.contact_shared"))
            found = await engagement_for(db=svc.db, engagement_id=card, user_id=actor.user_id)
            if found is not None:
                await show(chat, *await engagement_view(actor, *found))
        return
    if action == "unshare":
        await withdraw_contact_consent(db=svc.db, user_id=actor.user_id, now=now)
        said = actor.t("privacy.contact_stopped")
    else:
        said = actor.t("privacy.contact_not_shared")
    await chat.notice()
    await chat.replace(chat.message, said)


async def _share_contacts(chat: Chat) -> None:
    """The person acting agreed: every active engagement of theirs where the other side agreed
    too gets the contacts; on the others the person hears what they wait for."""
    actor = chat.actor
    for card in await exchange_for(actor.services, user_id=actor.user_id):
        side = card.side_of(actor.user_id)
        assert side is not None
        await chat.reply(
            actor.t(
                "privacy.contact_waiting_other",
                title=card.demand.title,
                other=counterpart(actor, card, side),
            )
        )


# --- retention --------------------------------------------------------------------------


async def run_retention(svc: Services) -> None:
    """The daily job: erase the personal data of users silent for RETENTION_DAYS.

    The same erasure as /delete_me, one person at a time: each erasure and the messages
    telling the other sides commit together, and one failing leaves the others done. A
    user erased is never found again, so a run that happens twice, or in two processes,
    erases nobody twice."""
    now = svc.clock.now()
    cut = now - dt.timedelta(days=svc.retention_days)
    erased = 0
    while batch := await inactive_users(db=svc.db, seen_before=cut, limit=RETENTION_BATCH):
        for user_id in batch:
            async with svc.db.unit_of_work():
                erasure = await erase_personal_data(
                    db=svc.db, user_id=user_id, now=now, by_user=False
                )
                if erasure is not None:
                    await tell_counterparts(svc, erasure)
            if erasure is not None:
                erased += 1
    log.info("retention: erased %d users not seen since %s", erased, f"{cut:%F}")


def register(router: Router) -> None:
    router.command("privacy", privacy_command)
    router.command("mydata", mydata_command)
    router.command("delete_me", delete_me_command)
    router.button(BUTTON, on_button)
    router.dialogue(FLOW, on_input)

"""The contact exchange: contact details go to both sides of an engagement only once both
agreed to share them, exactly once (the claim is one guarded statement, storage.engagements).

    the enterprise chooses (handlers.candidates) ─> exchange_after_choice:
        both agreed before ─> the contacts go to both, once
        otherwise ─> each side hears it is matched; whoever has not agreed is asked
    someone agrees later (handlers.privacy) ─> exchange_for: engagements where the other side
        agreed too get the contacts; on the others, the other side is asked once more

Used by the flows where people agree and by nothing else; it talks to people only through
the outbox.
"""

from __future__ import annotations

from handlers.callbacks import pack
from handlers.core.views import Keyboard, inline
from handlers.engagement_views import counterpart, reader_for
from handlers.i18n import Markup
from handlers.notify import notify
from handlers.services import Services
from handlers.specialist_views import Reader
from storage.engagements import (
    EngagementCard,
    Side,
    claim_contact_exchanges,
    claim_contact_reminder,
    other_side,
)
from storage.institutions import unit_name

CONSENT_FLOW = "prv"  # the privacy flow's buttons answer the question asked here
SIDES: tuple[Side, Side] = ("enterprise", "specialist")


def contact_consent_request(reader: Reader) -> tuple[Markup, Keyboard]:
    buttons = [
        [(reader.t("privacy.contact_share"), pack(CONSENT_FLOW, "share"))],
        [(reader.t("privacy.contact_later"), pack(CONSENT_FLOW, "later"))],
    ]
    return reader.t("privacy.contact_ask"), inline(buttons)


async def send_contact_consent_request(
    svc: Services, user_id: int, reader: Reader, lead: Markup | None = None
) -> bool:
    """The question to someone the bot writes to outside their own event, after `lead`."""
    text, keyboard = contact_consent_request(reader)
    if lead is not None:
        text = lead + Markup("\n\n") + text
    return await notify(svc, user_id, text, keyboard)


async def exchange_after_choice(svc: Services, *, engagement_id: int, chooser_user_id: int) -> None:
    """Right after the enterprise chose: the contacts go out now if both sides agreed to share
    them before; otherwise each side hears it is matched, and whoever has not agreed is asked."""
    exchange = await claim_contact_exchanges(
        db=svc.db, user_id=chooser_user_id, now=svc.clock.now(), engagement_id=engagement_id
    )
    for card in exchange.shared:
        await send_contacts(svc, card)
    for card in exchange.waiting:
        for side in SIDES:
            user = card.user_of(side)
            assert user.id is not None
            reader = reader_for(svc, user)
            other = counterpart(reader, card, side)
            matched = reader.t("match.waiting_for_consent", title=card.demand.title, other=other)
            if user.contact_consent_at is None:
                await notify(svc, user.id, matched)
                await send_contact_consent_request(svc, user.id, reader)
            else:
                waiting = reader.t(
                    "privacy.contact_waiting_other", title=card.demand.title, other=other
                )
                await notify(svc, user.id, matched + Markup("\n\n") + waiting)


async def exchange_for(svc: Services, *, user_id: int) -> list[EngagementCard]:
    """The person agreed: every active engagement of theirs where the other side agreed too
    gets the contacts; the ones still waiting for the other side are returned. That other
    side was asked when the enterprise chose (unless they had agreed then and stopped
    since); they are asked once more now, and never again: a second press, or stopping and
    sharing again, must not keep pestering them."""
    now = svc.clock.now()
    exchange = await claim_contact_exchanges(db=svc.db, user_id=user_id, now=now)
    for card in exchange.shared:
        await send_contacts(svc, card)
    for card in exchange.waiting:
        side = card.side_of(user_id)
        assert side is not None
        if await claim_contact_reminder(db=svc.db, engagement_id=card.id, now=now):
            other = other_side(side)
            user = card.user_of(other)
            assert user.id is not None
            reader = reader_for(svc, user)
            lead = reader.t(
                "privacy.contact_other_agreed",
                title=card.demand.title,
                other=counterpart(reader, card, other),
            )
            await send_contact_consent_request(svc, user.id, reader, lead)
    return exchange.waiting


async def send_contacts(svc: Services, card: EngagementCard) -> None:
    """Each side gets the other's contact details and what to do next."""
    specialist, enterprise = card.specialist, card.enterprise
    assert card.owner.id is not None and card.specialist_user.id is not None
    owner = reader_for(svc, card.owner)
    await notify(
        svc,
        card.owner.id,
        owner.t(
            "match.enterprise_contacts",
            name=specialist.name,
            institution=unit_name(specialist.institution, owner.locale),
            phone=specialist.phone,
        ),
    )
    expert = reader_for(svc, card.specialist_user)
    await notify(
        svc,
        card.specialist_user.id,
        expert.t(
            "match.specialist_contacts",
            enterprise=enterprise.name,
            title=card.demand.title,
            contact=enterprise.contact_name,
            phone=enterprise.phone,
        ),
    )

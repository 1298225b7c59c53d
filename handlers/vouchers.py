"""/voucher: a coordinator records a technology innovation voucher for an engagement.

    /voucher 12 20000 检测与工艺验证 ─> recorded at once
    /voucher ─> engagement number ─> amount (yuan) ─> purpose ─> summary ─confirm─> recorded
        ─> the coordinator sees what is usable now; the enterprise is told

How much may be used grows with the work the enterprise confirmed:
usable = min(amount, confirmed service days × VOUCHER_DAILY_RATE), a service day being
8 confirmed hours; the rate in force is stored with the voucher (storage.engagements).
One voucher per engagement; a cancelled engagement gets none.
"""

from __future__ import annotations

import re
import unicodedata

from handlers import form
from handlers.access import coordinators_only
from handlers.actor import Actor
from handlers.core.chat import Chat
from handlers.core.router import Router
from handlers.engagement_views import counterpart, number, reader_for, send_to, yuan
from handlers.form import Draft, Field, Form, open_form
from handlers.i18n import Markup
from handlers.validators import Invalid, text_between
from storage.engagements import EngagementCard, engagement_card, record_voucher
from storage.models import Dialogue, EngagementStatus

FLOW = "vch"
AMOUNT_MAX = 10_000_000  # yuan
PURPOSE_MIN, PURPOSE_MAX = 2, 200
_AMOUNT = re.compile(
    r"^[¥￥]?\s*(\d{1,9}(?:\.\d{1,4})?)\s*(万)?\s*(?:元|yuan|rmb|cny)?$", re.IGNORECASE
)
_REFERENCE = re.compile(r"^#?(\d{1,9})$")
_GROUPING = re.compile(r"(?<=\d)[,，\s](?=\d{3})")


def parse_amount(text: str) -> int:
    """Whole yuan: 20000, 20,000, ¥20000, 2万, 2.5万元."""
    compact = _GROUPING.sub("", unicodedata.normalize("NFKC", text).strip())
    match = _AMOUNT.match(compact)
    if not match:
        raise Invalid("voucher.invalid_amount", high=yuan(AMOUNT_MAX))
    amount = float(match.group(1)) * (10_000 if match.group(2) else 1)
    if amount != int(amount) or not 1 <= amount <= AMOUNT_MAX:
        raise Invalid("voucher.invalid_amount", high=yuan(AMOUNT_MAX))
    return int(amount)


async def find_engagement(text: str, actor: Actor) -> EngagementCard:
    """An engagement by its number (#12 or 12) that may still get a voucher."""
    reference = _REFERENCE.match(unicodedata.normalize("NFKC", text).strip())
    card = (
        await engagement_card(db=actor.services.db, engagement_id=int(reference.group(1)))
        if reference
        else None
    )
    if card is None:
        raise Invalid("voucher.invalid_engagement")
    if card.engagement.status == EngagementStatus.CANCELLED:
        raise Invalid("voucher.engagement_cancelled", ref=card.id)
    if card.voucher is not None:
        raise Invalid("voucher.engagement_has_one", ref=card.id, amount=yuan(card.voucher.amount))
    return card


async def parse_engagement(text: str, actor: Actor, draft: Draft) -> int:
    return (await find_engagement(text, actor)).id


FIELDS = (
    Field(
        "engagement",
        "voucher.ask_engagement",
        "voucher.label_engagement",
        parse=parse_engagement,
        render=lambda actor, value: f"#{value}",
    ),
    Field(
        "amount",
        "voucher.ask_amount",
        "voucher.label_amount",
        parse=lambda text, actor, draft: parse_amount(text),
        render=lambda actor, value: actor.t("voucher.yuan", amount=yuan(value)),
    ),
    Field(
        "purpose",
        "voucher.ask_purpose",
        "voucher.label_purpose",
        parse=lambda text, actor, draft: text_between(text, low=PURPOSE_MIN, high=PURPOSE_MAX),
        prompt_params=lambda actor, draft: {"low": PURPOSE_MIN, "high": PURPOSE_MAX},
    ),
)


async def record(chat: Chat, engagement_id: int, amount: int, purpose: str) -> None:
    """Record the voucher, report what it allows now, and tell the enterprise."""
    actor = chat.actor
    svc = actor.services
    result, card = await record_voucher(
        db=svc.db,
        engagement_id=engagement_id,
        amount=amount,
        purpose=purpose,
        daily_rate=svc.voucher_daily_rate,
        coordinator_user_id=actor.user_id,
        now=svc.clock.now(),
    )
    if result == "exists" and card is not None and card.voucher is not None:
        await chat.reply(
            actor.t("voucher.engagement_has_one", ref=card.id, amount=yuan(card.voucher.amount))
        )
        return
    if result != "done" or card is None:
        await chat.reply(actor.t("voucher.invalid_engagement"))
        return
    await chat.reply(voucher_report(actor, card))
    reader = reader_for(svc, card.owner)
    told = reader.t("voucher.told_enterprise", title=card.demand.title, amount=yuan(amount))
    await send_to(svc, card.owner, told)


def voucher_report(actor: Actor, card: EngagementCard) -> Markup:
    voucher = card.voucher
    assert voucher is not None
    return actor.t(
        "voucher.recorded",
        ref=card.id,
        title=card.demand.title,
        enterprise=card.enterprise.name,
        specialist=counterpart(actor, card, "enterprise"),
        amount=yuan(voucher.amount),
        purpose=voucher.purpose,
        usable=yuan(card.voucher_usable),
        count=number(card.service_days),
        rate=yuan(voucher.daily_rate),
    )


async def confirm_voucher(chat: Chat, draft: Draft) -> None:
    actor = chat.actor
    if not actor.is_coordinator:  # rights withdrawn while the form was open
        await chat.reply(actor.t("access.coordinators_only"))
        return
    await record(chat, draft["engagement"], draft["amount"], draft["purpose"])


VOUCHER = Form(flow=FLOW, fields=FIELDS, summary="voucher.summary", confirm=confirm_voucher)


@coordinators_only
async def voucher_command(chat: Chat) -> None:
    """/voucher ENGAGEMENT AMOUNT PURPOSE records at once; /voucher alone asks step by step."""
    actor = chat.actor
    args = chat.args
    if not args:
        await open_form(VOUCHER, chat)
        return
    if len(args) < 3:
        await chat.reply(actor.t("voucher.usage"))
        return
    try:
        card = await find_engagement(args[0], actor)
        amount = parse_amount(args[1])
        purpose = text_between(" ".join(args[2:]), low=PURPOSE_MIN, high=PURPOSE_MAX)
    except Invalid as invalid:
        await chat.reply(
            Markup("\n".join([actor.t(invalid.msgid, **invalid.params), actor.t("voucher.usage")]))
        )
        return
    await record(chat, card.id, amount, purpose)


async def on_input(chat: Chat, dialogue: Dialogue) -> None:
    await form.on_input(VOUCHER, chat, dialogue)


def register(router: Router) -> None:
    router.command("voucher", voucher_command)
    form.register(VOUCHER, router)
    router.dialogue(FLOW, on_input)

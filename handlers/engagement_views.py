"""How an engagement reads, for either side, in any language: its one-line entry in a list,
its whole card with recent work and what can be done next, and messages to the other side.

Shared by /engagements, /log, completion, check-ins and vouchers, so an engagement reads
the same everywhere. The buttons of every flow about an engagement are packed here, with
the prefixes each flow module parses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from handlers.callbacks import pack
from handlers.core.views import Keyboard, Pair, inline
from handlers.i18n import Markup, shorten
from handlers.notify import notify
from handlers.services import Services
from handlers.specialist_views import LocaleReader, Reader
from storage.engagements import EngagementCard, Side
from storage.institutions import unit_name
from storage.models import EngagementStatus, User, WorkLog
from storage.privacy import ERASED, WITHDRAWN

ENG = "eng"  # handlers.engagements: list, open, cancel
CMP = "cmp"  # handlers.completion: propose, confirm, not yet, rate
LOG = "wlf"  # handlers.worklog: log work for one engagement
PRV = "prv"  # handlers.privacy: agree to share contact details
STATUSES = {
    EngagementStatus.ACTIVE: "engagement.status_active",
    EngagementStatus.COMPLETED: "engagement.status_completed",
    EngagementStatus.CANCELLED: "engagement.status_cancelled",
}
CANCEL_REASONS = {
    "not_needed": "engagement.reason_not_needed",
    "not_a_fit": "engagement.reason_not_a_fit",
    "no_time": "engagement.reason_no_time",
    "other": "engagement.reason_other",
}
# Ended by the bot when a side left (storage.privacy), never chosen from the buttons.
LEFT_REASONS = {
    ERASED: "engagement.reason_erased",
    WITHDRAWN: "engagement.reason_consent_withdrawn",
}
END_REASONS = CANCEL_REASONS | LEFT_REASONS
LOG_STATUSES = {
    "pending": "log.status_pending",
    "confirmed": "log.status_confirmed",
    "disputed": "log.status_disputed",
}
MODES = {"onsite": "log.mode_onsite", "remote": "log.mode_remote"}
OUTCOMES = {
    "solved": "completion.outcome_solved",
    "partly": "completion.outcome_partly",
    "not_solved": "completion.outcome_not_solved",
}
RESULTS = {
    "new_product": "completion.result_new_product",
    "patent": "completion.result_patent",
    "rd_platform": "completion.result_rd_platform",
    "trained": "completion.result_trained",
}
TITLE_ON_BUTTON = 28
LOG_TEXT_SHOWN = 80  # characters of each recent work log on the card


def number(value: float) -> str:
    """Hours and days as people write them: 3, 3.5, 0.44."""
    return f"{round(value, 2):g}"


def yuan(amount: int) -> str:
    """An amount of money with thousands separated: 20,000."""
    return f"{amount:,}"


def local_date(moment: dt.datetime, timezone: dt.tzinfo) -> str:
    return moment.astimezone(timezone).date().isoformat()


def counterpart(reader: Reader, card: EngagementCard, side: Side) -> Markup:
    """The other side, as the reader knows them."""
    if side == "specialist":
        return reader.t("engagement.enterprise_name", name=card.enterprise.name)
    return reader.t(
        "engagement.specialist_name",
        name=card.specialist.name,
        institution=unit_name(card.specialist.institution, reader.locale),
    )


def headline(reader: Reader, card: EngagementCard, side: Side) -> Markup:
    """The demand and the other side, on one line."""
    return reader.t(
        "engagement.headline",
        ref=card.id,
        title=card.demand.title,
        other=counterpart(reader, card, side),
    )


def short_title(card: EngagementCard) -> str:
    return shorten(card.demand.title, TITLE_ON_BUTTON)


def work_text(reader: Reader, card: EngagementCard) -> Markup:
    return reader.t(
        "engagement.work",
        hours=number(card.confirmed_hours),
        count=number(card.service_days),
        pending=card.pending_logs,
    )


def log_line(reader: Reader, entry: WorkLog) -> Markup:
    return reader.t(
        "log.line",
        date=entry.work_date.isoformat(),
        mode=reader.t(MODES[entry.mode]),
        hours=number(entry.hours),
        status=reader.t(LOG_STATUSES[entry.status]),
        summary=shorten(entry.summary, LOG_TEXT_SHOWN),
    )


def voucher_text(reader: Reader, card: EngagementCard) -> Markup | None:
    voucher = card.voucher
    if voucher is None:
        return None
    return reader.t(
        "voucher.on_card",
        amount=yuan(voucher.amount),
        usable=yuan(card.voucher_usable),
        rate=yuan(voucher.daily_rate),
        purpose=voucher.purpose,
    )


def completion_text(reader: Reader, card: EngagementCard, side: Side) -> Markup | None:
    """Where completion stands: proposed by whom, or the ratings and outcome once completed."""
    e = card.engagement
    if e.status == EngagementStatus.ACTIVE and e.completion_proposed_by:
        mine = e.completion_proposed_by == side
        return (
            reader.t("completion.waiting_other")
            if mine
            else reader.t("completion.asked_to_confirm")
        )
    if e.status != EngagementStatus.COMPLETED:
        return None
    lines = []
    for msgid, rating, comment in (
        ("completion.rating_of_specialist", e.rating_of_specialist, e.comment_on_specialist),
        ("completion.rating_of_enterprise", e.rating_of_enterprise, e.comment_on_enterprise),
    ):
        if rating is not None:
            shown = stars(rating)
            if comment:
                shown = reader.t("completion.with_comment", stars=shown, comment=comment)
            lines.append(reader.t(msgid, stars=shown))
    if e.outcome:
        results = reader.t("list.items").join(
            reader.t(RESULTS[r]) for r in e.results or [] if r in RESULTS
        )
        lines.append(
            reader.t(
                "completion.outcome_line",
                outcome=reader.t(OUTCOMES[e.outcome]),
                results=results or reader.t("form.empty_value"),
            )
        )
    return Markup("\n".join(lines)) if lines else None


def stars(rating: int) -> str:
    return "⭐" * rating


def contact_text(reader: Reader, card: EngagementCard, side: Side) -> Markup:
    """The other side's contact, once both sides agreed to share theirs; until then, whose
    agreement is still missing."""
    e = card.engagement
    if e.contacts_shared_at is None:
        if e.status != EngagementStatus.ACTIVE:
            return reader.t("engagement.contact_not_shared")
        if may_share(card, side):
            return reader.t("engagement.contact_ask")
        return reader.t("engagement.contact_waiting")
    if side == "specialist":
        return reader.t(
            "engagement.contact_enterprise",
            name=card.enterprise.contact_name,
            phone=card.enterprise.phone,
        )
    return reader.t(
        "engagement.contact_specialist", name=card.specialist.name, phone=card.specialist.phone
    )


def may_share(card: EngagementCard, side: Side) -> bool:
    """Contacts of an active engagement wait for this side's agreement to share them."""
    e = card.engagement
    return (
        e.status == EngagementStatus.ACTIVE
        and e.contacts_shared_at is None
        and card.user_of(side).contact_consent_at is None
    )


def card_text(
    reader: Reader,
    card: EngagementCard,
    side: Side,
    logs: Sequence[WorkLog],
    timezone: dt.tzinfo,
) -> Markup:
    """One engagement on one screen: who, since when, the work confirmed, what is pending."""
    e = card.engagement
    status = reader.t(STATUSES[EngagementStatus(e.status)])
    reasons = CANCEL_REASONS | LEFT_REASONS
    if e.status == EngagementStatus.CANCELLED and e.end_reason in reasons:
        status = reader.t("engagement.cancelled_because", reason=reader.t(reasons[e.end_reason]))
    lines = [
        headline(reader, card, side),
        reader.t("engagement.status_line", status=status),
        contact_text(reader, card, side),
        reader.t(
            "engagement.dates",
            start=local_date(e.started_at, timezone),
            end=local_date(e.ended_at, timezone) if e.ended_at else "…",
        ),
        work_text(reader, card),
    ]
    lines += [
        text for text in (voucher_text(reader, card), completion_text(reader, card, side)) if text
    ]
    if logs:
        lines.append(reader.t("engagement.recent_logs"))
        lines += [log_line(reader, entry) for entry in logs]
    return Markup("\n".join(lines))


def card_keyboard(reader: Reader, card: EngagementCard, side: Side) -> Keyboard:
    """What this side can do now: share contacts, log, propose or answer completion, cancel,
    rate."""
    e, ref = card.engagement, card.id
    rows: list[list[Pair]] = []
    if may_share(card, side):
        rows.append([(reader.t("privacy.contact_share"), pack(PRV, "share", ref))])
    if e.status == EngagementStatus.ACTIVE:
        if side == "specialist":
            rows.append([(reader.t("engagement.log_work"), pack(LOG, "for", ref))])
        if e.completion_proposed_by is None:
            rows.append([(reader.t("completion.propose"), pack(CMP, "prop", ref))])
        elif e.completion_proposed_by != side:
            rows.append(
                [
                    (reader.t("completion.confirm"), pack(CMP, "yes", ref)),
                    (reader.t("completion.not_yet"), pack(CMP, "not", ref)),
                ]
            )
        rows.append([(reader.t("engagement.cancel"), pack(ENG, "cancel", ref))])
    elif e.status == EngagementStatus.COMPLETED and not rated(card, side):
        rows.append([(reader.t("completion.rate"), pack(CMP, "rate", ref))])
    rows.append([(reader.t("engagement.back_to_list"), pack(ENG, "list", 0))])
    return inline(rows)


def rated(card: EngagementCard, side: Side) -> bool:
    """Whether this side said what it had to say after completion."""
    if side == "enterprise":
        return card.engagement.outcome is not None
    return card.engagement.rating_of_enterprise is not None


def reader_for(svc: Services, user: User) -> LocaleReader:
    return LocaleReader(svc.catalogs, svc.catalogs.locale_for(user.locale, None))


async def send_to(svc: Services, user: User, text: str, keyboard: Keyboard = ()) -> bool:
    """Send to one side; False when the bot has no account of theirs to write to."""
    assert user.id is not None
    return await notify(svc, user.id, text, keyboard)

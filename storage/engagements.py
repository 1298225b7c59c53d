"""Engagements after the match: work logs both sides confirm, check-ins, completion with
ratings and outcome, innovation vouchers, and the figures coordinators report.

    active ──either side proposes, the other confirms──> completed ─> ratings, outcome
       └────either side cancels, with a reason─────────> cancelled (the demand opens again)

Every operation reaches an engagement only through the acting user's side of it
(the enterprise's owner or the specialist), so an id from someone else's button
finds nothing. Every change is one guarded UPDATE (`... WHERE status = 'active'`,
`... WHERE rating IS NULL`): a double tap or a second bot process applies it once.

Service days are confirmed hours / 8 (HOURS_PER_DAY); only work logs the
enterprise confirmed count. A voucher's usable amount is
min(amount, confirmed service days × the daily rate recorded with it), in whole
yuan rounded down: it grows as confirmed work does and never exceeds the grant.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import case, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from storage.audit import audit
from storage.db import Database
from storage.institutions import dispatching_unit, listed_institution
from storage.models import (
    Demand,
    DemandStatus,
    Engagement,
    EngagementCheckin,
    EngagementStatus,
    Enterprise,
    Specialist,
    SpecialistStatus,
    User,
    Voucher,
    WorkLog,
    WorkLogStatus,
)

Side = Literal["specialist", "enterprise"]
Result = Literal["done", "stale", "unknown"]  # applied; state moved on; not this user's
HOURS_PER_DAY = 8
CANCEL_REASONS = ("not_needed", "not_a_fit", "no_time", "other")
OUTCOMES = ("solved", "partly", "not_solved")
RESULTS = ("new_product", "patent", "rd_platform", "trained")
CHECKIN_ANSWERS = ("good", "partly", "no")
WORK_MODES = ("onsite", "remote")
VoucherGrouping = Literal["engagement", "enterprise", "city", "institution"]
ACTIVE = col(Engagement.status) == EngagementStatus.ACTIVE


@dataclass(frozen=True)
class EngagementCard:
    """One engagement with both sides and its confirmed work: what every view of it needs."""

    engagement: Engagement
    demand: Demand
    enterprise: Enterprise
    owner: User  # the enterprise's user: chat and language
    specialist: Specialist
    specialist_user: User
    confirmed_hours: float = 0.0
    pending_logs: int = 0
    voucher: Voucher | None = None

    @property
    def id(self) -> int:
        assert self.engagement.id is not None
        return self.engagement.id

    @property
    def service_days(self) -> float:
        return self.confirmed_hours / HOURS_PER_DAY

    @property
    def voucher_usable(self) -> int:
        return voucher_usable(self.voucher, self.confirmed_hours) if self.voucher else 0

    def side_of(self, user_id: int) -> Side | None:
        if self.owner.id == user_id:
            return "enterprise"
        if self.specialist_user.id == user_id:
            return "specialist"
        return None

    def user_of(self, side: Side) -> User:
        return self.owner if side == "enterprise" else self.specialist_user


@dataclass(frozen=True)
class Change:
    """What an operation did, with the engagement as it now stands (None when unknown)."""

    result: Result
    card: EngagementCard | None = None


def other_side(side: Side) -> Side:
    return "enterprise" if side == "specialist" else "specialist"


def voucher_usable(voucher: Voucher, confirmed_hours: float) -> int:
    """min(amount, confirmed hours / 8 × daily rate), in whole yuan rounded down."""
    earned = math.floor(confirmed_hours * voucher.daily_rate / HOURS_PER_DAY)
    return min(voucher.amount, earned)


# --- reading engagements ---------------------------------------------------------------


def _card_query() -> Any:
    owner = aliased(User)
    expert = aliased(User)
    return (
        select(Engagement, Demand, Enterprise, owner, Specialist, expert)
        .join(Demand, col(Demand.id) == col(Engagement.demand_id))
        .join(Enterprise, col(Enterprise.id) == col(Demand.enterprise_id))
        .join(owner, col(owner.id) == col(Enterprise.owner_user_id))
        .join(Specialist, col(Specialist.id) == col(Engagement.specialist_id))
        .join(expert, col(expert.id) == col(Specialist.user_id))
        # Read again after a guarded UPDATE in the same session: fresh values, not cached ones.
        .execution_options(populate_existing=True)
    )


def _party(user_id: int) -> Any:
    """Engagements the user takes part in, as the enterprise's owner or as the specialist."""
    return or_(
        col(Enterprise.owner_user_id) == user_id,
        col(Specialist.user_id) == user_id,
    )


async def _log_tallies(session: AsyncSession, ids: Sequence[int]) -> dict[int, tuple[float, int]]:
    """Per engagement: confirmed hours and entries still waiting for the enterprise."""
    if not ids:
        return {}
    rows = await session.execute(
        select(
            col(WorkLog.engagement_id),
            func.coalesce(
                func.sum(
                    case((col(WorkLog.status) == WorkLogStatus.CONFIRMED, col(WorkLog.hours)))
                ),
                0,
            ),
            func.count(case((col(WorkLog.status) == WorkLogStatus.PENDING, 1))),
        )
        .where(col(WorkLog.engagement_id).in_(ids))
        .group_by(col(WorkLog.engagement_id))
    )
    return {engagement_id: (float(hours), int(pending)) for engagement_id, hours, pending in rows}


async def _cards(session: AsyncSession, rows: Iterable[Any]) -> list[EngagementCard]:
    found = [tuple(row) for row in rows]
    ids = [row[0].id for row in found]
    tallies = await _log_tallies(session, ids)
    vouchers = {
        v.engagement_id: v
        for v in (
            await session.execute(select(Voucher).where(col(Voucher.engagement_id).in_(ids)))
        ).scalars()
    }
    cards = []
    for engagement, demand, enterprise, owner, specialist, expert in found:
        hours, pending = tallies.get(engagement.id, (0.0, 0))
        cards.append(
            EngagementCard(
                engagement,
                demand,
                enterprise,
                owner,
                specialist,
                expert,
                confirmed_hours=hours,
                pending_logs=pending,
                voucher=vouchers.get(engagement.id),
            )
        )
    return cards


async def _card(session: AsyncSession, engagement_id: int) -> EngagementCard | None:
    rows = await session.execute(_card_query().where(col(Engagement.id) == engagement_id))
    cards = await _cards(session, rows.all())
    return cards[0] if cards else None


async def engagement_card(*, db: Database, engagement_id: int) -> EngagementCard | None:
    """Any engagement, for coordinators and for messages the bot sends on its own."""
    async with db.transaction() as session:
        return await _card(session, engagement_id)


async def engagement_for(
    *, db: Database, engagement_id: int, user_id: int
) -> tuple[EngagementCard, Side] | None:
    """An engagement the user takes part in, and their side of it; None for anyone else."""
    async with db.transaction() as session:
        card = await _card(session, engagement_id)
    side = card.side_of(user_id) if card else None
    return (card, side) if card is not None and side is not None else None


async def list_engagements(
    *, db: Database, user_id: int, limit: int, offset: int = 0, active_only: bool = False
) -> tuple[int, list[EngagementCard]]:
    """How many engagements the user takes part in, and one page: active first, newest first."""
    where = [_party(user_id)]
    if active_only:
        where.append(col(Engagement.status) == EngagementStatus.ACTIVE)
    async with db.transaction() as session:
        total = (
            await session.execute(
                select(func.count())
                .select_from(Engagement)
                .join(Demand, col(Demand.id) == col(Engagement.demand_id))
                .join(Enterprise, col(Enterprise.id) == col(Demand.enterprise_id))
                .join(Specialist, col(Specialist.id) == col(Engagement.specialist_id))
                .where(*where)
            )
        ).scalar_one()
        rows = await session.execute(
            _card_query()
            .where(*where)
            .order_by(
                case((col(Engagement.status) == EngagementStatus.ACTIVE, 0), else_=1),
                col(Engagement.started_at).desc(),
                col(Engagement.id).desc(),
            )
            .limit(limit)
            .offset(offset)
        )
        return int(total), await _cards(session, rows.all())


async def engagement_of_demand(*, db: Database, demand_id: int, owner_user_id: int) -> int | None:
    """The engagement of one of the user's demands: the active one, else the latest."""
    async with db.transaction() as session:
        return (
            await session.execute(
                select(col(Engagement.id))
                .join(Demand, col(Demand.id) == col(Engagement.demand_id))
                .join(Enterprise, col(Enterprise.id) == col(Demand.enterprise_id))
                .where(
                    col(Demand.id) == demand_id,
                    col(Enterprise.owner_user_id) == owner_user_id,
                )
                .order_by(
                    case((col(Engagement.status) == EngagementStatus.ACTIVE, 0), else_=1),
                    col(Engagement.started_at).desc(),
                )
                .limit(1)
            )
        ).scalar_one_or_none()


async def recent_logs(
    *, db: Database, engagement_id: int, user_id: int, limit: int
) -> list[WorkLog]:
    """The newest work logs of an engagement the user takes part in."""
    async with db.transaction() as session:
        card = await _card(session, engagement_id)
        if card is None or card.side_of(user_id) is None:
            return []
        found = await session.execute(
            select(WorkLog)
            .where(col(WorkLog.engagement_id) == engagement_id)
            .order_by(col(WorkLog.work_date).desc(), col(WorkLog.id).desc())
            .limit(limit)
        )
        return list(found.scalars())


# --- contact details ----------------------------------------------------------------------


@dataclass(frozen=True)
class ContactExchange:
    """The user's active engagements whose contact details had not gone out before the call."""

    shared: list[EngagementCard]  # both sides agree: claimed now, to be sent to both
    waiting: list[EngagementCard]  # a side has not agreed yet


def _agrees_to_share(user_id: int | None) -> Any:
    return exists().where(
        col(User.id) == user_id,
        col(User.consent_at).is_not(None),
        col(User.contact_consent_at).is_not(None),
    )


async def lock_pending_exchanges(session: AsyncSession, user_id: int) -> None:
    """Lock the user's engagements whose contacts have not gone out, until the update ends.

    Call after changing the user's consent. Two sides agreeing at the same moment in two
    processes would otherwise each miss the other's uncommitted consent, and nothing would
    ever send the contacts; with the lock the later one waits, then sees the earlier one's
    consent. The same lock keeps a withdrawal from racing an exchange. Rows in id order, so
    two such updates cannot deadlock. (SQLite has one writer at a time and ignores it.)"""
    await session.execute(
        select(col(Engagement.id))
        .join(Demand, col(Demand.id) == col(Engagement.demand_id))
        .join(Enterprise, col(Enterprise.id) == col(Demand.enterprise_id))
        .join(Specialist, col(Specialist.id) == col(Engagement.specialist_id))
        .where(_party(user_id), ACTIVE, col(Engagement.contacts_shared_at).is_(None))
        .order_by(col(Engagement.id))
        .with_for_update(of=Engagement)
    )


async def claim_contact_exchanges(
    *, db: Database, user_id: int, now: dt.datetime, engagement_id: int | None = None
) -> ContactExchange:
    """Contact details not shared yet on the user's active engagements (or the one given): where
    both sides agree, the exchange is claimed now, to be sent by the caller.

    Each claim is one guarded UPDATE (`... WHERE contacts_shared_at IS NULL AND status =
    'active'` and both sides' consent), so a double press, a replay or a second process
    sends the contacts once."""
    async with db.transaction() as session:
        await lock_pending_exchanges(session, user_id)
        query = _card_query().where(
            _party(user_id), ACTIVE, col(Engagement.contacts_shared_at).is_(None)
        )
        if engagement_id is not None:
            query = query.where(col(Engagement.id) == engagement_id)
        pending = await _cards(session, (await session.execute(query)).all())
        shared, waiting = [], []
        for card in pending:
            claimed = await _guarded(
                session,
                card.id,
                ACTIVE,
                col(Engagement.contacts_shared_at).is_(None),
                _agrees_to_share(card.owner.id),
                _agrees_to_share(card.specialist_user.id),
                contacts_shared_at=now,
            )
            if not claimed:
                waiting.append(card)
                continue
            audit(
                session,
                now=now,
                actor_user_id=user_id,
                action="engagement.contacts_shared",
                target_type="engagement",
                target_id=card.id,
            )
            fresh = await _card(session, card.id)
            assert fresh is not None
            shared.append(fresh)
        return ContactExchange(shared, waiting)


async def claim_contact_reminder(*, db: Database, engagement_id: int, now: dt.datetime) -> bool:
    """May the side that has not agreed to share contacts be asked again? Once per engagement,
    and only while the contacts are still to go out."""
    async with db.transaction() as session:
        return await _guarded(
            session,
            engagement_id,
            ACTIVE,
            col(Engagement.contacts_shared_at).is_(None),
            col(Engagement.contacts_reminded_at).is_(None),
            contacts_reminded_at=now,
        )


# --- work logs --------------------------------------------------------------------------


@dataclass(frozen=True)
class NewWorkLog:
    work_date: dt.date
    mode: str  # onsite, remote
    hours: float
    summary: str


async def add_work_log(
    *,
    db: Database,
    engagement_id: int,
    specialist_user_id: int,
    entry: NewWorkLog,
    now: dt.datetime,
) -> tuple[WorkLog, EngagementCard] | None:
    """The specialist logs work on an active engagement of theirs; it waits for the enterprise.
    None when the engagement is not theirs or no longer active."""
    if entry.mode not in WORK_MODES or not 0 < entry.hours <= 24:
        raise ValueError(f"not a work log: {entry!r}")
    async with db.transaction() as session:
        card = await _card(session, engagement_id)
        if (
            card is None
            or card.specialist_user.id != specialist_user_id
            or card.engagement.status != EngagementStatus.ACTIVE
        ):
            return None
        log = WorkLog(
            engagement_id=engagement_id,
            work_date=entry.work_date,
            mode=entry.mode,
            hours=entry.hours,
            summary=entry.summary,
            status=WorkLogStatus.PENDING,
            created_at=now,
        )
        session.add(log)
        await session.flush()
        audit(
            session,
            now=now,
            actor_user_id=specialist_user_id,
            action="worklog.added",
            target_type="work_log",
            target_id=log.id,
            detail={"engagement": engagement_id, "hours": entry.hours},
        )
        return log, card


async def decide_work_log(
    *, db: Database, log_id: int, owner_user_id: int, confirm: bool, now: dt.datetime
) -> tuple[Result, WorkLog | None, EngagementCard | None]:
    """The enterprise confirms or disputes a pending entry; the first tap counts."""
    async with db.transaction() as session:
        log = await session.get(WorkLog, log_id)
        card = await _card(session, log.engagement_id) if log else None
        if log is None or card is None or card.owner.id != owner_user_id:
            return "unknown", None, None
        status = WorkLogStatus.CONFIRMED if confirm else WorkLogStatus.DISPUTED
        moved = await session.execute(
            update(WorkLog)
            .where(col(WorkLog.id) == log_id, col(WorkLog.status) == WorkLogStatus.PENDING)
            .values(status=status, decided_at=now)
            .execution_options(synchronize_session=False)
        )
        if not moved.rowcount:  # type: ignore[attr-defined]
            return "stale", log, card
        audit(
            session,
            now=now,
            actor_user_id=owner_user_id,
            action=f"worklog.{status.value}",
            target_type="work_log",
            target_id=log_id,
        )
        await session.refresh(log)
        return "done", log, await _card(session, log.engagement_id)


async def record_dispute_reason(
    *, db: Database, log_id: int, owner_user_id: int, reason: str
) -> EngagementCard | None:
    """Why the enterprise disputed its entry, kept once; None when the entry is not a
    disputed one of theirs, or its reason was given already."""
    async with db.transaction() as session:
        log = await session.get(WorkLog, log_id)
        card = await _card(session, log.engagement_id) if log else None
        if log is None or card is None or card.owner.id != owner_user_id:
            return None
        kept = await session.execute(
            update(WorkLog)
            .where(
                col(WorkLog.id) == log_id,
                col(WorkLog.status) == WorkLogStatus.DISPUTED,
                col(WorkLog.dispute_reason).is_(None),
            )
            .values(dispute_reason=reason)
            .execution_options(synchronize_session=False)
        )
        return card if kept.rowcount else None  # type: ignore[attr-defined]


# --- completion and cancellation --------------------------------------------------------


async def _guarded(
    session: AsyncSession,
    engagement_id: int,
    *conditions: Any,
    **values: Any,
) -> bool:
    result = await session.execute(
        update(Engagement)
        .where(col(Engagement.id) == engagement_id, *conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def _change(
    db: Database,
    engagement_id: int,
    user_id: int,
    now: dt.datetime,
    action: str,
    decide: Callable[[AsyncSession, Side], Awaitable[bool]],
) -> Change:
    """Find the user's side, apply `decide(session, side)` (a guarded update), audit it."""
    async with db.transaction() as session:
        card = await _card(session, engagement_id)
        side = card.side_of(user_id) if card else None
        if card is None or side is None:
            return Change("unknown")
        if not await decide(session, side):
            return Change("stale", card)
        audit(
            session,
            now=now,
            actor_user_id=user_id,
            action=action,
            target_type="engagement",
            target_id=engagement_id,
            detail={"side": side},
        )
        return Change("done", await _card(session, engagement_id))


async def propose_completion(
    *, db: Database, engagement_id: int, user_id: int, now: dt.datetime
) -> Change:
    """One side says the work is done; the other is asked to confirm."""

    async def decide(session: AsyncSession, side: Side) -> bool:
        return await _guarded(
            session,
            engagement_id,
            ACTIVE,
            col(Engagement.completion_proposed_by).is_(None),
            completion_proposed_by=side,
            completion_proposed_at=now,
        )

    return await _change(db, engagement_id, user_id, now, "engagement.propose_completion", decide)


async def answer_completion(
    *, db: Database, engagement_id: int, user_id: int, agree: bool, now: dt.datetime
) -> Change:
    """The other side confirms (completed) or says not yet (the proposal is dropped)."""

    async def decide(session: AsyncSession, side: Side) -> bool:
        proposed = [ACTIVE, col(Engagement.completion_proposed_by) == other_side(side)]
        if agree:
            values: dict[str, Any] = {"status": EngagementStatus.COMPLETED, "ended_at": now}
        else:
            values = {"completion_proposed_by": None, "completion_proposed_at": None}
        return await _guarded(session, engagement_id, *proposed, **values)

    action = "engagement.completed" if agree else "engagement.completion_declined"
    return await _change(db, engagement_id, user_id, now, action, decide)


async def cancel_engagement(
    *, db: Database, engagement_id: int, user_id: int, reason: str, now: dt.datetime
) -> Change:
    """Either side ends an active engagement with a reason; the demand is open to matching again
    (the enterprise closes it in /my_demands if it is no longer needed)."""
    if reason not in CANCEL_REASONS:
        raise ValueError(f"unknown cancel reason {reason!r}")

    async def decide(session: AsyncSession, side: Side) -> bool:
        cancelled = await _guarded(
            session,
            engagement_id,
            ACTIVE,
            status=EngagementStatus.CANCELLED,
            ended_at=now,
            end_reason=reason,
        )
        if cancelled:
            await session.execute(
                update(Demand)
                .where(
                    col(Demand.id)
                    == select(col(Engagement.demand_id))
                    .where(col(Engagement.id) == engagement_id)
                    .scalar_subquery(),
                    col(Demand.status) == DemandStatus.MATCHED,
                )
                .values(status=DemandStatus.OPEN, updated_at=now)
                .execution_options(synchronize_session=False)
            )
        return cancelled

    return await _change(db, engagement_id, user_id, now, f"engagement.cancelled.{reason}", decide)


async def rate_enterprise(
    *,
    db: Database,
    engagement_id: int,
    user_id: int,
    rating: int,
    now: dt.datetime,
    comment: str | None = None,
) -> Change:
    """The specialist rates the enterprise (and may say why) once the engagement is
    completed; once only."""
    if not 1 <= rating <= 5:
        raise ValueError(f"a rating is 1-5, not {rating}")

    async def decide(session: AsyncSession, side: Side) -> bool:
        return side == "specialist" and await _guarded(
            session,
            engagement_id,
            col(Engagement.status) == EngagementStatus.COMPLETED,
            col(Engagement.rating_of_enterprise).is_(None),
            rating_of_enterprise=rating,
            comment_on_enterprise=comment,
        )

    return await _change(db, engagement_id, user_id, now, "engagement.rated", decide)


async def record_outcome(
    *,
    db: Database,
    engagement_id: int,
    user_id: int,
    rating: int,
    outcome: str,
    results: Sequence[str],
    now: dt.datetime,
    comment: str | None = None,
) -> Change:
    """The enterprise rates the specialist (and may say why) and says what came of the
    work; once only."""
    if not 1 <= rating <= 5 or outcome not in OUTCOMES or not set(results) <= set(RESULTS):
        raise ValueError(f"not an outcome: {rating}, {outcome}, {results}")

    async def decide(session: AsyncSession, side: Side) -> bool:
        return side == "enterprise" and await _guarded(
            session,
            engagement_id,
            col(Engagement.status) == EngagementStatus.COMPLETED,
            col(Engagement.outcome).is_(None),
            rating_of_specialist=rating,
            comment_on_specialist=comment,
            outcome=outcome,
            results=[r for r in RESULTS if r in results],
            outcome_at=now,
        )

    return await _change(db, engagement_id, user_id, now, "engagement.outcome", decide)


# --- scheduled check-ins ----------------------------------------------------------------


async def claim_log_nudges(
    *, db: Database, quiet_since: dt.datetime, nudged_before: dt.datetime, now: dt.datetime
) -> list[tuple[EngagementCard, dt.datetime]]:
    """Active engagements begun before `quiet_since` with no work logged since then and not
    nudged since `nudged_before`, marked nudged now: a run that happens twice nudges once.
    Each with when it went silent: its last log, or its start when nothing was logged."""
    logged = exists().where(
        col(WorkLog.engagement_id) == col(Engagement.id),
        col(WorkLog.created_at) > quiet_since,
    )
    async with db.transaction() as session:
        claimed = await session.execute(
            update(Engagement)
            .where(
                ACTIVE,
                col(Engagement.started_at) <= quiet_since,
                ~logged,
                or_(
                    col(Engagement.log_nudged_at).is_(None),
                    col(Engagement.log_nudged_at) <= nudged_before,
                ),
            )
            .values(log_nudged_at=now)
            .returning(col(Engagement.id))
            .execution_options(synchronize_session=False)
        )
        ids = list(claimed.scalars())
        rows = await session.execute(
            _card_query().where(col(Engagement.id).in_(ids)).order_by(col(Engagement.id))
        )
        cards = await _cards(session, rows.all())
        last_logs = await session.execute(
            select(col(WorkLog.engagement_id), func.max(col(WorkLog.created_at)))
            .where(col(WorkLog.engagement_id).in_(ids))
            .group_by(col(WorkLog.engagement_id))
        )
        last: dict[int, dt.datetime] = dict(last_logs.tuples().all())
        return [(card, last.get(card.id, card.engagement.started_at)) for card in cards]


async def due_for_checkin(*, db: Database, month: str, started_before: dt.datetime) -> list[int]:
    """Active engagements begun before `started_before` whose enterprise was not yet asked
    this month."""
    asked = exists().where(
        col(EngagementCheckin.engagement_id) == col(Engagement.id),
        col(EngagementCheckin.month) == month,
    )
    async with db.transaction() as session:
        found = await session.execute(
            select(col(Engagement.id))
            .where(ACTIVE, col(Engagement.started_at) < started_before, ~asked)
            .order_by(col(Engagement.id))
        )
        return [engagement_id for engagement_id in found.scalars() if engagement_id is not None]


async def claim_checkin(
    *, db: Database, engagement_id: int, month: str, now: dt.datetime
) -> tuple[int, EngagementCard] | None:
    """Record that this month's question goes to the enterprise; None if it already went
    (this run, an earlier one, another process) or the engagement is no longer active."""
    try:
        async with db.transaction(savepoint=True) as session:
            card = await _card(session, engagement_id)
            if card is None or card.engagement.status != EngagementStatus.ACTIVE:
                return None
            checkin = EngagementCheckin(engagement_id=engagement_id, month=month, asked_at=now)
            session.add(checkin)
            await session.flush()
            assert checkin.id is not None
            return checkin.id, card
    except IntegrityError:
        return None


async def answer_checkin(
    *, db: Database, checkin_id: int, owner_user_id: int, answer: str, now: dt.datetime
) -> tuple[Result, EngagementCard | None]:
    """The enterprise's one-tap answer; the first one counts."""
    if answer not in CHECKIN_ANSWERS:
        raise ValueError(f"unknown check-in answer {answer!r}")
    async with db.transaction() as session:
        checkin = await session.get(EngagementCheckin, checkin_id)
        card = await _card(session, checkin.engagement_id) if checkin else None
        if checkin is None or card is None or card.owner.id != owner_user_id:
            return "unknown", None
        answered = await session.execute(
            update(EngagementCheckin)
            .where(
                col(EngagementCheckin.id) == checkin_id,
                col(EngagementCheckin.answered_at).is_(None),
            )
            .values(answered_at=now, answer=answer)
            .execution_options(synchronize_session=False)
        )
        if not answered.rowcount:  # type: ignore[attr-defined]
            return "stale", card
        audit(
            session,
            now=now,
            actor_user_id=owner_user_id,
            action="engagement.checkin",
            target_type="engagement",
            target_id=card.id,
            detail={"answer": answer},
        )
        return "done", card


@dataclass(frozen=True)
class TroubledEngagement:
    """An enterprise said the work is not going well: for the coordinators' digest."""

    engagement_id: int
    status: str  # the engagement's status now
    answer: str
    answered_at: dt.datetime
    demand_title: str
    enterprise_name: str
    enterprise_city: str  # a taxonomy city code, or the name as typed
    specialist_name: str
    institution: str


async def troubled_engagements(
    *, db: Database, since: dt.datetime, answers: Sequence[str] = ("no",)
) -> list[TroubledEngagement]:
    """Monthly check-in answers `no` (or the given ones) given since `since`, oldest first."""
    async with db.transaction() as session:
        rows = await session.execute(
            select(
                EngagementCheckin,
                col(Engagement.status),
                col(Demand.title),
                col(Enterprise.name),
                col(Enterprise.city),
                col(Specialist.name),
                col(Specialist.institution),
            )
            .join(Engagement, col(Engagement.id) == col(EngagementCheckin.engagement_id))
            .join(Demand, col(Demand.id) == col(Engagement.demand_id))
            .join(Enterprise, col(Enterprise.id) == col(Demand.enterprise_id))
            .join(Specialist, col(Specialist.id) == col(Engagement.specialist_id))
            .where(
                col(EngagementCheckin.answer).in_(list(answers)),
                col(EngagementCheckin.answered_at) >= since,
            )
            .order_by(col(EngagementCheckin.answered_at), col(EngagementCheckin.id))
        )
        troubled = []
        for checkin, status, title, enterprise, city, specialist, institution in rows:
            assert checkin.answer is not None and checkin.answered_at is not None
            troubled.append(
                TroubledEngagement(
                    checkin.engagement_id,
                    status,
                    checkin.answer,
                    checkin.answered_at,
                    title,
                    enterprise,
                    city,
                    specialist,
                    institution,
                )
            )
        return troubled


# --- innovation vouchers ----------------------------------------------------------------


async def record_voucher(
    *,
    db: Database,
    engagement_id: int,
    amount: int,
    purpose: str,
    daily_rate: int,
    coordinator_user_id: int,
    now: dt.datetime,
) -> tuple[Literal["done", "exists", "unknown"], EngagementCard | None]:
    """A coordinator records the voucher of an active or completed engagement (one each)."""
    if amount <= 0 or daily_rate <= 0:
        raise ValueError("a voucher's amount and daily rate are positive")
    try:
        async with db.transaction(savepoint=True) as session:
            card = await _card(session, engagement_id)
            if card is None or card.engagement.status == EngagementStatus.CANCELLED:
                return "unknown", card
            if card.voucher is not None:
                return "exists", card
            voucher = Voucher(
                engagement_id=engagement_id,
                amount=amount,
                purpose=purpose,
                daily_rate=daily_rate,
                recorded_by_user_id=coordinator_user_id,
                recorded_at=now,
            )
            session.add(voucher)
            await session.flush()
            audit(
                session,
                now=now,
                actor_user_id=coordinator_user_id,
                action="voucher.recorded",
                target_type="voucher",
                target_id=voucher.id,
                detail={"engagement": engagement_id, "amount": amount},
            )
            return "done", await _card(session, engagement_id)
    except IntegrityError:  # recorded meanwhile by another coordinator
        return "exists", await engagement_card(db=db, engagement_id=engagement_id)


@dataclass(frozen=True)
class VoucherLine:
    """One voucher with where it went, for /export."""

    voucher: Voucher
    engagement_status: str
    demand_title: str
    enterprise_id: int
    enterprise_name: str
    city: str  # a taxonomy city code, or the name as typed
    specialist_name: str
    institution: str
    confirmed_hours: float

    @property
    def service_days(self) -> float:
        return self.confirmed_hours / HOURS_PER_DAY

    @property
    def usable(self) -> int:
        return voucher_usable(self.voucher, self.confirmed_hours)


@dataclass(frozen=True)
class VoucherTotal:
    """Vouchers summed over a group: an engagement, an enterprise, a city or an institution."""

    key: str  # engagement or enterprise id, city code, institution name
    label: str  # the demand title, the enterprise name, the city code, the institution
    vouchers: int
    amount: int
    usable: int
    service_days: float


async def voucher_lines(*, db: Database) -> list[VoucherLine]:
    """Every voucher with its engagement, enterprise, city, institution and usable amount."""
    async with db.transaction() as session:
        rows = await session.execute(
            select(
                Voucher,
                col(Engagement.status),
                col(Demand.title),
                col(Enterprise.id),
                col(Enterprise.name),
                col(Enterprise.city),
                col(Specialist.name),
                col(Specialist.institution),
            )
            .join(Engagement, col(Engagement.id) == col(Voucher.engagement_id))
            .join(Demand, col(Demand.id) == col(Engagement.demand_id))
            .join(Enterprise, col(Enterprise.id) == col(Demand.enterprise_id))
            .join(Specialist, col(Specialist.id) == col(Engagement.specialist_id))
            .order_by(col(Voucher.id))
        )
        found = list(rows.tuples())
        tallies = await _log_tallies(session, [row[0].engagement_id for row in found])
    return [
        VoucherLine(
            voucher,
            status,
            title,
            enterprise_id or 0,
            enterprise,
            city,
            expert,
            institution,
            confirmed_hours=tallies.get(voucher.engagement_id, (0.0, 0))[0],
        )
        for voucher, status, title, enterprise_id, enterprise, city, expert, institution in found
    ]


def _group(line: VoucherLine, by: VoucherGrouping) -> tuple[str, str]:
    if by == "engagement":
        return str(line.voucher.engagement_id), line.demand_title
    if by == "enterprise":
        return str(line.enterprise_id), line.enterprise_name
    if by == "city":
        return line.city, line.city
    return line.institution, line.institution


async def voucher_totals(*, db: Database, by: VoucherGrouping) -> list[VoucherTotal]:
    """Vouchers per engagement, enterprise, city or institution, largest amount first."""
    return group_vouchers(await voucher_lines(db=db), by=by)


def group_vouchers(lines: Iterable[VoucherLine], *, by: VoucherGrouping) -> list[VoucherTotal]:
    """voucher_totals of lines already read, so one read serves several groupings."""
    groups: dict[str, list[VoucherLine]] = {}
    labels: dict[str, str] = {}
    for line in lines:
        key, label = _group(line, by)
        groups.setdefault(key, []).append(line)
        labels[key] = label
    totals = [
        VoucherTotal(
            key=key,
            label=labels[key],
            vouchers=len(lines),
            amount=sum(line.voucher.amount for line in lines),
            usable=sum(line.usable for line in lines),
            service_days=sum(line.service_days for line in lines),
        )
        for key, lines in groups.items()
    ]
    return sorted(totals, key=lambda t: (-t.amount, t.key))


# --- dispatching units and programme figures --------------------------------------------


@dataclass(frozen=True)
class UnitFigures:
    """What one dispatching unit (university, institute, agency) has done so far."""

    institution: str
    specialists: int  # approved, in the pool
    dispatched: int  # with at least one active or completed engagement
    active: int
    completed: int
    service_days: float  # confirmed hours / 8
    average_rating: float | None  # the enterprises' ratings of its specialists, 1-5
    ratings: int
    parts: tuple[str, ...] = ()  # schools, departments, labs counted in, as typed

    def __add__(self, other: UnitFigures) -> UnitFigures:
        ratings = self.ratings + other.ratings
        rated = [(u.average_rating, u.ratings) for u in (self, other) if u.average_rating]
        return UnitFigures(
            institution=self.institution,
            specialists=self.specialists + other.specialists,
            dispatched=self.dispatched + other.dispatched,
            active=self.active + other.active,
            completed=self.completed + other.completed,
            service_days=self.service_days + other.service_days,
            average_rating=sum(a * n for a, n in rated) / ratings if ratings else None,
            ratings=ratings,
            parts=tuple(sorted({*self.parts, *other.parts})),
        )


async def unit_figures(*, db: Database) -> list[UnitFigures]:
    """Per dispatching unit (a school or department counts for its university or
    institute: storage.institutions); most confirmed service days first."""
    institution = col(Specialist.institution)
    served = col(Engagement.status).in_([EngagementStatus.ACTIVE, EngagementStatus.COMPLETED])
    async with db.transaction() as session:
        pool = dict(
            (
                await session.execute(
                    select(institution, func.count())
                    .where(col(Specialist.status) == SpecialistStatus.APPROVED)
                    .group_by(institution)
                )
            )
            .tuples()
            .all()
        )
        engagements = await session.execute(
            select(
                institution,
                func.count(func.distinct(case((served, col(Specialist.id))))),
                func.count(case((ACTIVE, 1))),
                func.count(case((col(Engagement.status) == EngagementStatus.COMPLETED, 1))),
                func.avg(col(Engagement.rating_of_specialist)),
                func.count(col(Engagement.rating_of_specialist)),
            )
            .join(Engagement, col(Engagement.specialist_id) == col(Specialist.id))
            .group_by(institution)
        )
        hours = dict(
            (
                await session.execute(
                    select(institution, func.sum(col(WorkLog.hours)))
                    .join(Engagement, col(Engagement.specialist_id) == col(Specialist.id))
                    .join(WorkLog, col(WorkLog.engagement_id) == col(Engagement.id))
                    .where(col(WorkLog.status) == WorkLogStatus.CONFIRMED)
                    .group_by(institution)
                )
            )
            .tuples()
            .all()
        )
        figures: dict[str, UnitFigures] = {
            name: UnitFigures(name, count, 0, 0, 0, 0.0, None, 0) for name, count in pool.items()
        }
        for name, dispatched, active, completed, average, rated in engagements:
            figures[name] = UnitFigures(
                institution=name,
                specialists=pool.get(name, 0),
                dispatched=int(dispatched),
                active=int(active),
                completed=int(completed),
                service_days=0.0,
                average_rating=float(average) if average is not None else None,
                ratings=int(rated),
            )
    units: dict[str, UnitFigures] = {}
    for name, spelled in figures.items():
        unit = dispatching_unit(name)
        counted = dataclasses.replace(
            spelled,
            institution=unit,
            service_days=float(hours.get(name) or 0) / HOURS_PER_DAY,
            # the unit's own name in another language is no part of it
            parts=() if name == unit or listed_institution(name) else (name,),
        )
        units[unit] = units[unit] + counted if unit in units else counted
    return sorted(
        units.values(),
        key=lambda u: (-u.service_days, -u.dispatched, -u.specialists, u.institution),
    )


@dataclass(frozen=True)
class EngagementFigures:
    """Programme-wide engagement figures for /stats and the digest."""

    by_status: dict[str, int]  # active, completed, cancelled
    service_days: float  # confirmed hours / 8
    logs_pending: int
    logs_disputed: int
    average_rating_of_specialists: float | None
    average_rating_of_enterprises: float | None
    outcomes: dict[str, int]  # solved, partly, not_solved
    results: dict[str, int]  # new_product, patent, rd_platform, trained


async def engagement_figures(*, db: Database) -> EngagementFigures:
    async with db.transaction() as session:
        by_status = {status.value: 0 for status in EngagementStatus}
        by_status.update(
            (
                await session.execute(
                    select(col(Engagement.status), func.count()).group_by(col(Engagement.status))
                )
            )
            .tuples()
            .all()
        )
        logs = dict(
            (
                await session.execute(
                    select(col(WorkLog.status), func.count()).group_by(col(WorkLog.status))
                )
            )
            .tuples()
            .all()
        )
        hours = (
            await session.execute(
                select(func.coalesce(func.sum(col(WorkLog.hours)), 0)).where(
                    col(WorkLog.status) == WorkLogStatus.CONFIRMED
                )
            )
        ).scalar_one()
        of_specialists, of_enterprises = (
            await session.execute(
                select(
                    func.avg(col(Engagement.rating_of_specialist)),
                    func.avg(col(Engagement.rating_of_enterprise)),
                )
            )
        ).one()
        outcomes = dict.fromkeys(OUTCOMES, 0)
        results = dict.fromkeys(RESULTS, 0)
        for outcome, chosen in await session.execute(
            select(col(Engagement.outcome), col(Engagement.results)).where(
                col(Engagement.outcome).is_not(None)
            )
        ):
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            for result in chosen or []:
                results[result] = results.get(result, 0) + 1
    return EngagementFigures(
        by_status=by_status,
        service_days=float(hours) / HOURS_PER_DAY,
        logs_pending=logs.get(WorkLogStatus.PENDING.value, 0),
        logs_disputed=logs.get(WorkLogStatus.DISPUTED.value, 0),
        average_rating_of_specialists=_mean(of_specialists),
        average_rating_of_enterprises=_mean(of_enterprises),
        outcomes=outcomes,
        results=results,
    )


def _mean(value: Any) -> float | None:
    return float(value) if value is not None else None

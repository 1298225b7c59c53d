"""Operations on specialists: their profile, coordinators' decisions, their own
availability, and the monthly "still available?" check.

Every change of status is one guarded UPDATE (`... WHERE status = <expected>`),
so a double tap, two coordinators pressing at once or two bot processes apply
it once; coordinators' decisions write their audit row in the same transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import and_, distinct, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from storage.audit import audit
from storage.db import Database
from storage.models import AvailabilityCheck, Specialist, SpecialistStatus, User

Decision = Literal["approve", "reject", "suspend", "reinstate"]
TRANSITIONS: dict[Decision, tuple[SpecialistStatus, SpecialistStatus]] = {
    "approve": (SpecialistStatus.PENDING, SpecialistStatus.APPROVED),
    "reject": (SpecialistStatus.PENDING, SpecialistStatus.REJECTED),
    "suspend": (SpecialistStatus.APPROVED, SpecialistStatus.SUSPENDED),
    "reinstate": (SpecialistStatus.SUSPENDED, SpecialistStatus.APPROVED),
}
# Reasons coordinators pick with a button; anything else they type is kept as text.
REJECT_REASONS = ("incomplete", "unverifiable", "out_of_scope", "duplicate")
CheckAnswerKind = Literal["available", "pause", "leave"]
KNOWN_INSTITUTIONS_LIMIT = 20_000


@dataclass(frozen=True)
class SpecialistProfile:
    """What a specialist tells about themselves: every column they may edit."""

    name: str
    institution: str
    institution_type: str
    location: str
    title: str
    disciplines: list[str]
    expertise: str
    keywords: list[str]
    team: list[dict[str, str]]
    cities: list[str]
    remote_only: bool
    days_per_month: int
    available_from: dt.date | None
    available_to: dt.date | None
    capacity: int
    phone: str


@dataclass(frozen=True)
class SavedProfile:
    specialist: Specialist
    created: bool
    needs_review: bool  # pending after this save, with something new for coordinators to see
    changed: tuple[str, ...]


@dataclass(frozen=True)
class CheckRecipient:
    check_id: int
    user_id: int
    locale: str | None


@dataclass(frozen=True)
class CheckAnswer:
    outcome: Literal["answered", "already", "stale", "unknown"]
    specialist: Specialist | None = None


def _own(user_id: int) -> Any:
    return col(Specialist.user_id) == user_id


async def get_specialist(*, db: Database, user_id: int) -> Specialist | None:
    async with db.transaction() as session:
        return (await session.execute(select(Specialist).where(_own(user_id)))).scalar_one_or_none()


async def specialist_and_user(
    *, db: Database, specialist_id: int
) -> tuple[Specialist, User] | None:
    """A specialist with their user record (chat and language), for telling them something."""
    async with db.transaction() as session:
        return await _with_user(session, specialist_id)


async def _with_user(session: AsyncSession, specialist_id: int) -> tuple[Specialist, User] | None:
    row = (
        await session.execute(
            select(Specialist, User)
            .join(User, col(User.id) == col(Specialist.user_id))
            .where(col(Specialist.id) == specialist_id)
        )
    ).one_or_none()
    return (row[0], row[1]) if row else None


async def known_institutions(*, db: Database) -> list[str]:
    """Institutions as already spelled by specialists (rejected ones aside), for suggestions."""
    async with db.transaction() as session:
        found = await session.execute(
            select(distinct(col(Specialist.institution)))
            .where(col(Specialist.status) != SpecialistStatus.REJECTED)
            .order_by(col(Specialist.institution))
            .limit(KNOWN_INSTITUTIONS_LIMIT)
        )
        return list(found.scalars())


async def save_specialist(
    *, db: Database, user_id: int, profile: SpecialistProfile, now: dt.datetime
) -> SavedProfile:
    """Register (pending) or update a profile.

    An edit keeps the status a coordinator gave: an approved specialist keeping
    their availability or expertise current stays approved. A rejected one who
    edits is submitted again (pending).
    """
    values = dataclasses.asdict(profile)
    async with db.transaction() as session:
        specialist = (
            await session.execute(select(Specialist).where(_own(user_id)))
        ).scalar_one_or_none()
        if specialist is None:
            specialist = Specialist(user_id=user_id, created_at=now, updated_at=now, **values)
            session.add(specialist)
            await session.flush()
            audit(
                session,
                now=now,
                actor_user_id=user_id,
                action="specialist.register",
                target_type="specialist",
                target_id=specialist.id,
            )
            return SavedProfile(specialist, True, True, tuple(values))
        changed = tuple(
            name for name, value in values.items() if getattr(specialist, name) != value
        )
        for name in changed:
            setattr(specialist, name, values[name])
        resubmitted = specialist.status == SpecialistStatus.REJECTED
        if resubmitted:
            specialist.status, specialist.status_reason = SpecialistStatus.PENDING, None
        specialist.updated_at = now
        audit(
            session,
            now=now,
            actor_user_id=user_id,
            action="specialist.resubmit" if resubmitted else "specialist.update",
            target_type="specialist",
            target_id=specialist.id,
            detail={"fields": list(changed)},
        )
        await session.flush()
        review = resubmitted or (specialist.status == SpecialistStatus.PENDING and bool(changed))
        return SavedProfile(specialist, False, review, changed)


async def decide_specialist(
    *,
    db: Database,
    specialist_id: int,
    coordinator_user_id: int,
    decision: Decision,
    now: dt.datetime,
    reason: str | None = None,
) -> tuple[Specialist, User] | None:
    """Apply a coordinator's decision if the status still allows it; None when it does not."""
    before, after = TRANSITIONS[decision]
    async with db.transaction() as session:
        result = await session.execute(
            update(Specialist)
            .where(col(Specialist.id) == specialist_id, col(Specialist.status) == before)
            .values(status=after, status_reason=reason, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        detail: dict[str, Any] = {"from": before.value, "to": after.value}
        if reason is not None:  # codes only: a typed reason is personal text
            detail["reason"] = reason if reason in REJECT_REASONS else "typed"
        audit(
            session,
            now=now,
            actor_user_id=coordinator_user_id,
            action=f"specialist.{decision}",
            target_type="specialist",
            target_id=specialist_id,
            detail=detail,
        )
        return await _with_user(session, specialist_id)


async def _oldest_with(*, db: Database, where: Any, limit: int) -> tuple[list[Specialist], int]:
    async with db.transaction() as session:
        total = (
            await session.execute(select(func.count()).select_from(Specialist).where(where))
        ).scalar_one()
        found = await session.execute(
            select(Specialist)
            .where(where)
            .order_by(col(Specialist.created_at), col(Specialist.id))
            .limit(limit)
        )
        return list(found.scalars()), int(total)


async def pending_specialists(*, db: Database, limit: int) -> tuple[list[Specialist], int]:
    """The oldest registrations waiting for a coordinator, and how many wait in all."""
    return await _oldest_with(
        db=db, where=col(Specialist.status) == SpecialistStatus.PENDING, limit=limit
    )


async def not_responding_specialists(*, db: Database, limit: int) -> tuple[list[Specialist], int]:
    """Approved specialists who left a monthly check unanswered, and how many in all."""
    return await _oldest_with(
        db=db,
        where=and_(
            col(Specialist.status) == SpecialistStatus.APPROVED,
            col(Specialist.not_responding_since).is_not(None),
        ),
        limit=limit,
    )


# --- the specialist's own availability --------------------------------------------------


async def _update_own(
    db: Database, user_id: int, now: dt.datetime, values: dict[str, Any], *conditions: Any
) -> Specialist | None:
    """Change the acting user's own record; telling availability counts as responding."""
    async with db.transaction() as session:
        result = await session.execute(
            update(Specialist)
            .where(_own(user_id), *conditions)
            .values(**values, not_responding_since=None, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return (await session.execute(select(Specialist).where(_own(user_id)))).scalar_one()


async def pause_specialist(
    *, db: Database, user_id: int, until: dt.date | None, now: dt.datetime
) -> Specialist | None:
    """Pause proposals until a date (available again from that day); None resumes."""
    return await _update_own(db, user_id, now, {"paused_until": until})


async def set_capacity(
    *, db: Database, user_id: int, capacity: int, now: dt.datetime
) -> Specialist | None:
    return await _update_own(db, user_id, now, {"capacity": capacity})


async def set_days_per_month(
    *, db: Database, user_id: int, days: int, now: dt.datetime
) -> Specialist | None:
    return await _update_own(db, user_id, now, {"days_per_month": days})


async def return_to_programme(*, db: Database, user_id: int, now: dt.datetime) -> Specialist | None:
    """A specialist who said "no longer available" comes back: approved again, as vetted before."""
    return await _update_own(
        db,
        user_id,
        now,
        {"status": SpecialistStatus.APPROVED, "paused_until": None},
        col(Specialist.status) == SpecialistStatus.WITHDRAWN,
    )


# --- the monthly check ------------------------------------------------------------------


async def due_for_check(
    *, db: Database, month: str, registered_before: dt.datetime, today: dt.date
) -> list[int]:
    """Approved specialists not yet asked this month, registered before the check day and
    not paused beyond today."""
    asked = exists().where(
        col(AvailabilityCheck.specialist_id) == col(Specialist.id),
        col(AvailabilityCheck.month) == month,
    )
    async with db.transaction() as session:
        found = await session.execute(
            select(col(Specialist.id))
            .where(
                col(Specialist.status) == SpecialistStatus.APPROVED,
                col(Specialist.created_at) < registered_before,
                or_(col(Specialist.paused_until).is_(None), col(Specialist.paused_until) <= today),
                ~asked,
            )
            .order_by(col(Specialist.id))
        )
        return [specialist_id for specialist_id in found.scalars() if specialist_id is not None]


async def claim_check(
    *, db: Database, specialist_id: int, month: str, now: dt.datetime
) -> CheckRecipient | None:
    """Record that this month's question goes to a specialist; None if it already went
    (in this run, an earlier one, or another process) or they are no longer approved."""
    try:
        async with db.transaction(savepoint=True) as session:
            found = await _with_user(session, specialist_id)
            if found is None or found[0].status != SpecialistStatus.APPROVED:
                return None
            check = AvailabilityCheck(specialist_id=specialist_id, month=month, asked_at=now)
            session.add(check)
            await session.flush()
            assert check.id is not None
            return CheckRecipient(check.id, found[1].id or 0, found[1].locale)
    except IntegrityError:
        return None


async def answer_check(
    *,
    db: Database,
    check_id: int,
    user_id: int,
    answer: CheckAnswerKind,
    pause_until: dt.date,
    now: dt.datetime,
) -> CheckAnswer:
    """The specialist's one-tap answer to their latest check; the first answer counts.

    available: nothing else changes; pause: paused until `pause_until`; leave: an
    approved specialist becomes withdrawn (nothing is deleted). Any answer clears
    "not responding".
    """
    async with db.transaction() as session:
        row = (
            await session.execute(
                select(AvailabilityCheck, Specialist)
                .join(Specialist, col(Specialist.id) == col(AvailabilityCheck.specialist_id))
                .where(col(AvailabilityCheck.id) == check_id, _own(user_id))
            )
        ).one_or_none()
        if row is None:
            return CheckAnswer("unknown")
        check, specialist = row
        latest = (
            await session.execute(
                select(col(AvailabilityCheck.id))
                .where(col(AvailabilityCheck.specialist_id) == specialist.id)
                .order_by(col(AvailabilityCheck.month).desc())
                .limit(1)
            )
        ).scalar_one()
        if latest != check.id:
            return CheckAnswer("stale", specialist)
        result = await session.execute(
            update(AvailabilityCheck)
            .where(
                col(AvailabilityCheck.id) == check_id, col(AvailabilityCheck.answered_at).is_(None)
            )
            .values(answered_at=now, answer=answer)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return CheckAnswer("already", specialist)
        values: dict[str, Any] = {"not_responding_since": None, "updated_at": now}
        if answer == "pause":
            values["paused_until"] = pause_until
        await session.execute(
            update(Specialist)
            .where(col(Specialist.id) == specialist.id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if answer == "leave":
            await session.execute(
                update(Specialist)
                .where(
                    col(Specialist.id) == specialist.id,
                    col(Specialist.status) == SpecialistStatus.APPROVED,
                )
                .values(status=SpecialistStatus.WITHDRAWN)
                .execution_options(synchronize_session=False)
            )
        audit(
            session,
            now=now,
            actor_user_id=user_id,
            action="specialist.checkin",
            target_type="specialist",
            target_id=specialist.id,
            detail={"answer": answer},
        )
        await session.refresh(specialist)
        return CheckAnswer("answered", specialist)


async def mark_not_responding(
    *, db: Database, asked_before: dt.datetime, now: dt.datetime
) -> list[Specialist]:
    """Mark approved specialists whose latest check, asked before `asked_before`, is still
    unanswered; returns only those this call marked (each is marked once)."""
    latest = (
        select(
            col(AvailabilityCheck.specialist_id).label("specialist_id"),
            func.max(col(AvailabilityCheck.month)).label("month"),
        )
        .group_by(col(AvailabilityCheck.specialist_id))
        .subquery()
    )
    unanswered = (
        select(col(AvailabilityCheck.specialist_id))
        .join(
            latest,
            and_(
                col(AvailabilityCheck.specialist_id) == latest.c.specialist_id,
                col(AvailabilityCheck.month) == latest.c.month,
            ),
        )
        .where(
            col(AvailabilityCheck.answered_at).is_(None),
            col(AvailabilityCheck.asked_at) <= asked_before,
        )
    )
    async with db.transaction() as session:
        marked = await session.execute(
            update(Specialist)
            .where(
                col(Specialist.id).in_(unanswered),
                col(Specialist.not_responding_since).is_(None),
                col(Specialist.status) == SpecialistStatus.APPROVED,
            )
            .values(not_responding_since=now)
            .returning(col(Specialist.id))
            .execution_options(synchronize_session=False)
        )
        ids = list(marked.scalars())
        if not ids:
            return []
        found = await session.execute(
            select(Specialist).where(col(Specialist.id).in_(ids)).order_by(col(Specialist.id))
        )
        return list(found.scalars())

"""The proposal life cycle of DESIGN.md, one guarded transaction per transition.

    proposed -> accepted -> selected (engagement created)
             -> declined(reason)      accepted -> not_selected
             -> expired (no answer)   any open -> withdrawn (demand closed)

Every transition is an UPDATE ... WHERE id = ? AND status IN (...) AND
version = ?, checked by its row count, so a double tap, a replayed button or
two bot processes apply it exactly once; `version` rises with each change so a
button printed for an older state is recognised as stale.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from storage.db import Database, conflict_insert
from storage.models import (
    Demand,
    DemandStatus,
    Engagement,
    Enterprise,
    Proposal,
    ProposalStatus,
    Specialist,
    User,
)

OPEN = (ProposalStatus.PROPOSED, ProposalStatus.ACCEPTED)


class Outcome(StrEnum):
    DONE = "done"
    STALE = "stale"  # the proposal moved on (or never existed): nothing changed
    FORBIDDEN = "forbidden"  # the actor has no say over this proposal


@dataclass(frozen=True)
class NewProposal:
    demand_id: int
    specialist_id: int
    score: float
    reasons: list[dict[str, Any]]


@dataclass(frozen=True)
class Selection:
    """What choosing a candidate changed, for the messages that follow."""

    outcome: Outcome
    engagement: Engagement | None = None
    released: tuple[Proposal, ...] = ()


async def create_proposals(
    *, db: Database, proposals: Iterable[NewProposal], now: dt.datetime
) -> list[Proposal]:
    """Insert new pairs; a pair that already exists (in any state) is left alone."""
    rows = [
        {
            "demand_id": p.demand_id,
            "specialist_id": p.specialist_id,
            "score": p.score,
            "reasons": p.reasons,
            "status": ProposalStatus.PROPOSED.value,
            "version": 1,
            "proposed_at": now,
        }
        for p in proposals
    ]
    if not rows:
        return []
    async with db.transaction() as session:
        insert = conflict_insert(session.bind.dialect.name)
        statement = (
            insert(Proposal)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["demand_id", "specialist_id"])
            .returning(col(Proposal.id))
        )
        ids = list((await session.execute(statement)).scalars())
        found = await session.execute(select(Proposal).where(col(Proposal.id).in_(ids)))
        return sorted(found.scalars(), key=lambda p: p.id or 0)


async def get_proposal(*, db: Database, proposal_id: int) -> Proposal | None:
    async with db.transaction() as session:
        return await session.get(Proposal, proposal_id)


async def _move(
    session: AsyncSession,
    *,
    proposal_id: int,
    version: int | None,
    from_states: Sequence[ProposalStatus],
    to_state: ProposalStatus,
    **values: Any,
) -> bool:
    """The guarded UPDATE every transition goes through; True when this call won."""
    statement = (
        update(Proposal)
        .where(col(Proposal.id) == proposal_id)
        .where(col(Proposal.status).in_([s.value for s in from_states]))
        .values(status=to_state.value, version=Proposal.version + 1, **values)
    )
    if version is not None:
        statement = statement.where(col(Proposal.version) == version)
    result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def _owned_by_specialist(session: AsyncSession, proposal_id: int, specialist_id: int) -> bool:
    owner = await session.execute(
        select(col(Proposal.specialist_id)).where(col(Proposal.id) == proposal_id)
    )
    return owner.scalar_one_or_none() == specialist_id


async def _owned_by_enterprise(session: AsyncSession, proposal_id: int, enterprise_id: int) -> bool:
    owner = await session.execute(
        select(col(Demand.enterprise_id))
        .join(Proposal, col(Proposal.demand_id) == col(Demand.id))
        .where(col(Proposal.id) == proposal_id)
    )
    return owner.scalar_one_or_none() == enterprise_id


async def _answer(
    *,
    db: Database,
    proposal_id: int,
    version: int,
    owns: Callable[[AsyncSession], Awaitable[bool]],
    from_state: ProposalStatus,
    to_state: ProposalStatus,
    **values: Any,
) -> Outcome:
    """A side's answer: allowed only to that side, applied only to the version it saw."""
    async with db.transaction() as session:
        if not await owns(session):
            return Outcome.FORBIDDEN
        moved = await _move(
            session,
            proposal_id=proposal_id,
            version=version,
            from_states=(from_state,),
            to_state=to_state,
            **values,
        )
        return Outcome.DONE if moved else Outcome.STALE


async def accept_proposal(
    *, db: Database, proposal_id: int, version: int, specialist_id: int, now: dt.datetime
) -> Outcome:
    """The specialist says yes; only while the proposal is still proposed."""
    return await _answer(
        db=db,
        proposal_id=proposal_id,
        version=version,
        owns=lambda session: _owned_by_specialist(session, proposal_id, specialist_id),
        from_state=ProposalStatus.PROPOSED,
        to_state=ProposalStatus.ACCEPTED,
        answered_at=now,
    )


async def decline_proposal(
    *,
    db: Database,
    proposal_id: int,
    version: int,
    specialist_id: int,
    reason: str,
    text: str | None,
    now: dt.datetime,
) -> Outcome:
    """The specialist says no, with a reason later rounds respect."""
    return await _answer(
        db=db,
        proposal_id=proposal_id,
        version=version,
        owns=lambda session: _owned_by_specialist(session, proposal_id, specialist_id),
        from_state=ProposalStatus.PROPOSED,
        to_state=ProposalStatus.DECLINED,
        answered_at=now,
        decline_reason=reason,
        decline_text=(text or None),
    )


async def reject_candidate(
    *, db: Database, proposal_id: int, version: int, enterprise_id: int, now: dt.datetime
) -> Outcome:
    """The enterprise finds an accepted candidate not suitable; the next round proposes another."""
    return await _answer(
        db=db,
        proposal_id=proposal_id,
        version=version,
        owns=lambda session: _owned_by_enterprise(session, proposal_id, enterprise_id),
        from_state=ProposalStatus.ACCEPTED,
        to_state=ProposalStatus.NOT_SELECTED,
        decided_at=now,
    )


async def select_candidate(
    *, db: Database, proposal_id: int, version: int, enterprise_id: int, now: dt.datetime
) -> Selection:
    """The enterprise chooses an accepted candidate: engagement, demand matched, others released.

    All in one transaction; the partial unique index on active engagements per
    demand makes a second concurrent choice fail even if both guards passed.
    """
    try:
        async with db.transaction(savepoint=True) as session:
            if not await _owned_by_enterprise(session, proposal_id, enterprise_id):
                return Selection(Outcome.FORBIDDEN)
            # Lock the demand first: choices for one demand queue up here instead of
            # locking proposals in different orders and deadlocking on PostgreSQL.
            demand = (
                await session.execute(
                    select(Demand)
                    .join(Proposal, col(Proposal.demand_id) == col(Demand.id))
                    .where(col(Proposal.id) == proposal_id)
                    .with_for_update(of=Demand)
                    .execution_options(populate_existing=True)
                )
            ).scalar_one()
            if demand.status != DemandStatus.OPEN:
                return Selection(Outcome.STALE)
            chosen = await _move(
                session,
                proposal_id=proposal_id,
                version=version,
                from_states=(ProposalStatus.ACCEPTED,),
                to_state=ProposalStatus.SELECTED,
                decided_at=now,
            )
            if not chosen:
                return Selection(Outcome.STALE)
            proposal = await session.get(Proposal, proposal_id, populate_existing=True)
            assert proposal is not None
            demand.status, demand.updated_at = DemandStatus.MATCHED, now
            engagement = Engagement(
                proposal_id=proposal_id,
                demand_id=proposal.demand_id,
                specialist_id=proposal.specialist_id,
                started_at=now,
            )
            session.add(engagement)
            released = await _release_others(session, proposal.demand_id, proposal_id, now)
            await session.flush()
            return Selection(Outcome.DONE, engagement, released)
    except IntegrityError:
        return Selection(Outcome.STALE)


async def _release_others(
    session: AsyncSession, demand_id: int, chosen_id: int | None, now: dt.datetime
) -> tuple[Proposal, ...]:
    """Close the demand's other open proposals: on a choice, accepted ones are not selected;
    everything else (and everything when the demand closes) is withdrawn."""
    others = await session.execute(
        select(Proposal)
        .where(col(Proposal.demand_id) == demand_id)
        .where(col(Proposal.id) != (chosen_id or 0))
        .where(col(Proposal.status).in_([s.value for s in OPEN]))
        .with_for_update()
    )
    released = []
    for other in others.scalars():
        target = (
            ProposalStatus.NOT_SELECTED
            if chosen_id is not None and other.status == ProposalStatus.ACCEPTED
            else ProposalStatus.WITHDRAWN
        )
        assert other.id is not None
        if await _move(
            session,
            proposal_id=other.id,
            version=None,
            from_states=OPEN,
            to_state=target,
            decided_at=now,
        ):
            released.append(other)
    return tuple(released)


async def withdraw_open_proposals(
    *, db: Database, demand_id: int, now: dt.datetime
) -> list[Proposal]:
    """A demand was paused or closed: its open proposals end, and the specialists are told."""
    async with db.transaction() as session:
        return list(await _release_others(session, demand_id, chosen_id=None, now=now))


async def claim_due_reminders(
    *, db: Database, older_than: dt.datetime, now: dt.datetime
) -> list[Proposal]:
    """Proposals unanswered since before `older_than` and not yet reminded, marked reminded now.

    Marking before sending means a job that runs twice (or in two processes)
    reminds nobody twice; a crash between the two loses one reminder at most.
    """
    async with db.transaction() as session:
        claimed = await session.execute(
            update(Proposal)
            .where(col(Proposal.status) == ProposalStatus.PROPOSED.value)
            .where(col(Proposal.reminded_at).is_(None))
            .where(col(Proposal.proposed_at) < older_than)
            .values(reminded_at=now)
            .returning(col(Proposal.id))
        )
        ids = list(claimed.scalars())
        found = await session.execute(select(Proposal).where(col(Proposal.id).in_(ids)))
        return list(found.scalars())


async def expire_stale_proposals(
    *, db: Database, older_than: dt.datetime, now: dt.datetime
) -> list[Proposal]:
    """Proposals still unanswered since before `older_than` expire; returned for the messages."""
    async with db.transaction() as session:
        expired = await session.execute(
            update(Proposal)
            .where(col(Proposal.status) == ProposalStatus.PROPOSED.value)
            .where(col(Proposal.proposed_at) < older_than)
            .values(
                status=ProposalStatus.EXPIRED.value, version=Proposal.version + 1, decided_at=now
            )
            .returning(col(Proposal.id))
        )
        ids = list(expired.scalars())
        found = await session.execute(select(Proposal).where(col(Proposal.id).in_(ids)))
        return list(found.scalars())


async def open_load(*, db: Database) -> dict[int, int]:
    """Per specialist, open proposals plus active engagements: what capacity counts."""
    async with db.transaction() as session:
        load: dict[int, int] = {}
        proposals = await session.execute(
            select(col(Proposal.specialist_id), func.count())
            .where(col(Proposal.status).in_([s.value for s in OPEN]))
            .group_by(col(Proposal.specialist_id))
        )
        engagements = await session.execute(
            select(col(Engagement.specialist_id), func.count())
            .where(col(Engagement.status) == "active")
            .group_by(col(Engagement.specialist_id))
        )
        for specialist_id, count in [*proposals, *engagements]:
            load[specialist_id] = load.get(specialist_id, 0) + count
        return load


async def contacts_for(*, db: Database, proposal_id: int) -> tuple[Enterprise, Specialist] | None:
    """Both sides' records, only for a selected proposal: contact details go out only then."""
    async with db.transaction() as session:
        row = (
            await session.execute(
                select(Enterprise, Specialist)
                .join(Demand, col(Demand.enterprise_id) == col(Enterprise.id))
                .join(Proposal, col(Proposal.demand_id) == col(Demand.id))
                .join(Specialist, col(Specialist.id) == col(Proposal.specialist_id))
                .where(col(Proposal.id) == proposal_id)
                .where(col(Proposal.status) == ProposalStatus.SELECTED.value)
            )
        ).one_or_none()
        return (row[0], row[1]) if row else None


async def proposals_by_state(*, db: Database) -> dict[str, int]:
    async with db.transaction() as session:
        rows = await session.execute(
            select(col(Proposal.status), func.count()).group_by(col(Proposal.status))
        )
        counts = {state.value: 0 for state in ProposalStatus}
        counts.update(dict(rows.tuples().all()))
        return counts


@dataclass(frozen=True)
class ProposalContext:
    """A proposal with both sides, for the messages about it."""

    proposal: Proposal
    demand: Demand
    enterprise: Enterprise
    owner: User
    specialist: Specialist
    specialist_user: User


def _context_query() -> Any:
    owner = aliased(User)
    expert = aliased(User)
    return (
        select(Proposal, Demand, Enterprise, owner, Specialist, expert)
        .join(Demand, col(Demand.id) == col(Proposal.demand_id))
        .join(Enterprise, col(Enterprise.id) == col(Demand.enterprise_id))
        .join(owner, col(owner.id) == col(Enterprise.owner_user_id))
        .join(Specialist, col(Specialist.id) == col(Proposal.specialist_id))
        .join(expert, col(expert.id) == col(Specialist.user_id))
    )


async def proposal_context(*, db: Database, proposal_id: int) -> ProposalContext | None:
    async with db.transaction() as session:
        row = (
            await session.execute(_context_query().where(col(Proposal.id) == proposal_id))
        ).one_or_none()
        return ProposalContext(*row) if row else None


async def claim_unsent(*, db: Database, now: dt.datetime, limit: int = 500) -> list[int]:
    """Proposals stored but not yet sent to their specialist, marked sent now (at most once)."""
    async with db.transaction() as session:
        pending = (
            select(col(Proposal.id))
            .where(col(Proposal.status) == ProposalStatus.PROPOSED.value)
            .where(col(Proposal.notified_at).is_(None))
            .order_by(col(Proposal.id))
            .limit(limit)
        )
        claimed = await session.execute(
            update(Proposal)
            .where(col(Proposal.id).in_(pending.scalar_subquery()))
            .where(col(Proposal.notified_at).is_(None))
            .values(notified_at=now)
            .returning(col(Proposal.id))
        )
        return sorted(int(i) for i in claimed.scalars() if i is not None)


async def claim_choice_reminders(
    *, db: Database, older_than: dt.datetime, now: dt.datetime
) -> list[int]:
    """Accepted candidates the enterprise has not decided on since `older_than`, marked reminded."""
    async with db.transaction() as session:
        claimed = await session.execute(
            update(Proposal)
            .where(col(Proposal.status) == ProposalStatus.ACCEPTED.value)
            .where(col(Proposal.enterprise_reminded_at).is_(None))
            .where(col(Proposal.answered_at) < older_than)
            .values(enterprise_reminded_at=now)
            .returning(col(Proposal.id))
        )
        return sorted(int(i) for i in claimed.scalars() if i is not None)


async def add_decline_note(
    *, db: Database, proposal_id: int, specialist_id: int, text: str
) -> bool:
    """The optional words after 'other': kept with the declined proposal, by its specialist only."""
    async with db.transaction() as session:
        result = await session.execute(
            update(Proposal)
            .where(col(Proposal.id) == proposal_id)
            .where(col(Proposal.specialist_id) == specialist_id)
            .where(col(Proposal.status) == ProposalStatus.DECLINED.value)
            .values(decline_text=text)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


async def specialist_proposals(*, db: Database, specialist_id: int) -> list[ProposalContext]:
    """A specialist's open proposals, newest first."""
    async with db.transaction() as session:
        rows = await session.execute(
            _context_query()
            .where(col(Proposal.specialist_id) == specialist_id)
            .where(col(Proposal.status).in_([s.value for s in OPEN]))
            .order_by(col(Proposal.id).desc())
        )
        return [ProposalContext(*row) for row in rows]


async def demand_candidates(
    *, db: Database, demand_id: int, owner_user_id: int
) -> list[ProposalContext]:
    """Specialists who accepted a demand and wait for the enterprise's choice: its owner only."""
    async with db.transaction() as session:
        rows = await session.execute(
            _context_query()
            .where(col(Proposal.demand_id) == demand_id)
            .where(col(Enterprise.owner_user_id) == owner_user_id)
            .where(col(Proposal.status) == ProposalStatus.ACCEPTED.value)
            .order_by(col(Proposal.score).desc())
        )
        return [ProposalContext(*row) for row in rows]


async def release_unsent(*, db: Database, proposal_id: int) -> None:
    """Sending failed (Telegram kept refusing): let the next tick claim and send it again."""
    async with db.transaction() as session:
        await session.execute(
            update(Proposal)
            .where(col(Proposal.id) == proposal_id)
            .where(col(Proposal.status) == ProposalStatus.PROPOSED.value)
            .values(notified_at=None)
        )

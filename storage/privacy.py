"""Personal data: which columns hold it, which rows are a user's, export, erasure, consent.

China's Personal Information Protection Law gives people the right to see, copy
and delete what is kept about them, and to withdraw consent. Which rows are a
user's is derived from the foreign keys of `SQLModel.metadata`, starting at their
`users` row: rows referencing it, rows referencing those, and so on
(enterprises -> demands -> proposals -> engagements -> work logs, specialists ->
proposals ..., dialogues, audit events they made). A table added later is covered
without a change here, and tests/storage/test_privacy.py fails until its text
columns are classified below, so no new column can be forgotten.

A row reached through a foreign key that points at the other side of a pairing
(a proposal on my demand is the specialist's answer) is not mine: I see its ids,
states, dates and codes, but its personal columns belong to the other person and
are neither exported to me nor erased with my data. SHARED columns are made of
both sides' words and count for both.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Table, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col
from sqlmodel.main import default_registry

from storage.audit import audit
from storage.db import Database
from storage.engagements import lock_pending_exchanges
from storage.inbox import forget_person
from storage.models import (
    Demand,
    DemandStatus,
    Engagement,
    EngagementStatus,
    Enterprise,
    Proposal,
    ProposalStatus,
    Specialist,
    SpecialistStatus,
    User,
)
from storage.proposals import OPEN, ProposalContext, proposal_context, withdraw_open_proposals

# Columns that identify a person or hold what they typed: erased, and exported only to them.
PERSONAL: dict[str, frozenset[str]] = {
    "users": frozenset({"first_name"}),
    "identities": frozenset({"account", "address", "choices"}),
    "outbox": frozenset({"address", "body", "blob", "shown", "key"}),
    "buttons": frozenset({"data"}),
    "inbox": frozenset({"person", "body"}),
    "dialogues": frozenset({"data"}),
    "enterprises": frozenset({"name", "credit_code", "contact_name", "phone"}),
    "demands": frozenset({"title", "description", "keywords", "expected_outcome"}),
    "specialists": frozenset(
        {"name", "institution", "title", "expertise", "keywords", "team", "phone", "status_reason"}
    ),
    "proposals": frozenset({"reasons", "decline_text"}),
    "engagements": frozenset({"end_reason", "comment_on_specialist", "comment_on_enterprise"}),
    "work_logs": frozenset({"summary", "dispute_reason"}),
    "vouchers": frozenset({"purpose"}),
    "broadcasts": frozenset({"text"}),
    # a vector of what they wrote, and the digest of that text
    "specialist_meanings": frozenset({"vector", "digest"}),
    "demand_meanings": frozenset({"vector", "digest"}),
}
# Text, JSON and Telegram-id columns that are codes, states or taxonomy ids: kept for figures.
NOT_PERSONAL: dict[str, frozenset[str]] = {
    "users": frozenset({"role", "locale"}),
    "identities": frozenset({"platform", "language"}),
    "outbox": frozenset({"ref", "platform", "kind", "target", "state", "platform_message_id"})
    | frozenset({"error"}),  # the platform's words about a delivery, never the message
    "buttons": frozenset({"token"}),
    "inbox": frozenset({"platform", "event_id", "flood", "state", "error"}),
    "dialogues": frozenset({"flow", "step"}),
    "enterprises": frozenset({"city", "industry_code", "size"}),
    "demands": frozenset({"kind", "fields", "work_mode", "urgency", "status", "close_reason"}),
    "specialists": frozenset({"institution_type", "location", "disciplines", "cities", "status"}),
    "availability_checks": frozenset({"month", "answer"}),
    "proposals": frozenset({"status", "decline_reason"}),
    "engagements": frozenset({"status", "completion_proposed_by", "outcome", "results"}),
    "work_logs": frozenset({"mode", "status"}),
    "engagement_checkins": frozenset({"month", "answer"}),
    "vouchers": frozenset(),
    "audit_events": frozenset({"action", "target_type", "detail"}),  # ids and codes only
    "digest_sends": frozenset(),
    "broadcasts": frozenset({"audience", "city", "status"}),
    "specialist_meanings": frozenset({"model"}),
    "demand_meanings": frozenset({"model"}),
}
# Tables no user's row leads to, and which hold nothing about a person.
NO_PERSONAL_DATA = frozenset({"job_runs", "platform_tokens"})  # a platform token is the bot's
# Tables no user's row leads to that hold what people did, keyed by their accounts: rows of
# the person's accounts are deleted at erasure (and all are pruned after a few days).
BY_ACCOUNT = frozenset({"inbox"})
# Foreign keys that point at the other side of a pairing: rows reached through them are theirs.
OTHER_SIDE = frozenset({("proposals", "demand_id"), ("engagements", "demand_id")})
# Personal columns written by or about both sides: exported to both, erased with either.
# An engagement and its work logs are reached from the enterprise through OTHER_SIDE, so
# what the enterprise typed there (its rating's comment, why it disputed a log) is shared,
# or it would outlive the enterprise's erasure; the specialist's words about it go with it.
SHARED = frozenset(
    {
        ("proposals", "reasons"),
        ("engagements", "end_reason"),
        ("engagements", "comment_on_specialist"),
        ("engagements", "comment_on_enterprise"),
        ("work_logs", "dispute_reason"),
        ("vouchers", "purpose"),
    }
)
# Working state with no value for figures: a user's rows are deleted rather than blanked.
DISCARDED = frozenset(
    {"dialogues", "identities", "outbox", "buttons", "specialist_meanings", "demand_meanings"}
)
# Working state not exported by /mydata: copies of messages the bot sent them (which they
# have in their chat), the tokens of the buttons on those messages, and the matching
# engine's vectors of their texts (numbers, not what they wrote).
NOT_EXPORTED = frozenset({"outbox", "buttons", "specialist_meanings", "demand_meanings"})
ERASED = "erased"  # close_reason of demands and end_reason of engagements ended by an erasure
WITHDRAWN = "consent_withdrawn"  # end_reason of engagements ended by a withdrawn consent
CHUNK = 500  # ids per IN (...) list


@dataclass(frozen=True)
class Edge:
    """A foreign key, read from the referenced table to the referencing one."""

    parent: str
    referenced: str
    child: str
    column: str

    @property
    def owning(self) -> bool:
        return (self.child, self.column) not in OTHER_SIDE


def edges() -> list[Edge]:
    return [
        Edge(fk.column.table.name, fk.column.name, table.name, fk.parent.name)
        for table in SQLModel.metadata.sorted_tables
        for fk in table.foreign_keys
    ]


def reachable_tables() -> set[str]:
    """Tables whose rows can belong to a user: every table a path of foreign keys leads
    to from `users`."""
    reached, frontier = {"users"}, ["users"]
    while frontier:
        parent = frontier.pop()
        for edge in edges():
            if edge.parent == parent and edge.child not in reached:
                reached.add(edge.child)
                frontier.append(edge.child)
    return reached


Row = dict[str, Any]
Found = dict[str, dict[Any, tuple[Row, bool]]]  # table -> primary key -> (row, is the user's)


def _key(table: Table, row: Row) -> Any:
    names = [c.name for c in table.primary_key.columns]
    return row[names[0]] if len(names) == 1 else tuple(row[n] for n in names)


def _chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    ordered = sorted(values)
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


async def user_rows(session: AsyncSession, user_id: int) -> Found:
    """Every row a path of foreign keys leads to from the user's row (what they have a say
    over), and whether it is theirs (reached through owning keys only). Parents come
    before children in `sorted_tables`, so one pass settles every row."""
    tables = SQLModel.metadata.tables
    users = tables["users"]
    user = (
        (await session.execute(select(users).where(users.c.id == user_id))).mappings().one_or_none()
    )
    found: Found = defaultdict(dict)
    if user is None:
        return found
    found["users"][user_id] = (dict(user), True)
    incoming: dict[str, list[Edge]] = defaultdict(list)
    for edge in edges():
        incoming[edge.child].append(edge)
    for table in SQLModel.metadata.sorted_tables:
        for edge in incoming[table.name]:
            parents = found.get(edge.parent, {})
            for parent_is_mine in (True, False):
                keys = {
                    row[edge.referenced]
                    for row, mine in parents.values()
                    if mine == parent_is_mine and row[edge.referenced] is not None
                }
                for chunk in _chunks(keys):
                    result = await session.execute(
                        select(table).where(table.c[edge.column].in_(chunk))
                    )
                    for row in result.mappings():
                        key = _key(table, dict(row))
                        earlier = found[table.name].get(key)
                        mine = (parent_is_mine and edge.owning) or bool(earlier and earlier[1])
                        found[table.name][key] = (dict(row), mine)
    return found


def _readable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value


async def export_personal_data(*, db: Database, user_id: int, now: dt.datetime) -> dict[str, Any]:
    """Everything kept about the user, table by table, as JSON-ready data.

    Rows of the other side of a pairing come without that person's personal columns."""
    async with db.transaction() as session:
        found = await user_rows(session, user_id)
    tables: dict[str, list[Row]] = {}
    for table in SQLModel.metadata.sorted_tables:
        rows = found.get(table.name)
        if not rows or table.name in NOT_EXPORTED:
            continue
        hidden = {c for c in PERSONAL.get(table.name, ()) if (table.name, c) not in SHARED}
        tables[table.name] = [
            {name: _readable(value) for name, value in row.items() if mine or name not in hidden}
            for _, (row, mine) in sorted(rows.items())
        ]
    return {"user_id": user_id, "exported_at": now.isoformat(), "tables": tables}


# --- erasure ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counterpart:
    """The other side of an engagement that ended because this user's data was erased."""

    user_id: int
    locale: str | None
    demand_title: str
    demand_reopened: bool  # the specialist left: the enterprise's demand is open again


@dataclass(frozen=True)
class Withdrawal:
    """Open proposals to or from a user that ended (consent withdrawn, data erased): how
    many, and the other sides to tell."""

    withdrawn: int
    specialists: list[ProposalContext]  # their proposal on one of the user's demands ended
    enterprises: list[ProposalContext]  # the user was their candidate, accepted, not yet chosen


@dataclass(frozen=True)
class Departure:
    """What ended because a user withdrew consent or had their data erased."""

    withdrawal: Withdrawal  # open proposals to or from the user, now withdrawn
    told: list[Counterpart]  # the other side of each engagement that ended


def _blank(table: Table, column: Column[Any]) -> Any:
    """What a personal column holds once erased: NULL, an empty list or text."""
    if column.nullable:
        return None
    models = {mapper.class_.__tablename__: mapper.class_ for mapper in default_registry.mappers}
    field = models[table.name].model_fields.get(column.name)
    if field is not None and field.default_factory is not None:
        return field.default_factory()
    return ""


async def _blank_rows(session: AsyncSession, found: Found) -> None:
    """Blank the personal columns of the user's own rows and the shared ones of every row
    reached; delete the user's working state."""
    for table in SQLModel.metadata.sorted_tables:
        rows = found.get(table.name, {})
        personal = PERSONAL.get(table.name, frozenset())
        [key] = table.primary_key.columns
        if table.name in DISCARDED:
            for chunk in _chunks(k for k, (_, mine) in rows.items() if mine):
                await session.execute(delete(table).where(key.in_(chunk)))
            continue
        for mine in (True, False):
            names = [c for c in personal if mine or (table.name, c) in SHARED]
            keys = [k for k, (_, is_mine) in rows.items() if is_mine == mine]
            if not names or not keys:
                continue
            values = {name: _blank(table, table.c[name]) for name in names}
            for chunk in _chunks(keys):
                await session.execute(update(table).where(key.in_(chunk)).values(values))


@dataclass(frozen=True)
class _Pairing:
    engagement_id: int
    demand_id: int
    title: str
    owner_user_id: int
    specialist_user_id: int


async def _active_pairings(session: AsyncSession, user_id: int) -> list[_Pairing]:
    """The user's active engagements (either side) with both sides' users and the demand's
    title, read before anything is blanked."""
    rows = await session.execute(
        select(
            col(Engagement.id),
            col(Demand.id),
            col(Demand.title),
            col(Enterprise.owner_user_id),
            col(Specialist.user_id),
        )
        .join(Demand, col(Demand.id) == col(Engagement.demand_id))
        .join(Enterprise, col(Enterprise.id) == col(Demand.enterprise_id))
        .join(Specialist, col(Specialist.id) == col(Engagement.specialist_id))
        .where(or_(col(Enterprise.owner_user_id) == user_id, col(Specialist.user_id) == user_id))
        .where(col(Engagement.status) == EngagementStatus.ACTIVE.value)
    )
    return [
        _Pairing(int(engagement or 0), int(demand or 0), title, owner, expert)
        for engagement, demand, title, owner, expert in rows.tuples()
    ]


async def _end_pairings(
    session: AsyncSession, pairings: list[_Pairing], user_id: int, now: dt.datetime, reason: str
) -> list[Counterpart]:
    """Cancel these engagements of the user's; returns the other sides, to be told."""
    return [
        counterpart
        for pairing in pairings
        if (counterpart := await _end_pairing(session, pairing, user_id, now, reason))
    ]


async def _end_pairing(
    session: AsyncSession, pairing: _Pairing, user_id: int, now: dt.datetime, reason: str
) -> Counterpart | None:
    """Cancel an active engagement of the user's; the other side is told, and when the
    specialist is the one who left, the enterprise's demand is open to others again."""
    cancelled = await session.execute(
        update(Engagement)
        .where(col(Engagement.id) == pairing.engagement_id)
        .where(col(Engagement.status) == EngagementStatus.ACTIVE.value)
        .values(status=EngagementStatus.CANCELLED.value, ended_at=now, end_reason=reason)
    )
    if not cancelled.rowcount:  # type: ignore[attr-defined]
        return None
    specialist_left = pairing.owner_user_id != user_id
    # The specialist left: the demand is open to others. The enterprise left: it is paused,
    # for them to resume (/my_demands) if they agree again; an erasure closes it after this.
    after = DemandStatus.OPEN if specialist_left else DemandStatus.PAUSED
    result = await session.execute(
        update(Demand)
        .where(col(Demand.id) == pairing.demand_id)
        .where(col(Demand.status) == DemandStatus.MATCHED.value)
        .values(status=after.value, updated_at=now)
    )
    reopened = specialist_left and bool(result.rowcount)  # type: ignore[attr-defined]
    other_id = pairing.owner_user_id if specialist_left else pairing.specialist_user_id
    other = await session.get(User, other_id)
    if other is None or other.id == user_id or other.erased_at is not None:
        return None
    return Counterpart(other.id or 0, other.locale, pairing.title, reopened)


def _own_keys(found: Found, table: str) -> list[int]:
    return [key for key, (_, mine) in found.get(table, {}).items() if mine]


async def erase_personal_data(
    *, db: Database, user_id: int, now: dt.datetime, by_user: bool = True
) -> Departure | None:
    """Delete or blank everything personal about the user; None when already erased.

    In one transaction: open proposals to and from them are withdrawn, their active
    engagements cancelled (the other side is returned, to be told), their demands
    closed and their specialist profile withdrawn. Rows stay with ids, states, dates
    and codes, so the programme's figures still add up; names, phones, typed texts
    and platform accounts go (what they did, kept in the inbox, too). Without an
    account, a later message from the same person starts afresh.
    """
    async with db.unit_of_work():
        async with db.transaction() as session:
            claimed = await session.execute(
                update(User)
                .where(col(User.id) == user_id)
                .where(col(User.erased_at).is_(None))
                .values(erased_at=now, consent_at=None, contact_consent_at=None)
                .values(is_coordinator=False)
            )
            if not claimed.rowcount:  # type: ignore[attr-defined]
                return None
            found = await user_rows(session, user_id)
        accounts = [
            f"{row['platform']}:{row['account']}" for row, _ in found.get("identities", {}).values()
        ]
        await forget_person(db=db, people=accounts)
        demands = _own_keys(found, "demands")
        withdrawal = await _withdraw_proposals(db, user_id=user_id, demand_ids=demands, now=now)
        async with db.transaction() as session:
            pairings = await _active_pairings(session, user_id)
            await _blank_rows(session, found)  # before the engagements get their end reason
            told = await _end_pairings(session, pairings, user_id, now, ERASED)
            for chunk in _chunks(demands):
                await session.execute(
                    update(Demand)
                    .where(col(Demand.id).in_(chunk))
                    .where(col(Demand.status) != DemandStatus.CLOSED.value)
                    .values(status=DemandStatus.CLOSED.value, close_reason=ERASED, updated_at=now)
                )
            await session.execute(
                update(Specialist)
                .where(col(Specialist.user_id) == user_id)
                .where(col(Specialist.status) != SpecialistStatus.REJECTED.value)
                .values(status=SpecialistStatus.WITHDRAWN.value, paused_until=None, updated_at=now)
            )
            audit(
                session,
                now=now,
                actor_user_id=user_id if by_user else None,
                action="privacy.erased",
                target_type="user",
                target_id=user_id,
                detail={
                    "by": "user" if by_user else "retention",
                    "withdrawn": withdrawal.withdrawn,
                },
            )
    return Departure(withdrawal, told)


async def inactive_users(*, db: Database, seen_before: dt.datetime, limit: int) -> list[int]:
    """Users not seen since before the retention period began, whose data is still kept."""
    async with db.transaction() as session:
        found = await session.execute(
            select(col(User.id))
            .where(col(User.last_seen_at) < seen_before)
            .where(col(User.erased_at).is_(None))
            .order_by(col(User.id))
            .limit(limit)
        )
        return [user_id for user_id in found.scalars() if user_id is not None]


# --- consent ------------------------------------------------------------------------------


async def withdraw_specialist_proposals(
    *, db: Database, user_id: int, now: dt.datetime
) -> dict[ProposalStatus, list[int]]:
    """The user's open proposals as a specialist end (withdrawn), each one guarded on its
    state as every proposal transition is. Returns the ids ended by the state each was in:
    an accepted one was a candidate its enterprise could choose."""
    ended: dict[ProposalStatus, list[int]] = {}
    async with db.transaction() as session:
        own = select(col(Specialist.id)).where(col(Specialist.user_id) == user_id)
        for state in OPEN:
            result = await session.execute(
                update(Proposal)
                .where(col(Proposal.specialist_id).in_(own.scalar_subquery()))
                .where(col(Proposal.status) == state.value)
                .values(
                    status=ProposalStatus.WITHDRAWN.value,
                    version=col(Proposal.version) + 1,
                    decided_at=now,
                )
                .returning(col(Proposal.id))
            )
            ended[state] = sorted(pid for pid in result.scalars() if pid is not None)
    return ended


async def withdraw_consent(*, db: Database, user_id: int, now: dt.datetime) -> Departure | None:
    """Consent withdrawn: nothing more is processed for the user until they agree again.

    Consent to share contacts goes with it, every open proposal to or from them is
    withdrawn and their active engagements end (nudges and check-ins would process
    their data; when the specialist leaves, the demand is open again). Their data stays
    until they delete it or the retention period ends. Returns what ended, with the
    other sides to tell; None when consent was not given.
    """
    async with db.unit_of_work():
        async with db.transaction() as session:
            await lock_pending_exchanges(session, user_id)  # an exchange under way finishes first
            result = await session.execute(
                update(User)
                .where(col(User.id) == user_id)
                .where(col(User.consent_at).is_not(None))
                .values(consent_at=None, contact_consent_at=None)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                return None
            audit(session, now=now, actor_user_id=user_id, action="privacy.consent_withdrawn")
            open_demands = await session.execute(
                select(col(Proposal.demand_id))
                .distinct()
                .join(Demand, col(Demand.id) == col(Proposal.demand_id))
                .join(Enterprise, col(Enterprise.id) == col(Demand.enterprise_id))
                .where(col(Enterprise.owner_user_id) == user_id)
                .where(col(Proposal.status).in_([s.value for s in OPEN]))
            )
            demand_ids = sorted(open_demands.scalars())
        withdrawal = await _withdraw_proposals(db, user_id=user_id, demand_ids=demand_ids, now=now)
        async with db.transaction() as session:
            pairings = await _active_pairings(session, user_id)
            told = await _end_pairings(session, pairings, user_id, now, WITHDRAWN)
        return Departure(withdrawal, told)


async def _withdraw_proposals(
    db: Database, *, user_id: int, demand_ids: list[int], now: dt.datetime
) -> Withdrawal:
    """Every open proposal on the user's demands and to the user as a specialist ends."""
    on_demands = [
        proposal.id or 0
        for demand_id in demand_ids
        for proposal in await withdraw_open_proposals(db=db, demand_id=demand_id, now=now)
    ]
    as_specialist = await withdraw_specialist_proposals(db=db, user_id=user_id, now=now)
    return Withdrawal(
        withdrawn=len(on_demands) + sum(map(len, as_specialist.values())),
        # Only specialists who received the proposal: the others never saw the demand.
        specialists=[
            ctx for ctx in await _contexts(db, on_demands) if ctx.proposal.notified_at is not None
        ],
        enterprises=await _contexts(db, as_specialist[ProposalStatus.ACCEPTED]),
    )


async def _contexts(db: Database, proposal_ids: list[int]) -> list[ProposalContext]:
    found = [await proposal_context(db=db, proposal_id=pid) for pid in proposal_ids]
    return [ctx for ctx in found if ctx is not None]


async def record_contact_consent(*, db: Database, user_id: int, now: dt.datetime) -> bool:
    """The user agrees that their contact details go to the party they are matched with;
    only someone who consented to the bot at all can. False when nothing changed."""
    async with db.transaction() as session:
        result = await session.execute(
            update(User)
            .where(col(User.id) == user_id)
            .where(col(User.consent_at).is_not(None))
            .where(col(User.contact_consent_at).is_(None))
            .values(contact_consent_at=now)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            return False
        audit(session, now=now, actor_user_id=user_id, action="privacy.contact_consent")
        return True


async def withdraw_contact_consent(*, db: Database, user_id: int, now: dt.datetime) -> bool:
    """Contact details go to nobody from now on (what was already shared stays shared)."""
    async with db.transaction() as session:
        await lock_pending_exchanges(session, user_id)  # an exchange under way finishes first
        result = await session.execute(
            update(User)
            .where(col(User.id) == user_id)
            .where(col(User.contact_consent_at).is_not(None))
            .values(contact_consent_at=None)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            return False
        audit(session, now=now, actor_user_id=user_id, action="privacy.contact_consent_withdrawn")
        return True

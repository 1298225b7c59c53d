"""Coordinator rights, the audit record of what coordinators do, and the checks behind a
coordinator's own proposal (/match).

Rights come from two places: COORDINATOR_IDS (configuration, never changed by a command)
and users.is_coordinator (granted and revoked by coordinators, each change audited).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlmodel import col

from storage.audit import audit
from storage.db import Database
from storage.identities import ensure_identity
from storage.models import Demand, Identity, Proposal, ProposalStatus, Specialist, User


class RightsChange(StrEnum):
    DONE = "done"
    ALREADY = "already"  # nothing to change: already granted, or already without rights
    UNKNOWN = "unknown"  # no such user: they have never written to the bot
    CONFIGURED = "configured"  # rights from COORDINATOR_IDS: only the configuration changes them


@dataclass(frozen=True)
class PairCheck:
    """What a coordinator's proposal of a specialist for a demand depends on."""

    demand: Demand | None
    specialist: Specialist | None
    existing: Proposal | None  # the pair was proposed before (in any state)


async def coordinators(
    *, db: Database, configured: frozenset[tuple[str, str]], now: dt.datetime
) -> list[tuple[User, Identity]]:
    """Everyone with coordinator rights, each with the account to write to: those granted
    rights in the database, and every COORDINATOR_IDS account (recorded with its ids only
    if it never wrote, so buttons sent to it can be checked against its person)."""
    for platform, account in configured:
        await ensure_identity(db=db, platform=platform, account=account, now=now)
    async with db.transaction() as session:
        rows = list(
            (
                await session.execute(
                    select(User, Identity)
                    .join(Identity, col(Identity.user_id) == col(User.id))
                    .order_by(col(User.id), col(Identity.last_seen_at), col(Identity.id))
                )
            ).tuples()
        )
        found: dict[int, tuple[User, Identity]] = {}
        for user, identity in rows:
            if user.is_coordinator or (identity.platform, identity.account) in configured:
                found[user.id or 0] = (user, identity)
        # The account each person wrote from last is where they read.
        for user, identity in rows:
            if (user.id or 0) in found:
                found[user.id or 0] = (user, identity)
    return list(found.values())


async def change_rights(
    *,
    db: Database,
    platform: str,
    account: str,
    grant: bool,
    configured: frozenset[tuple[str, str]],
    actor_user_id: int,
    now: dt.datetime,
) -> tuple[RightsChange, User | None]:
    """Grant or revoke coordinator rights; a guarded update, audited with the change."""
    async with db.transaction() as session:
        user = (
            await session.execute(
                select(User)
                .join(Identity, col(Identity.user_id) == col(User.id))
                .where(col(Identity.platform) == platform, col(Identity.account) == account)
            )
        ).scalar_one_or_none()
        if user is None:
            return RightsChange.UNKNOWN, None
        if (platform, account) in configured:
            return (RightsChange.ALREADY if grant else RightsChange.CONFIGURED), user
        changed = await session.execute(
            update(User)
            .where(col(User.id) == user.id, col(User.is_coordinator) == (not grant))
            .values(is_coordinator=grant)
        )
        if not changed.rowcount:  # type: ignore[attr-defined]
            return RightsChange.ALREADY, user
        audit(
            session,
            now=now,
            actor_user_id=actor_user_id,
            action="coordinator.grant" if grant else "coordinator.revoke",
            target_type="user",
            target_id=user.id,
        )
        await session.refresh(user)
        return RightsChange.DONE, user


async def record_action(
    *,
    db: Database,
    actor_user_id: int,
    action: str,
    now: dt.datetime,
    target_type: str | None = None,
    target_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Audit a coordinator action that changes no row of its own (a view, an export)."""
    async with db.transaction() as session:
        audit(
            session,
            now=now,
            actor_user_id=actor_user_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            detail=detail,
        )


async def pair_for_match(*, db: Database, demand_id: int, specialist_id: int) -> PairCheck:
    async with db.transaction() as session:
        existing = await session.execute(
            select(Proposal).where(
                col(Proposal.demand_id) == demand_id, col(Proposal.specialist_id) == specialist_id
            )
        )
        return PairCheck(
            demand=await session.get(Demand, demand_id),
            specialist=await session.get(Specialist, specialist_id),
            existing=existing.scalar_one_or_none(),
        )


async def claim_notification(*, db: Database, proposal_id: int, now: dt.datetime) -> bool:
    """Mark one open proposal as sent to its specialist; True only for the first claim, so the
    scheduled delivery of unsent proposals does not send it a second time."""
    async with db.transaction() as session:
        claimed = await session.execute(
            update(Proposal)
            .where(
                col(Proposal.id) == proposal_id,
                col(Proposal.status) == ProposalStatus.PROPOSED.value,
                col(Proposal.notified_at).is_(None),
            )
            .values(notified_at=now)
        )
        return bool(claimed.rowcount)  # type: ignore[attr-defined]

"""The audit log: ids and actions, never personal text."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEvent


def audit(
    session: AsyncSession,
    *,
    now: dt.datetime,
    actor_user_id: int | None,
    action: str,
    target_type: str | None = None,
    target_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add an audit row inside the caller's transaction, so it commits with the change."""
    session.add(
        AuditEvent(
            at=now,
            actor_user_id=actor_user_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            detail=detail or {},
        )
    )

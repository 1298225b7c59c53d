"""The names of people added on the playground page, kept in its database across restarts.

Telegram tells the bot a person's first name, so a guest who wrote comes back after a
restart under their name (storage.identities.known_accounts). Feishu tells the bot no name,
so the page writes each guest it adds to the audit log, and the next start names the
accounts the bot knows from there. Only accounts that wrote come back: someone who erased
their data is no longer known, whatever the log says.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlmodel import col

from storage.audit import audit
from storage.db import Database
from storage.models import AuditEvent

GUEST_ADDED = "playground.guest_added"


async def record_guest(
    *, db: Database, now: dt.datetime, platform: str, account: str, name: str
) -> None:
    async with db.transaction() as session:
        audit(
            session,
            now=now,
            actor_user_id=None,
            action=GUEST_ADDED,
            detail={"platform": platform, "account": account, "name": name},
        )


async def guest_names(*, db: Database, platform: str) -> dict[str, str]:
    """account -> the name the page gave it, for the guests added on this platform."""
    async with db.transaction() as session:
        rows = await session.execute(
            select(col(AuditEvent.detail))
            .where(col(AuditEvent.action) == GUEST_ADDED)
            .order_by(col(AuditEvent.id))
        )
        return {
            str(detail["account"]): str(detail.get("name") or detail["account"])
            for (detail,) in rows
            if isinstance(detail, dict)
            and detail.get("platform") == platform
            and detail.get("account")
        }

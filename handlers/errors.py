"""Errors: log them, tell the person in their language, and tell the coordinators briefly.

An event whose flow failed was rolled back whole; this runs in a fresh unit of
work, so the apology and the report go out even though nothing else did. A
message the platform keeps refusing, and a scheduled job that fails, are
reported the same way, never dropped silently.
"""

from __future__ import annotations

import logging

from handlers.coordinators import coordinator_audience
from handlers.core.events import Event, Press
from handlers.core.outbox import Target
from handlers.core.views import View
from handlers.services import Services
from storage.identities import find_user
from storage.outbox import Item

log = logging.getLogger(__name__)
REPORT_LIMIT = 600
KINDS = ("message", "callback_query", "job")  # what failed: error.kind.<kind> names it


async def on_error(svc: Services, event: Event, error: BaseException) -> None:
    """Apologise to the person whose event failed, and report it."""
    sender = event.sender
    user = await find_user(db=svc.db, platform=sender.platform, account=sender.account)
    locale = svc.catalogs.locale_for(user.locale if user else None, sender.language)
    target = Target(sender.platform, sender.address, user.id if user else None)
    if isinstance(event.body, Press):
        await svc.outbox.answer(target, event.body.handle, None)
    await svc.outbox.send(target, View(svc.catalogs.translate(locale, "error.user")))
    kind = "callback_query" if isinstance(event.body, Press) else "message"
    await _report(svc, kind, f"{type(error).__name__}: {error}")


async def report_job_failure(svc: Services, name: str, error: BaseException) -> None:
    async with svc.db.unit_of_work():
        await _report(svc, "job", f"{name}: {type(error).__name__}: {error}")


async def report_undelivered(svc: Services, item: Item, reason: str) -> None:
    """A message given up on. Reports that fail to reach a coordinator are only logged."""
    audience = await coordinator_audience(svc)
    if any(
        c.target.address == item.address and c.target.platform == item.platform for c in audience
    ):
        log.error("could not deliver a %s to a coordinator: %s", item.kind, reason)
        return
    for coordinator in audience:
        text = coordinator.reader.t(
            "error.undelivered",
            platform=item.platform,
            kind=item.kind,
            reason=reason[:REPORT_LIMIT],
        )
        await svc.outbox.send(coordinator.target, View(text))


async def _report(svc: Services, kind: str, summary: str) -> None:
    for coordinator in await coordinator_audience(svc):
        reader = coordinator.reader
        text = reader.t(
            "error.report", kind=reader.t(f"error.kind.{kind}"), summary=summary[:REPORT_LIMIT]
        )
        await svc.outbox.send(coordinator.target, View(text))

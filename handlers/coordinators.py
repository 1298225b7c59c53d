"""The programme's coordinators as an audience: who they are, where they read, in which
language. Flows and jobs tell them things through here."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.core.outbox import Target
from handlers.core.views import Keyboard, View
from handlers.services import Services
from handlers.specialist_views import LocaleReader
from storage.coordinators import coordinators
from storage.models import User


@dataclass(frozen=True)
class Coordinator:
    user: User
    target: Target
    reader: LocaleReader


async def coordinator_audience(svc: Services) -> list[Coordinator]:
    """Every coordinator, at the account they wrote from last, in the language they chose
    (the default if they never did)."""
    found = await coordinators(db=svc.db, configured=svc.coordinator_ids, now=svc.clock.now())
    return [
        Coordinator(
            user,
            Target.of(identity),
            LocaleReader(svc.catalogs, svc.catalogs.locale_for(user.locale, None)),
        )
        for user, identity in found
    ]


async def tell_coordinators(
    svc: Services, msgid: str, keyboard: Keyboard = (), **params: object
) -> None:
    for coordinator in await coordinator_audience(svc):
        await svc.outbox.send(
            coordinator.target, View(coordinator.reader.t(msgid, **params), keyboard)
        )

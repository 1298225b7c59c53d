"""What flows and jobs need from the assembled bot: handed to them, never looked up."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from handlers.core.outbox import Outbox
from handlers.i18n import Catalogs
from matching.semantic import Embedder
from storage.clock import Clock
from storage.db import Database


@dataclass(frozen=True)
class Deadlines:
    """How long each side has to answer; the database holds when each clock started."""

    reminder_hours: float = 24  # an unanswered proposal gets one reminder
    expiry_hours: float = 72  # and expires
    choice_reminder_days: float = 5  # an enterprise that has not chosen is reminded


class PlacementTarget(NamedTuple):
    """A programme target (PLACEMENT_TARGETS): `placements` (engagements started) by `by`."""

    placements: int
    by: dt.date


@dataclass(frozen=True)
class Services:
    db: Database
    catalogs: Catalogs
    clock: Clock  # the programme's time: dates people see, deadlines (tests move it)
    outbox: Outbox
    # COORDINATOR_IDS: (platform, account) pairs with coordinator rights.
    coordinator_ids: frozenset[tuple[str, str]]
    timezone: dt.tzinfo  # BOT_TIMEZONE: where "today" is for dates users type
    deadlines: Deadlines = Deadlines()
    placement_targets: tuple[PlacementTarget, ...] = ()  # the earliest first
    voucher_daily_rate: int = 1000  # VOUCHER_DAILY_RATE: yuan per confirmed service day
    retention_days: int = 730  # RETENTION_DAYS: personal data of silent users is erased
    embedder: Embedder | None = None  # MATCH_EMBEDDINGS: the engine's semantic channel
    # Set by the assembly: start a match round soon (after a demand is filed).
    schedule_round: Callable[[], None] = lambda: None

    def today(self) -> dt.date:
        return self.clock.now().astimezone(self.timezone).date()

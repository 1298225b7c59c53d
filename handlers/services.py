"""What handlers need from the assembled bot, handed over through bot_data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from telegram.ext import CallbackContext

from handlers.i18n import Catalogs
from storage.clock import Clock
from storage.db import Database

SERVICES_KEY = "services"


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
    clock: Clock
    coordinator_ids: frozenset[int]
    timezone: dt.tzinfo  # BOT_TIMEZONE: where "today" is for dates users type
    deadlines: Deadlines = Deadlines()
    placement_targets: tuple[PlacementTarget, ...] = ()  # the earliest first
    voucher_daily_rate: int = 1000  # VOUCHER_DAILY_RATE: yuan per confirmed service day
    # Set by the assembly: start a match round soon (after a demand is filed).
    schedule_round: Callable[[], None] = lambda: None

    def today(self) -> dt.date:
        return self.clock.now().astimezone(self.timezone).date()


def services(context: CallbackContext) -> Services:
    found = context.application.bot_data[SERVICES_KEY]
    assert isinstance(found, Services)
    return found

"""What handlers need from the assembled bot, handed over through bot_data."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from telegram.ext import CallbackContext

from handlers.i18n import Catalogs
from storage.clock import Clock
from storage.db import Database

SERVICES_KEY = "services"


@dataclass(frozen=True)
class Services:
    db: Database
    catalogs: Catalogs
    clock: Clock
    coordinator_ids: frozenset[int]
    timezone: dt.tzinfo  # BOT_TIMEZONE: where "today" is for dates users type

    def today(self) -> dt.date:
        return self.clock.now().astimezone(self.timezone).date()


def services(context: CallbackContext) -> Services:
    found = context.application.bot_data[SERVICES_KEY]
    assert isinstance(found, Services)
    return found

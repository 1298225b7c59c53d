"""Telegram UI: one module per flow. `register` wires them in a deliberate order."""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackContext,
    MessageHandler,
    TypeHandler,
    filters,
)

from handlers import coordinator, fallback, start
from handlers.dialogue import route_input
from handlers.errors import on_error
from handlers.services import services
from storage.updates import claim_update

# Every group sees every update; inside a group the first matching handler wins.
DEDUPLICATE = -1  # before anything: a redelivered update must have no effect
UI = 0  # in order: commands and buttons of each flow, then dialogue input, then fallbacks


async def drop_repeats(update: Update, context: CallbackContext) -> None:
    """Stop an update whose id was already handled (after a crash or by another process)."""
    svc = services(context)
    if not await claim_update(db=svc.db, update_id=update.update_id, now=svc.clock.now()):
        raise ApplicationHandlerStop


def register(application: Application) -> None:
    application.add_handler(TypeHandler(Update, drop_repeats), DEDUPLICATE)
    start.register(application, UI)
    coordinator.register(application, UI)
    application.add_handler(
        MessageHandler(~filters.COMMAND, route_input({start.FLOW: start.on_input})), UI
    )
    fallback.register(application, UI)
    application.add_error_handler(on_error)

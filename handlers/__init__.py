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

from handlers import (
    approvals,
    availability,
    checkins,
    coordinator,
    demands,
    enterprise,
    fallback,
    flood,
    profile,
    specialist,
    start,
)
from handlers.dialogue import route_input
from handlers.errors import on_error
from handlers.services import services
from storage.updates import claim_update

# Every group sees every update; inside a group the first matching handler wins.
FLOOD = -2  # first, and without the database: a flooding user costs others nothing
DEDUPLICATE = -1  # then: a redelivered update must have no effect
UI = 0  # in order: commands and buttons of each flow, then dialogue input, then fallbacks


async def drop_repeats(update: Update, context: CallbackContext) -> None:
    """Stop an update whose id was already handled (after a crash or by another process)."""
    svc = services(context)
    if not await claim_update(db=svc.db, update_id=update.update_id, now=svc.clock.now()):
        raise ApplicationHandlerStop


def register(application: Application, *, flood_gate: flood.FloodGate | None = None) -> None:
    flood.register(application, FLOOD, flood_gate)
    application.add_handler(TypeHandler(Update, drop_repeats), DEDUPLICATE)
    start.register(application, UI)
    coordinator.register(application, UI)
    enterprise.register(application, UI)
    demands.register(application, UI)
    profile.register(application, UI)
    specialist.register(application, UI)
    availability.register(application, UI)
    approvals.register(application, UI)
    checkins.register(application, UI)
    application.add_handler(
        MessageHandler(
            ~filters.COMMAND,
            route_input(
                {
                    start.FLOW: start.on_input,
                    enterprise.FLOW: enterprise.on_input,
                    demands.FLOW: demands.on_input,
                    demands.REGISTER_FIRST.flow: demands.on_input,
                    specialist.FLOW: specialist.on_input,
                    availability.FLOW: availability.on_input,
                    approvals.FLOW: approvals.on_input,
                }
            ),
        ),
        UI,
    )
    fallback.register(application, UI)
    application.add_error_handler(on_error)

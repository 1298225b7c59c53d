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
    broadcast,
    candidates,
    checkins,
    completion,
    coordinator,
    demands,
    digest,
    engagement_checkins,
    engagements,
    enterprise,
    exports,
    fallback,
    flood,
    gate,
    match_command,
    matches,
    privacy,
    profile,
    proposals,
    rounds,
    specialist,
    start,
    units,
    vouchers,
    worklog,
)
from handlers.dialogue import route_input
from handlers.errors import on_error
from handlers.services import services
from storage.updates import claim_update

# Every group sees every update; inside a group the first matching handler wins.
FLOOD = -3  # first, and without the database: a flooding user costs others nothing
DEDUPLICATE = -2  # then: a redelivered update must have no effect
GATE = -1  # then: buttons on vanished messages, and users who withdrew consent, stop here
UI = 0  # in order: commands and buttons of each flow, then dialogue input, then fallbacks


async def drop_repeats(update: Update, context: CallbackContext) -> None:
    """Stop an update whose id was already handled (after a crash or by another process)."""
    svc = services(context)
    if not await claim_update(db=svc.db, update_id=update.update_id, now=svc.clock.now()):
        raise ApplicationHandlerStop


def register(application: Application, *, flood_gate: flood.FloodGate | None = None) -> None:
    flood.register(application, FLOOD, flood_gate)
    application.add_handler(TypeHandler(Update, drop_repeats), DEDUPLICATE)
    gate.register(application, GATE)
    start.register(application, UI)
    privacy.register(application, UI)
    coordinator.register(application, UI)
    digest.register(application, UI)
    exports.register(application, UI)
    broadcast.register(application, UI)
    match_command.register(application, UI)
    enterprise.register(application, UI)
    demands.register(application, UI)
    profile.register(application, UI)
    specialist.register(application, UI)
    availability.register(application, UI)
    approvals.register(application, UI)
    checkins.register(application, UI)
    proposals.register(application, UI)
    candidates.register(application, UI)
    matches.register(application, UI)
    rounds.register(application, UI)
    engagements.register(application, UI)
    worklog.register(application, UI)
    completion.register(application, UI)
    engagement_checkins.register(application, UI)
    vouchers.register(application, UI)
    units.register(application, UI)
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
                    proposals.FLOW: proposals.on_input,
                    worklog.FLOW: worklog.on_input,
                    completion.OUTCOME_FLOW: completion.on_input,
                    completion.RATING_FLOW: completion.on_input,
                    vouchers.FLOW: vouchers.on_input,
                    broadcast.FLOW: broadcast.on_input,
                    privacy.FLOW: privacy.on_input,
                }
            ),
        ),
        UI,
    )
    fallback.register(application, UI)
    application.add_error_handler(on_error)

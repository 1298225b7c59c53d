"""Coordinator commands: the programme's figures."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackContext, CommandHandler

from handlers.access import coordinators_only
from handlers.actor import Actor
from storage.users import programme_counts


@coordinators_only
async def stats(update: Update, context: CallbackContext, actor: Actor) -> None:
    """/stats: people, demands and specialists so far."""
    counts = await programme_counts(db=actor.services.db)
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        actor.t(
            "stats.summary",
            enterprises=counts.get("users_enterprise", 0),
            specialists=counts.get("users_specialist", 0),
            registered=counts.get("enterprises", 0),
            demands_open=counts.get("demands_open", 0),
            demands_matched=counts.get("demands_matched", 0),
            specialists_pending=counts.get("specialists_pending", 0),
            specialists_approved=counts.get("specialists_approved", 0),
        )
    )


def register(application: Application, group: int) -> None:
    application.add_handler(CommandHandler("stats", stats), group)

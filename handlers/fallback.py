"""What is left when no flow took an update: unknown commands and buttons."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackContext, CallbackQueryHandler, MessageHandler, filters

from handlers.actor import get_actor


async def unknown_command(update: Update, context: CallbackContext) -> None:
    """A command the bot does not have: say so and point to /help."""
    actor = await get_actor(update, context)
    assert update.effective_message is not None
    await update.effective_message.reply_text(actor.t("command.unknown"))


async def unknown_button(update: Update, context: CallbackContext) -> None:
    """Callback data no pattern knows (forged or from an old version): answer, change nothing."""
    actor = await get_actor(update, context)
    assert update.callback_query is not None
    await update.callback_query.answer(actor.t("button.unknown"))


def register(application: Application, group: int) -> None:
    application.add_handler(MessageHandler(filters.COMMAND, unknown_command), group)
    application.add_handler(CallbackQueryHandler(unknown_button), group)

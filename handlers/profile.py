"""/profile: each role sees and edits its own profile; others are shown what they can do."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackContext, CommandHandler

from handlers import enterprise, specialist
from handlers.actor import get_actor
from handlers.start import help_text
from storage.models import Role


async def profile_command(update: Update, context: CallbackContext) -> None:
    """/profile, dispatched by the user's role."""
    actor = await get_actor(update, context)
    if actor.user.role == Role.SPECIALIST:
        await specialist.show_profile(update, context, actor)
        return
    if actor.user.role == Role.ENTERPRISE:
        await enterprise.show_profile(update, context, actor)
        return
    assert update.effective_message is not None
    await update.effective_message.reply_text(help_text(actor))


def register(application: Application, group: int) -> None:
    application.add_handler(CommandHandler("profile", profile_command), group)

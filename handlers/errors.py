"""Errors: log them, tell the user in their language, and tell the coordinators briefly."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import CallbackContext

from handlers.services import services
from storage.users import coordinator_chat_ids, get_user

log = logging.getLogger(__name__)
REPORT_LIMIT = 600
KINDS = ("message", "callback_query", "edited_message")


async def on_error(update: object, context: CallbackContext) -> None:
    """Log first (with the traceback), then the two messages; never raise from here."""
    error = context.error
    log.error("error while handling an update", exc_info=error)
    svc = services(context)
    kind = "job"
    if isinstance(update, Update):
        kind = next((name for name in KINDS if getattr(update, name)), "update")
        if update.effective_user and update.effective_chat:
            user = await get_user(db=svc.db, telegram_id=update.effective_user.id)
            locale = svc.catalogs.locale_for(
                user.locale if user else None, update.effective_user.language_code
            )
            try:
                if update.callback_query:
                    await update.callback_query.answer()
                await context.bot.send_message(
                    update.effective_chat.id, svc.catalogs.translate(locale, "error.user")
                )
            except TelegramError:
                log.warning("could not tell the user about the error")
    summary = f"{type(error).__name__}: {error}"[:REPORT_LIMIT]
    for chat_id in await coordinator_chat_ids(db=svc.db, configured=svc.coordinator_ids):
        locale = svc.catalogs.default_locale
        text = svc.catalogs.translate(
            locale,
            "error.report",
            kind=svc.catalogs.translate(locale, f"error.kind.{kind}"),
            summary=summary,
        )
        try:
            await context.bot.send_message(chat_id, text)
        except TelegramError:
            log.warning("could not send the error report to a coordinator")

"""What reaches the flows: two checks every update passes before any flow sees it.

- A button on a message the bot can no longer see (Telegram sends such a message
  as inaccessible, dated 0, and editing it would fail), or a query without data,
  is answered as stale and goes no further, so every flow may rely on the
  message being there.
- Someone who chose a side and later withdrew consent is told how to give it
  again, and nothing else happens for them: only the commands and buttons of
  first contact and of privacy work (/start, /help, /language, /cancel, /privacy,
  /mydata, /delete_me). Newcomers who have not consented yet are not stopped
  here: they have no side, so no flow keeps anything of theirs.
"""

from __future__ import annotations

from telegram import Message, Update
from telegram.ext import Application, ApplicationHandlerStop, CallbackContext, TypeHandler

from handlers import privacy, start
from handlers.services import services
from storage.users import get_user

OPEN_COMMANDS = frozenset({"start", "help", "language", "cancel", "privacy", "mydata", "delete_me"})
OPEN_BUTTONS = (start.START_BUTTON, start.LANGUAGE_BUTTON, privacy.BUTTON)


def command_of(text: str | None) -> str | None:
    """The command a message starts with, without the bot's name: "/start@bot x" -> "start"."""
    if not text or not text.startswith("/"):
        return None
    words = text[1:].split(maxsplit=1)
    return words[0].split("@")[0].lower() if words else ""


def always_open(update: Update) -> bool:
    query = update.callback_query
    if query is not None:
        return any(button.match(query.data or "") for button in OPEN_BUTTONS)
    message = update.effective_message
    return message is not None and command_of(message.text) in OPEN_COMMANDS


async def screen(update: Update, context: CallbackContext) -> None:
    """Stop what no flow should see; let everything else through."""
    svc = services(context)
    tg_user = update.effective_user
    query = update.callback_query
    message = query.message if query is not None else None
    if query is not None and (
        query.data is None or not isinstance(message, Message) or not message.is_accessible
    ):
        locale = svc.catalogs.locale_for(None, tg_user.language_code if tg_user else None)
        await query.answer(svc.catalogs.translate(locale, "button.stale"))
        raise ApplicationHandlerStop
    if tg_user is None or always_open(update):
        return
    user = await get_user(db=svc.db, telegram_id=tg_user.id)
    if user is None or user.consent_at is not None or user.role is None:
        return
    locale = svc.catalogs.locale_for(user.locale, tg_user.language_code)
    if query is not None:
        short = svc.catalogs.translate(locale, "privacy.consent_needed_short")
        await query.answer(short, show_alert=True)
    elif update.effective_message is not None:
        text = svc.catalogs.translate(locale, "privacy.consent_needed")
        await update.effective_message.reply_text(text)
    raise ApplicationHandlerStop


def register(application: Application, group: int) -> None:
    application.add_handler(TypeHandler(Update, screen), group)

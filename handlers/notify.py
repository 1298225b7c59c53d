"""Messages the bot starts (a round, a reminder, the other side's news), not replies.

The person may have blocked the bot, or never written to it; the record in the
database is right either way, and one such person must not stop a job that
tells many others. So these sends report failure instead of raising.
"""

from __future__ import annotations

import logging

from telegram import Bot, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden

log = logging.getLogger(__name__)


async def notify(
    bot: Bot, chat_id: int, text: str, reply_markup: InlineKeyboardMarkup | None = None
) -> bool:
    """Send text to chat_id; False when Telegram will not deliver it to that person."""
    try:
        await bot.send_message(chat_id, text, reply_markup=reply_markup)
    except (Forbidden, BadRequest):
        log.warning("could not message chat %s", chat_id)
        return False
    return True

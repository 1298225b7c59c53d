"""The bot's Bot API client: python-telegram-bot's ExtBot, forgiving of late button answers.

Telegram accepts an answer to a button press for a short while only (about 15 s).
A press that waited longer (the bot was down or busy) is still a press the user
meant: its answer can no longer stop their spinner, but the action must not be
lost with it. So a "query is too old" answer is logged and treated as done, and
the handler goes on to store and show what the press asked for.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram.error import BadRequest
from telegram.ext import ExtBot

log = logging.getLogger(__name__)

TOO_LATE = ("query is too old", "query id is invalid")


class TelegramBot(ExtBot[Any]):
    async def answer_callback_query(self, *args: Any, **kwargs: Any) -> bool:
        try:
            return await super().answer_callback_query(*args, **kwargs)
        except BadRequest as error:
            if not any(words in error.message.lower() for words in TOO_LATE):
                raise
            log.info("a button press came too late to answer; handled all the same")
            return False

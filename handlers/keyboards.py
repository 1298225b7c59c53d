"""Inline keyboards built from (label, callback data) pairs."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.error import BadRequest

log = logging.getLogger(__name__)

Button = tuple[str, str]


def inline(rows: Iterable[Sequence[Button]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


def column(buttons: Iterable[Button]) -> InlineKeyboardMarkup:
    """One button per row: easiest to hit on a phone."""
    return inline([button] for button in buttons)


def not_modified(error: BadRequest) -> bool:
    """Telegram's answer to an edit that changes nothing."""
    return "not modified" in error.message.lower()


async def remove_keyboard(message: Message) -> None:
    """Take the buttons off a message. One that has none left (a double tap, a replayed or
    forged button) is already as wanted: Telegram's "not modified" must not stop the
    handler halfway, after its change was stored and before the user heard of it."""
    try:
        await message.edit_reply_markup(reply_markup=None)
    except BadRequest as error:
        if not not_modified(error):
            raise
        log.debug("the message had no buttons left to remove")


async def redraw(
    message: Message,
    text: str,
    keyboard: InlineKeyboardMarkup | None = None,
    *,
    reply_markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Replace a message's text and buttons in place; the same again (a double tap, a
    replayed button) is already as wanted, and Telegram's "not modified" is no error."""
    try:
        await message.edit_text(text, reply_markup=keyboard or reply_markup)
    except BadRequest as error:
        if not not_modified(error):
            raise  # anything else (bad HTML, a vanished message) is a real failure
        log.debug("the message already read so")

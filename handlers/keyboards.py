"""Inline keyboards built from (label, callback data) pairs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

Button = tuple[str, str]


def inline(rows: Iterable[Sequence[Button]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


def column(buttons: Iterable[Button]) -> InlineKeyboardMarkup:
    """One button per row: easiest to hit on a phone."""
    return inline([button] for button in buttons)

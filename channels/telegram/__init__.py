"""Telegram: python-telegram-bot's Bot for the Bot API, the core's events from its updates,
and the Bot API emulator (emulator/) that tests and the playground talk to."""

import os

# Opt in to python-telegram-bot's coming timedelta durations (RetryAfter.retry_after) now,
# before telegram is imported: the opt-in silences a deprecation warning per 429.
os.environ.setdefault("PTB_TIMEDELTA", "1")

from channels.telegram.channel import CAPABILITIES, TelegramChannel

__all__ = ["CAPABILITIES", "TelegramChannel"]

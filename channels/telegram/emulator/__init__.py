"""Telegram Bot API emulator: the real bot talks HTTP to it, tests and the playground play users.

See server.BotApiEmulator for the behaviour and the choices made where Telegram is silent.
"""

from .models import (
    ApiError,
    CallbackAnswer,
    EmulatorStats,
    Event,
    SentMessage,
    StoredFile,
    User,
)
from .server import BotApiEmulator, Clock
from .telegram_html import HtmlParseError, ParsedText, parse_html, utf16_len

__all__ = [
    "ApiError",
    "BotApiEmulator",
    "CallbackAnswer",
    "Clock",
    "EmulatorStats",
    "Event",
    "HtmlParseError",
    "ParsedText",
    "SentMessage",
    "StoredFile",
    "User",
    "parse_html",
    "utf16_len",
]

"""A per-user flood gate: past 20 updates in 10 seconds, one polite message, then silence.

Kept in process memory on purpose: it is a rate limit, not a record, and it
must cost nothing (no database) so a flooding user does not slow anyone else.
Time is the process's monotonic clock, since the limit is about real seconds.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, CallbackContext, TypeHandler

from handlers.services import services

LIMIT = 20
WINDOW = 10.0  # seconds


class FloodGate:
    def __init__(
        self, limit: int = LIMIT, window: float = WINDOW, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit, self.window, self.now = limit, window, now
        self.recent: dict[int, deque[float]] = {}
        self.warned: dict[int, float] = {}

    def admit(self, user_id: int) -> bool | None:
        """True to handle, None to drop after a warning, False to drop silently."""
        now = self.now()
        stamps = self.recent.setdefault(user_id, deque())
        while stamps and now - stamps[0] > self.window:
            stamps.popleft()
        if len(stamps) < self.limit:
            stamps.append(now)
            return True
        warned = self.warned.get(user_id)
        if warned is None or now - warned > self.window:
            self.warned[user_id] = now
            return None
        return False

    def forget_idle(self) -> None:
        """Drop users quiet for a whole window, so memory follows active users only."""
        now = self.now()
        for user_id in [u for u, s in self.recent.items() if not s or now - s[-1] > self.window]:
            del self.recent[user_id]
            self.warned.pop(user_id, None)


def register(application: Application, group: int, gate: FloodGate | None = None) -> None:
    gate = gate or FloodGate()
    seen = 0

    async def check(update: Update, context: CallbackContext) -> None:
        nonlocal seen
        user = update.effective_user
        if user is None:
            return
        seen += 1
        if seen % 1000 == 0:
            gate.forget_idle()
        verdict = gate.admit(user.id)
        if verdict:
            return
        if verdict is None:
            catalogs = services(context).catalogs
            text = catalogs.translate(
                catalogs.locale_for(None, user.language_code), "flood.slow_down"
            )
            if update.callback_query:
                await update.callback_query.answer(text, show_alert=True)
            elif update.effective_chat:
                await context.bot.send_message(update.effective_chat.id, text)
        elif update.callback_query:
            await update.callback_query.answer()  # a query must be answered, even when dropped
        raise ApplicationHandlerStop

    application.add_handler(TypeHandler(Update, check), group)

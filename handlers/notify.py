"""Messages the bot starts (a round, a reminder, the other side's news), not replies.

They go through the outbox like everything else: written with the change that
caused them, delivered after it commits, retried when the platform is busy.
Whether the person can still be reached (they blocked the bot, left) is the
delivery's to find out and record; the record in the database is right either
way.
"""

from __future__ import annotations

from handlers.core.views import Keyboard, View
from handlers.services import Services


async def notify(svc: Services, user_id: int, text: str, keyboard: Keyboard = ()) -> bool:
    """Send to the person wherever they wrote from last; False when the bot has no account
    of theirs to write to (they were erased, or never wrote)."""
    return await svc.outbox.to_user(user_id, View(text, keyboard)) is not None

"""Role checks shared by every flow."""

from __future__ import annotations

import functools

from handlers.core.chat import Chat
from handlers.core.router import Handler


def coordinators_only(handler: Handler) -> Handler:
    """Run handler for coordinators; refuse anyone else politely and change nothing."""

    @functools.wraps(handler)
    async def guarded(chat: Chat) -> None:
        actor = chat.actor
        if actor.is_coordinator:
            await handler(chat)
        elif chat.is_press:
            await chat.notice(actor.t("access.coordinators_only"), alert=True)
        else:
            await chat.reply(actor.t("access.coordinators_only"))

    return guarded

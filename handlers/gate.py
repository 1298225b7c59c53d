"""Who may do what before any flow sees an event.

Someone who chose a side and later withdrew consent is told how to give it
again, and nothing else happens for them: only the commands and buttons of
first contact and of privacy work (/start, /help, /language, /cancel, /privacy,
/mydata, /delete_me). Newcomers who have not consented yet are not stopped
here: they have no side, so no flow keeps anything of theirs.
"""

from __future__ import annotations

from handlers import privacy, start
from handlers.core.chat import Chat
from handlers.core.events import Command, Opened
from handlers.core.router import Router

OPEN_COMMANDS = frozenset({"start", "help", "language", "cancel", "privacy", "mydata", "delete_me"})
OPEN_BUTTONS = (start.START_BUTTON, start.LANGUAGE_BUTTON, privacy.BUTTON)


def always_open(chat: Chat) -> bool:
    body = chat.event.body
    if chat.is_press:
        return any(button.match(chat.data or "") for button in OPEN_BUTTONS)
    return isinstance(body, Opened) or (isinstance(body, Command) and body.name in OPEN_COMMANDS)


async def screen(chat: Chat) -> bool:
    """Stop what a person without consent may not do; True when the event stops here."""
    user = chat.actor.user
    if always_open(chat) or user.consent_at is not None or user.role is None:
        return False
    if chat.is_press:
        await chat.notice(chat.actor.t("privacy.consent_needed_short"), alert=True)
    else:
        await chat.reply(chat.actor.t("privacy.consent_needed"))
    return True


def register(router: Router) -> None:
    router.screen(screen)

"""What is left when no flow took an event: unknown commands and buttons, and typed text
outside any dialogue."""

from __future__ import annotations

from handlers.core.chat import Chat
from handlers.core.router import Router

SHOWN = 6  # button labels named at most


async def unknown_command(chat: Chat) -> None:
    """A command the bot does not have: say so and point to /help."""
    await chat.reply(chat.actor.t("command.unknown"))


async def unknown_button(chat: Chat) -> None:
    """Callback data no pattern knows (forged or from an old version): answer, change nothing."""
    await chat.notice(chat.actor.t("button.unknown"))


async def no_dialogue(chat: Chat) -> None:
    """Something typed while no dialogue waits for it: where the newest message with buttons
    (a proposal, a question) waits for a press, its buttons are named."""
    actor = chat.actor
    choices = actor.identity.choices or {}
    labels = [label for label, _ in choices.get("buttons", [])][:SHOWN]
    if labels:
        await chat.reply(actor.t("dialogue.use_buttons", buttons=actor.t("list.sep").join(labels)))
        return
    await chat.reply(actor.t("dialogue.none"))


def register(router: Router) -> None:
    router.unknown_command = unknown_command
    router.unknown_button = unknown_button
    router.no_dialogue = no_dialogue

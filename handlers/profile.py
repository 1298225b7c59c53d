"""/profile: each role sees and edits its own profile; others are shown what they can do."""

from __future__ import annotations

from handlers import enterprise, specialist
from handlers.core.chat import Chat
from handlers.core.router import Router
from handlers.start import help_text
from storage.models import Role


async def profile_command(chat: Chat) -> None:
    """/profile, dispatched by the user's role."""
    actor = chat.actor
    if actor.user.role == Role.SPECIALIST:
        await specialist.show_profile(chat)
        return
    if actor.user.role == Role.ENTERPRISE:
        await enterprise.show_profile(chat)
        return
    await chat.reply(help_text(actor))


def register(router: Router) -> None:
    router.command("profile", profile_command)

"""Who is acting on an update: their stored record, language and rights."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Update
from telegram.ext import CallbackContext

from handlers.i18n import Markup
from handlers.services import Services, services
from storage.models import User
from storage.users import touch_user


@dataclass(frozen=True)
class Actor:
    user: User
    locale: str
    is_coordinator: bool
    services: Services

    @property
    def user_id(self) -> int:
        assert self.user.id is not None
        return self.user.id

    def t(self, msgid: str, **params: object) -> Markup:
        """A text in this user's language."""
        return self.services.catalogs.translate(self.locale, msgid, **params)


async def get_actor(update: Update, context: CallbackContext) -> Actor:
    """Load (or create with ids only) the acting user and resolve their language."""
    svc = services(context)
    tg_user = update.effective_user
    chat = update.effective_chat
    assert tg_user is not None and chat is not None
    user = await touch_user(db=svc.db, telegram_id=tg_user.id, chat_id=chat.id, now=svc.clock.now())
    return Actor(
        user=user,
        locale=svc.catalogs.locale_for(user.locale, tg_user.language_code),
        is_coordinator=user.is_coordinator or tg_user.id in svc.coordinator_ids,
        services=svc,
    )

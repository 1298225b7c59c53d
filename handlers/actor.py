"""Who is acting on an event: their stored record, the account they wrote from, language and
rights."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.i18n import Markup
from handlers.services import Services
from storage.models import Identity, User


@dataclass(frozen=True)
class Actor:
    user: User
    identity: Identity
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


def is_configured_coordinator(svc: Services, identity: Identity) -> bool:
    """COORDINATOR_IDS names this account."""
    return (identity.platform, identity.account) in svc.coordinator_ids

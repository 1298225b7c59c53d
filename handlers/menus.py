"""The command menu per language and, once a user has a role, per person."""

from __future__ import annotations

from handlers.core.chat import Chat
from handlers.core.outbox import Target
from handlers.i18n import SUPPORTED_LOCALES, Catalogs
from handlers.services import Services

COMMON = ("start", "help", "language", "cancel", "privacy", "mydata", "delete_me")
BY_ROLE: dict[str | None, tuple[str, ...]] = {
    None: (),
    "enterprise": ("new_demand", "my_demands", "engagements"),
    "specialist": ("profile", "availability", "my_matches", "log", "engagements"),
}
COORDINATOR = (
    "stats",
    "digest",
    "pending",
    "match_now",
    "match",
    "export",
    "broadcast",
    "voucher",
    "units",
    "add_coordinator",
    "remove_coordinator",
)
Menu = list[tuple[str, str]]


def commands_for(role: str | None, *, is_coordinator: bool) -> tuple[str, ...]:
    return COMMON + BY_ROLE.get(role, ()) + (COORDINATOR if is_coordinator else ())


def menu(catalogs: Catalogs, locale: str, names: tuple[str, ...]) -> Menu:
    return [(name, catalogs.translate(locale, f"command.{name}")) for name in names]


def default_menus(catalogs: Catalogs) -> dict[str | None, Menu]:
    """Menus for people without a role: one per shipped language, and the default (None)."""
    names = commands_for(None, is_coordinator=False)
    menus: dict[str | None, Menu] = {
        locale: menu(catalogs, locale, names) for locale in SUPPORTED_LOCALES
    }
    menus[None] = menu(catalogs, catalogs.default_locale, names)
    return menus


def personal_menu(
    catalogs: Catalogs, *, locale: str, role: str | None, is_coordinator: bool
) -> Menu:
    """A person's own menu: their role's commands in their chosen language."""
    return menu(catalogs, locale, commands_for(role, is_coordinator=is_coordinator))


async def set_chat_menu(chat: Chat, *, role: str | None, is_coordinator: bool) -> None:
    """The acting person's menu, where the platform has one."""
    actor = chat.actor
    await chat.set_menu(
        personal_menu(
            actor.services.catalogs, locale=actor.locale, role=role, is_coordinator=is_coordinator
        )
    )


async def set_menu_of(
    svc: Services, target: Target, *, locale: str, role: str | None, is_coordinator: bool
) -> None:
    """Someone else's menu (a coordinator's rights changed by another)."""
    await svc.outbox.menu(
        target,
        personal_menu(svc.catalogs, locale=locale, role=role, is_coordinator=is_coordinator),
    )

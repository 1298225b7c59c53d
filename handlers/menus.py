"""The command menu per language and, once a user has a role, per person."""

from __future__ import annotations

from dataclasses import dataclass

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
# One menu for a whole app (WeCom's): a group per side, then what everyone uses.
APP_GROUPS = (
    ("menu.enterprise", BY_ROLE["enterprise"]),
    ("menu.specialist", BY_ROLE["specialist"]),
    ("menu.more", ("start", "help", "language", "privacy", "mydata")),
)
Menu = list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Menus:
    """What a platform is told at start: default menus per chat, per language (None for
    everyone else), and for a platform with one menu per app, that menu as titled groups."""

    per_chat: dict[str | None, Menu]
    app: list[tuple[str, Menu]]


def commands_for(role: str | None, *, is_coordinator: bool) -> tuple[str, ...]:
    return COMMON + BY_ROLE.get(role, ()) + (COORDINATOR if is_coordinator else ())


def menu(catalogs: Catalogs, locale: str, names: tuple[str, ...]) -> Menu:
    return [(name, catalogs.translate(locale, f"command.{name}")) for name in names]


def default_menus(catalogs: Catalogs) -> Menus:
    """Menus for people without a role: one per shipped language, and the default (None);
    the app's menu in the default language (an app has one for everyone)."""
    names = commands_for(None, is_coordinator=False)
    per_chat: dict[str | None, Menu] = {
        locale: menu(catalogs, locale, names) for locale in SUPPORTED_LOCALES
    }
    per_chat[None] = menu(catalogs, catalogs.default_locale, names)
    locale = catalogs.default_locale
    app = [
        (str(catalogs.translate(locale, title)), menu(catalogs, locale, group))
        for title, group in APP_GROUPS
    ]
    return Menus(per_chat, app)


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

"""The command menu per language and, once a user has a role, per chat."""

from __future__ import annotations

from telegram import Bot, BotCommand, BotCommandScopeChat

from handlers.i18n import SUPPORTED_LOCALES, Catalogs

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


def commands_for(role: str | None, *, is_coordinator: bool) -> tuple[str, ...]:
    return COMMON + BY_ROLE.get(role, ()) + (COORDINATOR if is_coordinator else ())


def bot_commands(catalogs: Catalogs, locale: str, names: tuple[str, ...]) -> list[BotCommand]:
    return [BotCommand(name, catalogs.translate(locale, f"command.{name}")) for name in names]


async def set_default_menus(bot: Bot, catalogs: Catalogs) -> None:
    """Menus for users without a role: one per shipped language, plus the default."""
    names = commands_for(None, is_coordinator=False)
    for locale in SUPPORTED_LOCALES:
        await bot.set_my_commands(
            bot_commands(catalogs, locale, names), language_code=locale.split("_")[0]
        )
    await bot.set_my_commands(bot_commands(catalogs, catalogs.default_locale, names))


async def set_chat_menu(
    bot: Bot,
    catalogs: Catalogs,
    *,
    chat_id: int,
    locale: str,
    role: str | None,
    is_coordinator: bool,
) -> None:
    """A chat's own menu: its role's commands in its chosen language."""
    names = commands_for(role, is_coordinator=is_coordinator)
    await bot.set_my_commands(
        bot_commands(catalogs, locale, names), scope=BotCommandScopeChat(chat_id)
    )

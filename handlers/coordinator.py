"""Coordinator commands: the programme's figures for a period, and who else coordinates.

    /stats [DAYS] ─> the digest's report for the last DAYS days (7 if not given, 1-366),
                     with buttons for 1, 7 and 30 days
    /add_coordinator USER_ID ─> rights granted (they are told, their menu grows)
    /remove_coordinator USER_ID ─> rights revoked; not for COORDINATOR_IDS, which only the
                                   configuration changes

USER_ID is a Telegram user id, and that person must have written to the bot once (so the
bot can tell them). Every action is audited; anyone else is refused and nothing changes.
"""

from __future__ import annotations

import logging
import re

from telegram import InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackContext, CallbackQueryHandler, CommandHandler

from handlers.access import coordinators_only
from handlers.actor import Actor
from handlers.callbacks import pack, pattern
from handlers.digest import gather, report, send_report
from handlers.keyboards import inline
from handlers.menus import set_chat_menu
from handlers.specialist_views import LocaleReader
from handlers.validators import Invalid, integer_between
from storage.coordinators import RightsChange, change_rights, record_action

log = logging.getLogger(__name__)

FLOW = "st"
PERIOD_BUTTON = pattern(FLOW, "p", r"\d{1,3}")
PERIODS = (1, 7, 30)
DEFAULT_DAYS = 7
MAX_DAYS = 366
TELEGRAM_ID = re.compile(r"^\d{1,15}$")
CHANGED = {
    (True, RightsChange.DONE): "coordinators.added",
    (True, RightsChange.ALREADY): "coordinators.already_added",
    (False, RightsChange.DONE): "coordinators.removed",
    (False, RightsChange.ALREADY): "coordinators.already_removed",
    (False, RightsChange.CONFIGURED): "coordinators.configured",
}


def period_buttons(actor: Actor) -> InlineKeyboardMarkup:
    return inline(
        [
            [
                (
                    actor.t("stats.button_day")
                    if days == 1
                    else actor.t("stats.button_days", days=days),
                    pack(FLOW, "p", days),
                )
                for days in PERIODS
            ]
        ]
    )


async def _send_stats(update: Update, context: CallbackContext, actor: Actor, days: int) -> None:
    assert update.effective_chat is not None
    svc = actor.services
    figures = await gather(svc, days=days)
    title = actor.t("stats.title", date=f"{figures.today:%Y-%m-%d}")
    lines = report(actor, figures, title, svc.timezone)
    await send_report(context.bot, update.effective_chat.id, lines, keyboard=period_buttons(actor))
    await record_action(
        db=svc.db,
        actor_user_id=actor.user_id,
        action="coordinator.stats",
        now=svc.clock.now(),
        detail={"days": days},
    )


@coordinators_only
async def stats_command(update: Update, context: CallbackContext, actor: Actor) -> None:
    """/stats, /stats 7, /stats 30: the figures for a period, and the programme to date."""
    assert update.effective_message is not None
    days = DEFAULT_DAYS
    if context.args:
        try:
            days = integer_between(context.args[0], low=1, high=MAX_DAYS)
        except Invalid:
            await update.effective_message.reply_text(actor.t("stats.usage", high=MAX_DAYS))
            return
    await _send_stats(update, context, actor, days)


@coordinators_only
async def on_period(update: Update, context: CallbackContext, actor: Actor) -> None:
    """A period button under a report: the report for that period, as a new message."""
    query = update.callback_query
    assert query is not None and query.data is not None
    match = PERIOD_BUTTON.match(query.data)
    assert match is not None
    days = int(match["arg"] or 0)
    if not 1 <= days <= MAX_DAYS:
        await query.answer(actor.t("button.unknown"))
        return
    await query.answer()
    await _send_stats(update, context, actor, days)


async def _change_rights(
    update: Update, context: CallbackContext, actor: Actor, *, grant: bool
) -> None:
    message = update.effective_message
    assert message is not None
    args = context.args or []
    if len(args) != 1 or not TELEGRAM_ID.match(args[0]):
        await message.reply_text(
            actor.t("coordinators.usage_add") if grant else actor.t("coordinators.usage_remove")
        )
        return
    svc = actor.services
    telegram_id = int(args[0])
    outcome, user = await change_rights(
        db=svc.db,
        telegram_id=telegram_id,
        grant=grant,
        configured=svc.coordinator_ids,
        actor_user_id=actor.user_id,
        now=svc.clock.now(),
    )
    if outcome == RightsChange.UNKNOWN or user is None:
        await message.reply_text(actor.t("coordinators.unknown", id=telegram_id))
        return
    await message.reply_text(actor.t(CHANGED[(grant, outcome)], id=telegram_id))
    if outcome != RightsChange.DONE:
        return
    reader = LocaleReader(svc.catalogs, svc.catalogs.locale_for(user.locale, None))
    try:
        await set_chat_menu(
            context.bot,
            svc.catalogs,
            chat_id=user.chat_id,
            locale=reader.locale,
            role=user.role,
            is_coordinator=grant,
        )
        await context.bot.send_message(
            user.chat_id,
            reader.t("coordinators.told_added") if grant else reader.t("coordinators.told_removed"),
        )
    except TelegramError:
        log.warning("could not tell user %s about their coordinator rights", user.id)


@coordinators_only
async def add_coordinator(update: Update, context: CallbackContext, actor: Actor) -> None:
    """/add_coordinator USER_ID: give someone who uses the bot coordinator rights."""
    await _change_rights(update, context, actor, grant=True)


@coordinators_only
async def remove_coordinator(update: Update, context: CallbackContext, actor: Actor) -> None:
    """/remove_coordinator USER_ID: take rights granted by command away again."""
    await _change_rights(update, context, actor, grant=False)


def register(application: Application, group: int) -> None:
    application.add_handler(CommandHandler("stats", stats_command), group)
    application.add_handler(CallbackQueryHandler(on_period, pattern=PERIOD_BUTTON), group)
    application.add_handler(CommandHandler("add_coordinator", add_coordinator), group)
    application.add_handler(CommandHandler("remove_coordinator", remove_coordinator), group)

"""Coordinator commands: the programme's figures for a period, and who else coordinates.

    /stats [DAYS] ─> the digest's report for the last DAYS days (7 if not given, 1-366),
                     with buttons for 1, 7 and 30 days
    /add_coordinator ACCOUNT ─> rights granted (they are told, their menu grows)
    /remove_coordinator ACCOUNT ─> rights revoked; not for COORDINATOR_IDS, which only the
                                   configuration changes

ACCOUNT is platform:id (telegram, wecom, feishu or dingtalk), or a bare number for a
Telegram user id, as in COORDINATOR_IDS; that person must have written to the bot once
from it (so the bot can tell them). Every action is audited; anyone else is refused and
nothing changes.
"""

from __future__ import annotations

from handlers.access import coordinators_only
from handlers.actor import Actor
from handlers.callbacks import pack, pattern
from handlers.core.chat import Chat
from handlers.core.events import parse_account
from handlers.core.outbox import Target
from handlers.core.router import Router
from handlers.core.views import Keyboard, View, inline
from handlers.digest import report, send_report
from handlers.digest_figures import gather
from handlers.menus import set_menu_of
from handlers.specialist_views import LocaleReader
from handlers.validators import Invalid, integer_between
from storage.coordinators import RightsChange, change_rights, record_action
from storage.identities import reachable_identity

FLOW = "st"
PERIOD_BUTTON = pattern(FLOW, "p", r"\d{1,3}")
PERIODS = (1, 7, 30)
DEFAULT_DAYS = 7
MAX_DAYS = 366
CHANGED = {
    (True, RightsChange.DONE): "coordinators.added",
    (True, RightsChange.ALREADY): "coordinators.already_added",
    (False, RightsChange.DONE): "coordinators.removed",
    (False, RightsChange.ALREADY): "coordinators.already_removed",
    (False, RightsChange.CONFIGURED): "coordinators.configured",
}


def period_buttons(actor: Actor) -> Keyboard:
    return inline(
        [
            [
                (
                    actor.t("stats.button_day")
                    if days == 1
                    else actor.t("stats.button_days", count=days),
                    pack(FLOW, "p", days),
                )
                for days in PERIODS
            ]
        ]
    )


async def _send_stats(chat: Chat, days: int) -> None:
    actor = chat.actor
    svc = actor.services
    figures = await gather(svc, days=days)
    title = actor.t("stats.title", date=f"{figures.today:%Y-%m-%d}")
    lines = report(actor, figures, title, svc.timezone)
    await send_report(chat, lines, keyboard=period_buttons(actor))
    await record_action(
        db=svc.db,
        actor_user_id=actor.user_id,
        action="coordinator.stats",
        now=svc.clock.now(),
        detail={"days": days},
    )


@coordinators_only
async def stats_command(chat: Chat) -> None:
    """/stats, /stats 7, /stats 30: the figures for a period, and the programme to date."""
    actor = chat.actor
    days = DEFAULT_DAYS
    if chat.args:
        try:
            days = integer_between(chat.args[0], low=1, high=MAX_DAYS)
        except Invalid:
            await chat.reply(actor.t("stats.usage", high=MAX_DAYS))
            return
    await _send_stats(chat, days)


@coordinators_only
async def on_period(chat: Chat) -> None:
    """A period button under a report: the report for that period, as a new message."""
    match = chat.match
    assert match is not None
    days = int(match["arg"] or 0)
    if not 1 <= days <= MAX_DAYS:
        await chat.notice(chat.actor.t("button.unknown"))
        return
    await chat.notice()
    await _send_stats(chat, days)


async def _change_rights(chat: Chat, *, grant: bool) -> None:
    actor = chat.actor
    args = chat.args
    parsed = parse_account(args[0]) if len(args) == 1 else None
    if parsed is None:
        await chat.reply(
            actor.t("coordinators.usage_add") if grant else actor.t("coordinators.usage_remove")
        )
        return
    platform, account = parsed
    shown = f"{platform}:{account}" if ":" in args[0] else account
    svc = actor.services
    outcome, user = await change_rights(
        db=svc.db,
        platform=platform,
        account=account,
        grant=grant,
        configured=svc.coordinator_ids,
        actor_user_id=actor.user_id,
        now=svc.clock.now(),
    )
    if outcome == RightsChange.UNKNOWN or user is None:
        await chat.reply(actor.t("coordinators.unknown", id=shown))
        return
    await chat.reply(actor.t(CHANGED[(grant, outcome)], id=shown))
    if outcome != RightsChange.DONE:
        return
    assert user.id is not None
    identity = await reachable_identity(db=svc.db, user_id=user.id)
    if identity is None:
        return
    target = Target.of(identity)
    reader = LocaleReader(svc.catalogs, svc.catalogs.locale_for(user.locale, None))
    await set_menu_of(svc, target, locale=reader.locale, role=user.role, is_coordinator=grant)
    await svc.outbox.send(
        target,
        View(
            reader.t("coordinators.told_added") if grant else reader.t("coordinators.told_removed")
        ),
    )


@coordinators_only
async def add_coordinator(chat: Chat) -> None:
    """/add_coordinator ACCOUNT: give someone who uses the bot coordinator rights."""
    await _change_rights(chat, grant=True)


@coordinators_only
async def remove_coordinator(chat: Chat) -> None:
    """/remove_coordinator ACCOUNT: take rights granted by command away again."""
    await _change_rights(chat, grant=False)


def register(router: Router) -> None:
    router.command("stats", stats_command)
    router.button(PERIOD_BUTTON, on_period)
    router.command("add_coordinator", add_coordinator)
    router.command("remove_coordinator", remove_coordinator)

"""/broadcast: a coordinator's notice to all specialists, all enterprises, or one city.

    /broadcast ─> audience ─> (city) ─> text ─> summary ─confirm─> preview, as recipients
        will see it, with the number of recipients: [📢 Send] [Cancel]
    Send ─> draft moves to sending (guarded: once, by its author) ─> a background job
        delivers it ─> "delivered to N of M" to the coordinator

Delivery runs as a JobQueue job, not inside the update: a notice to thousands takes
minutes at Telegram's ~30 messages a second, and an update holds its database
transaction until it ends. PTB's rate limiter paces the sends and retries a 429 after
its retry_after; a 429 that outlasts those retries is waited out here. Someone who
blocked the bot (or whose chat is gone) counts as failed and the rest carry on.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from telegram import Bot, InlineKeyboardMarkup, Message, Update
from telegram.error import RetryAfter, TelegramError
from telegram.ext import Application, CallbackContext, CallbackQueryHandler, CommandHandler

from handlers import form
from handlers.access import coordinators_only
from handlers.actor import Actor
from handlers.callbacks import pack, pattern
from handlers.form import Draft, Field, Form, Option, open_form
from handlers.i18n import Markup
from handlers.keyboards import inline, remove_keyboard
from handlers.services import Services, services
from handlers.specialist_views import LocaleReader, Reader
from handlers.validators import text_between
from matching import taxonomy
from storage.broadcasts import (
    Audience,
    Recipient,
    cancel_broadcast,
    create_broadcast,
    finish_broadcast,
    get_broadcast,
    recipients,
    start_broadcast,
)
from storage.dialogues import end_dialogue
from storage.models import Broadcast, Dialogue, User

log = logging.getLogger(__name__)

FLOW = "bc"  # the form
SEND_FLOW = "bcs"  # the preview's buttons
SEND_BUTTON = pattern(SEND_FLOW, "go|no", r"\d{1,9}")
TEXT_MIN, TEXT_MAX = 2, 3500  # leaves room for the heading within Telegram's 4096
BATCH = 30  # sends in flight at once; the rate limiter sets the actual pace
ATTEMPTS = 5  # per recipient, when Telegram keeps answering 429
AUDIENCES = {
    Audience.SPECIALISTS: "broadcast.audience_specialists",
    Audience.ENTERPRISES: "broadcast.audience_enterprises",
    Audience.CITY: "broadcast.audience_city",
}


def audience_options(actor: Actor, draft: Draft) -> list[Option]:
    return [Option(audience.value, actor.t(msgid)) for audience, msgid in AUDIENCES.items()]


def city_options(actor: Actor, draft: Draft) -> list[Option]:
    return [Option(city.code, city.name(actor.locale)) for city in taxonomy.cities()]


def parse_text(text: str, actor: Actor, draft: Draft) -> str:
    return text_between(text, low=TEXT_MIN, high=TEXT_MAX)


def audience_label(reader: Reader, broadcast: Broadcast) -> str:
    label = reader.t(AUDIENCES[Audience(broadcast.audience)])
    city = taxonomy.city(broadcast.city or "")
    return f"{label}: {city.name(reader.locale)}" if city else label


def notice(reader: Reader, text: str) -> Markup:
    """The message as a recipient reads it: a heading in their language, then the text."""
    return reader.t("broadcast.notice", text=text)


async def confirm(actor: Actor, draft: Draft, message: Message) -> None:
    """The form is confirmed: store a draft and show the preview with Send / Cancel."""
    if not actor.is_coordinator:
        await message.chat.send_message(actor.t("access.coordinators_only"))
        return
    svc = actor.services
    audience = Audience(draft["audience"])
    broadcast = await create_broadcast(
        db=svc.db,
        coordinator_user_id=actor.user_id,
        audience=audience,
        city=draft.get("city"),
        text=draft["text"],
        now=svc.clock.now(),
    )
    count = len(await recipients(db=svc.db, audience=audience, city=broadcast.city))
    assert broadcast.id is not None
    heading = actor.t("broadcast.preview", count=count, audience=audience_label(actor, broadcast))
    await message.chat.send_message(
        Markup(heading + "\n\n" + notice(actor, broadcast.text)),
        reply_markup=send_buttons(actor, broadcast.id, count),
    )


def send_buttons(actor: Actor, broadcast_id: int, count: int) -> InlineKeyboardMarkup:
    return inline(
        [
            [
                (actor.t("broadcast.send", count=count), pack(SEND_FLOW, "go", broadcast_id)),
                (actor.t("form.cancel"), pack(SEND_FLOW, "no", broadcast_id)),
            ]
        ]
    )


FORM = Form(
    flow=FLOW,
    fields=(
        Field(
            "audience",
            "broadcast.ask_audience",
            "broadcast.label_audience",
            options=audience_options,
        ),
        Field(
            "city",
            "broadcast.ask_city",
            "broadcast.label_city",
            options=city_options,
            when=lambda draft: draft.get("audience") == Audience.CITY.value,
        ),
        Field("text", "broadcast.ask_text", "broadcast.label_text", parse=parse_text),
    ),
    summary="broadcast.summary",
    confirm=confirm,
)


@coordinators_only
async def broadcast_command(update: Update, context: CallbackContext, actor: Actor) -> None:
    """/broadcast: write a notice, see it as recipients will, then send it."""
    assert update.effective_message is not None
    await open_form(FORM, update.effective_message, actor)


async def on_input(
    update: Update, context: CallbackContext, actor: Actor, dialogue: Dialogue
) -> None:
    """The notice's text typed while the form waits (coordinators only)."""
    if not actor.is_coordinator:
        await end_dialogue(db=actor.services.db, user_id=actor.user_id)
        assert update.effective_message is not None
        await update.effective_message.reply_text(actor.t("access.coordinators_only"))
        return
    await form.on_input(FORM, update, actor, dialogue)


@coordinators_only
async def on_send_button(update: Update, context: CallbackContext, actor: Actor) -> None:
    """Send (once) or cancel the previewed notice; only its author can."""
    query = update.callback_query
    assert query is not None and query.data is not None
    match = SEND_BUTTON.match(query.data)
    assert match is not None
    # The preview's buttons come off; a message the bot can no longer see keeps nothing.
    message = query.message if isinstance(query.message, Message) else None
    if match["arg"] is None:
        await query.answer(actor.t("button.unknown"))
        return
    svc, broadcast_id = actor.services, int(match["arg"])
    if match["action"] == "no":
        cancelled = await cancel_broadcast(
            db=svc.db, broadcast_id=broadcast_id, coordinator_user_id=actor.user_id
        )
        await query.answer(actor.t("broadcast.cancelled") if cancelled else actor.t("button.stale"))
        if cancelled and message is not None:
            await remove_keyboard(message)
        return
    started = await start_broadcast(
        db=svc.db,
        broadcast_id=broadcast_id,
        coordinator_user_id=actor.user_id,
        now=svc.clock.now(),
    )
    if started is None:
        await query.answer(actor.t("button.stale"))
        return
    await query.answer(actor.t("broadcast.started"))
    if message is not None:
        await remove_keyboard(message)
    assert context.job_queue is not None
    # The author's language goes along: the count reaches them in it, outside this update.
    context.job_queue.run_once(
        deliver_job, when=0, data=(broadcast_id, actor.locale), name=f"broadcast_{broadcast_id}"
    )


async def _deliver_one(bot: Bot, svc: Services, recipient: Recipient, text: str) -> bool:
    """One recipient; True once delivered, False if they cannot be reached."""
    reader = LocaleReader(svc.catalogs, svc.catalogs.locale_for(recipient.locale, None))
    for _ in range(ATTEMPTS):
        try:
            await bot.send_message(recipient.chat_id, notice(reader, text))
            return True
        except RetryAfter as flood:  # the limiter's own retries were not enough
            wait = flood.retry_after
            await asyncio.sleep(wait.total_seconds() if isinstance(wait, dt.timedelta) else wait)
        # Blocked the bot, left Telegram, ... or a network failure: the message may have
        # arrived, and a retry could deliver it twice, so it counts as failed.
        except TelegramError as error:
            log.info("broadcast not delivered to user %s: %s", recipient.user_id, error)
            return False
    return False


async def deliver(bot: Bot, svc: Services, broadcast_id: int) -> tuple[int, int, User | None]:
    """Send a started notice to everyone in its audience; (delivered, failed, its author)."""
    broadcast = await get_broadcast(db=svc.db, broadcast_id=broadcast_id)
    assert broadcast is not None
    people = await recipients(db=svc.db, audience=Audience(broadcast.audience), city=broadcast.city)
    delivered = 0
    for start in range(0, len(people), BATCH):
        batch = people[start : start + BATCH]
        results = await asyncio.gather(
            *(_deliver_one(bot, svc, person, broadcast.text) for person in batch)
        )
        delivered += sum(results)
    failed = len(people) - delivered
    author = await finish_broadcast(
        db=svc.db,
        broadcast_id=broadcast_id,
        delivered=delivered,
        failed=failed,
        now=svc.clock.now(),
    )
    return delivered, failed, author


async def deliver_job(context: CallbackContext) -> None:
    """The background delivery, then the count to the coordinator who sent it."""
    assert context.job is not None and isinstance(context.job.data, tuple)
    svc = services(context)
    broadcast_id, locale = context.job.data
    delivered, failed, author = await deliver(context.bot, svc, broadcast_id)
    if author is not None:
        reader = LocaleReader(svc.catalogs, locale)
        await context.bot.send_message(
            author.chat_id,
            reader.t(
                "broadcast.done",
                id=broadcast_id,
                delivered=delivered,
                total=delivered + failed,
                failed=failed,
            ),
        )


def register(application: Application, group: int) -> None:
    application.add_handler(CommandHandler("broadcast", broadcast_command), group)
    application.add_handler(CallbackQueryHandler(on_send_button, pattern=SEND_BUTTON), group)
    form.register(FORM, application, group)

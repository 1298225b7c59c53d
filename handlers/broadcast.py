"""/broadcast: a coordinator's notice to all specialists, all enterprises, or one city.

    /broadcast ─> audience ─> (city) ─> text ─> summary ─confirm─> preview, as recipients
        will see it, with the number of recipients: [📢 Send] [Cancel]
    Send ─> draft moves to sending (guarded: once, by its author) ─> a message to each
        recipient ─> as each settles, counted ─> "delivered to N of M" to the coordinator

The move to sending and every recipient's message are one unit of work (the press's
own): the messages are written to the outbox, which delivers them after the commit at
the pace each platform allows and retries while a platform is busy. Each message carries
the notice's key, so the outbox reports how it ended (delivered, or given up: the person
blocked the bot or left) in the transaction that records it; the last one to settle
finishes the notice and tells its author the count, once. A person the bot has no
account of to write to (erased, or never wrote) counts as failed at once.
"""

from __future__ import annotations

import logging

from handlers import form
from handlers.access import coordinators_only
from handlers.actor import Actor
from handlers.callbacks import pack, pattern
from handlers.core.chat import Chat
from handlers.core.router import Router
from handlers.core.views import Keyboard, View, inline
from handlers.form import Draft, Field, Form, Option, open_form
from handlers.i18n import Markup
from handlers.notify import notify
from handlers.services import Services
from handlers.specialist_views import LocaleReader, Reader
from handlers.validators import text_between
from matching import taxonomy
from storage.broadcasts import (
    Audience,
    cancel_broadcast,
    count_delivery,
    create_broadcast,
    finish_if_complete,
    get_broadcast,
    recipients,
    set_recipients,
    start_broadcast,
)
from storage.dialogues import end_dialogue
from storage.identities import reachable_identity
from storage.models import Broadcast, Dialogue, User

log = logging.getLogger(__name__)

FLOW = "bc"  # the form
SEND_FLOW = "bcs"  # the preview's buttons
SEND_BUTTON = pattern(SEND_FLOW, "go|no", r"\d{1,9}")
RECEIPTS = "broadcast:"  # outbox key prefix of a notice's messages: "broadcast:<id>:<user id>"
TEXT_MIN, TEXT_MAX = 2, 3500  # leaves room for the heading within a message's 4096
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


async def confirm(chat: Chat, draft: Draft) -> None:
    """The form is confirmed: store a draft and show the preview with Send / Cancel."""
    actor = chat.actor
    if not actor.is_coordinator:
        await chat.reply(actor.t("access.coordinators_only"))
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
    await chat.reply(
        Markup(heading + "\n\n" + notice(actor, broadcast.text)),
        send_buttons(actor, broadcast.id, count),
    )


def send_buttons(actor: Actor, broadcast_id: int, count: int) -> Keyboard:
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
async def broadcast_command(chat: Chat) -> None:
    """/broadcast: write a notice, see it as recipients will, then send it."""
    await open_form(FORM, chat)


async def on_input(chat: Chat, dialogue: Dialogue) -> None:
    """The notice's text typed while the form waits (coordinators only)."""
    actor = chat.actor
    if not actor.is_coordinator:
        await end_dialogue(db=actor.services.db, user_id=actor.user_id)
        await chat.reply(actor.t("access.coordinators_only"))
        return
    await form.on_input(FORM, chat, dialogue)


@coordinators_only
async def on_send_button(chat: Chat) -> None:
    """Send (once) or cancel the previewed notice; only its author can."""
    match = chat.match
    assert match is not None
    actor = chat.actor
    if match["arg"] is None:
        await chat.notice(actor.t("button.unknown"))
        return
    svc, broadcast_id = actor.services, int(match["arg"])
    if match["action"] == "no":
        cancelled = await cancel_broadcast(
            db=svc.db, broadcast_id=broadcast_id, coordinator_user_id=actor.user_id
        )
        await chat.notice(actor.t("broadcast.cancelled") if cancelled else actor.t("button.stale"))
        if cancelled:
            await chat.strip()  # the preview's buttons come off
        return
    started = await start_broadcast(
        db=svc.db,
        broadcast_id=broadcast_id,
        coordinator_user_id=actor.user_id,
        now=svc.clock.now(),
    )
    if started is None:
        await chat.notice(actor.t("button.stale"))
        return
    await chat.notice(actor.t("broadcast.started"))
    await chat.strip()
    await deliver(svc, broadcast_id)


async def deliver(svc: Services, broadcast_id: int) -> None:
    """Write a started notice to everyone in its audience, each in their language, in the
    caller's unit of work; the count comes as the messages settle (`delivery_settled`)."""
    broadcast = await get_broadcast(db=svc.db, broadcast_id=broadcast_id)
    assert broadcast is not None
    people = await recipients(db=svc.db, audience=Audience(broadcast.audience), city=broadcast.city)
    unreachable = 0
    for person in people:
        reader = LocaleReader(svc.catalogs, svc.catalogs.locale_for(person.locale, None))
        view = View(notice(reader, broadcast.text))
        key = f"{RECEIPTS}{broadcast_id}:{person.user_id}"
        if await svc.outbox.to_user(person.user_id, view, key=key) is None:
            log.info("broadcast not sent to user %s: no account to write to", person.user_id)
            unreachable += 1
    await set_recipients(
        db=svc.db, broadcast_id=broadcast_id, recipients=len(people), unreachable=unreachable
    )
    await _tell_author(
        svc, await finish_if_complete(db=svc.db, broadcast_id=broadcast_id, now=svc.clock.now())
    )


async def delivery_settled(svc: Services, key: str, delivered: bool) -> None:
    """A message of the outbox settled: if it was a notice's, count it; the last one tells
    the notice's author the count."""
    if not key.startswith(RECEIPTS):
        return
    broadcast_id = int(key.removeprefix(RECEIPTS).split(":", 1)[0])
    done = await count_delivery(
        db=svc.db, broadcast_id=broadcast_id, delivered=delivered, now=svc.clock.now()
    )
    await _tell_author(svc, done)


async def _tell_author(svc: Services, done: tuple[Broadcast, User] | None) -> None:
    if done is None:
        return
    broadcast, author = done
    # In the language they read the bot in when they sent it, as a reply would be.
    identity = await reachable_identity(db=svc.db, user_id=author.id or 0)
    language = identity.language if identity else None
    reader = LocaleReader(svc.catalogs, svc.catalogs.locale_for(author.locale, language))
    text = reader.t(
        "broadcast.done",
        id=broadcast.id,
        delivered=broadcast.delivered,
        total=broadcast.recipients,
        failed=broadcast.failed,
    )
    await notify(svc, author.id or 0, text)


def register(router: Router) -> None:
    router.command("broadcast", broadcast_command)
    router.button(SEND_BUTTON, on_send_button)
    form.register(FORM, router)
    router.dialogue(FLOW, on_input)

"""Applying one event, inside the unit of work the inbox opened for it.

    event ─> flood verdict? ─> the person (identity, user; someone's very first words
    open the conversation as /start would) ─> a typed reply that is a
    button's label (or number) becomes its press ─> a press's token becomes the flow's
    data, from its own person only ─> the router ─> every press answered

A token that resolves to nothing is stale (or forged), and so is a press on a
message the platform no longer shows the bot (every flow may rely on the
message being there); one drawn for someone else is refused; callback data
that is not a token at all comes from a Telegram message sent before tokens
existed and goes to the flows, whose own checks guard every button.
"""

from __future__ import annotations

import dataclasses
import logging

from handlers.actor import Actor, is_configured_coordinator
from handlers.core.capabilities import choice_for
from handlers.core.chat import Chat
from handlers.core.events import Event, Opened, Press, Text
from handlers.core.outbox import Target, new_ref
from handlers.core.router import Router
from handlers.core.views import Button, View
from handlers.services import Services
from storage.buttons import looks_like_token, resolve_token
from storage.identities import Seen, touch_identity
from storage.outbox import Shown, adopt_message, message_by_platform_id, shown_message

log = logging.getLogger(__name__)

WARN, DROP = "warn", "drop"  # flood verdicts given when the event arrived


async def handle_event(event: Event, *, flood: str | None, svc: Services, router: Router) -> None:
    sender = event.sender
    if flood is not None:
        await _flooded(event, flood, svc)
        return
    seen = await touch_identity(
        db=svc.db,
        platform=sender.platform,
        account=sender.account,
        address=sender.address,
        language=(sender.language or "")[:16] or None,
        now=svc.clock.now(),
    )
    actor = Actor(
        user=seen.user,
        identity=seen.identity,
        locale=svc.catalogs.locale_for(seen.user.locale, sender.language),
        is_coordinator=seen.user.is_coordinator or is_configured_coordinator(svc, seen.identity),
        services=svc,
    )
    if seen.first and isinstance(event.body, Text):
        # Someone's first words open the conversation, as /start would: where the platform
        # has no start button (WeCom), people begin by typing.
        event = dataclasses.replace(event, body=Opened())
    event = _typed_choice(event, seen)
    body = event.body
    if not isinstance(body, Press):
        chat = Chat(event, actor)
        await router.dispatch(chat)
        return
    token = looks_like_token(body.token)
    resolved = await resolve_token(db=svc.db, token=body.token) if token else None
    vanished = body.message is None and body.handle is not None  # not a typed choice
    if vanished or (token and resolved is None):
        await Chat(event, actor).notice(actor.t("button.stale"))
        return
    if resolved is not None and resolved[0] != actor.user_id:
        await Chat(event, actor).notice(actor.t("button.not_yours"), alert=True)
        return
    data = resolved[1] if resolved else body.token
    chat = Chat(event, actor, data=data, pressed=await _pressed(event, body, actor, svc))
    await router.dispatch(chat)
    await chat.finish()


def _typed_choice(event: Event, seen: Seen) -> Event:
    """A reply typed as a button's label (or its number, where buttons were drawn as
    numbered lines) is that button's press."""
    choices = seen.identity.choices
    if not isinstance(event.body, Text) or not choices:
        return event
    buttons = [Button(label, token) for label, token in choices.get("buttons", [])]
    button = choice_for(buttons, bool(choices.get("numbered")), event.body.text)
    if button is None:
        return event
    return Event(event.id, event.sender, Press(button.data, message=None))


async def _pressed(event: Event, press: Press, actor: Actor, svc: Services) -> Shown | None:
    """The message the button was on: found by the platform's id, or adopted when the bot
    sent it before it kept messages; for a typed choice, the message that offered it."""
    sender = event.sender
    if press.message is None:
        ref = (actor.identity.choices or {}).get("ref")
        if ref is None:
            return None
        return await shown_message(db=svc.db, ref=ref)
    found = await message_by_platform_id(
        db=svc.db, platform=sender.platform, address=sender.address, message=press.message
    )
    if found is not None:
        return found
    ref = new_ref()
    await adopt_message(
        db=svc.db,
        ref=ref,
        platform=sender.platform,
        address=sender.address,
        user_id=actor.user_id,
        message=press.message,
        now=svc.outbox.wall(),
    )
    return Shown(ref, sender.platform, sender.address, actor.user_id, None, "sent")


async def _flooded(event: Event, flood: str, svc: Services) -> None:
    """Too many events too fast: one polite notice, then silence (presses still answered)."""
    sender = event.sender
    target = Target(sender.platform, sender.address)
    catalogs = svc.catalogs
    text = catalogs.translate(catalogs.locale_for(None, sender.language), "flood.slow_down")
    if isinstance(event.body, Press):
        await svc.outbox.answer(
            target, event.body.handle, text if flood == WARN else None, alert=flood == WARN
        )
    elif flood == WARN:
        await svc.outbox.send(target, View(text))

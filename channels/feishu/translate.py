"""Feishu events (schema 2.0, as the long connection and the webhook both carry them) as
the core's events.

A message a person sends the bot in their one-to-one chat (`im.message.receive_v1`)
becomes a command or a text; rich text (`post`) is read as its words; anything else is an
attachment. A click on a card's button (`card.action.trigger`) carries the button's value,
whose `t` is the core's token, the message the card is, and the event's id, which the
channel's answer (a toast) is matched to. Group chats and other events translate to None:
acknowledged and otherwise ignored.

Feishu redelivers an event for hours when its acknowledgement is late, and the same
message can come on two connections, each time with a new event id: messages are
deduplicated on their message id, clicks (never redelivered) on their event id.
"""

from __future__ import annotations

import json
import re
from typing import Any

from handlers.core.events import Attachment, Body, Event, Press, Sender, Text, parse_command

PLATFORM = "feishu"
OPEN_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
ATTACHMENTS = {
    "image": "photo",
    "audio": "voice",
    "media": "video",
    "file": "document",
    "sticker": "sticker",
}
MENTION = re.compile(r"@_user_\d+\s*")  # how a mention of someone reads in a text's content


class NotAnEvent(ValueError):
    """A payload that is not a Feishu event the bot can read."""


def translate(payload: dict[str, Any]) -> Event | None:
    header = payload.get("header")
    event = payload.get("event")
    schema = payload.get("schema")
    if schema != "2.0" or not isinstance(header, dict) or not isinstance(event, dict):
        raise NotAnEvent("not a schema 2.0 event")
    kind = header.get("event_type")
    if kind == "im.message.receive_v1":
        return _message(event)
    if kind == "card.action.trigger":
        return _click(str(header.get("event_id", "")), event)
    return None


def _message(event: dict[str, Any]) -> Event | None:
    sender = event.get("sender") or {}
    message = event.get("message") or {}
    if sender.get("sender_type") != "user" or message.get("chat_type") != "p2p":
        return None  # another bot, or a group chat: the programme talks one to one
    account = _open_id((sender.get("sender_id") or {}).get("open_id"))
    message_id = str(message.get("message_id", ""))
    if not MESSAGE_ID.match(message_id):
        raise NotAnEvent("a message without its id")
    kind = message.get("message_type", "")
    body: Body
    if kind in ("text", "post"):
        text = _words(kind, message.get("content", ""))
        body = parse_command(text) or Text(text)
    else:
        body = Attachment(ATTACHMENTS.get(kind, "other"))
    return Event(id=f"m{message_id}", sender=_sender(account), body=body)


def _click(event_id: str, event: dict[str, Any]) -> Event:
    account = _open_id((event.get("operator") or {}).get("open_id"))
    value = (event.get("action") or {}).get("value")
    token = value.get("t") if isinstance(value, dict) else None
    if not event_id or not isinstance(token, str) or not token:
        raise NotAnEvent("a click without its event id or button")
    card = (event.get("context") or {}).get("open_message_id") or None
    press = Press(token=token, message=card, handle=event_id)
    return Event(id=f"c{event_id}"[:128], sender=_sender(account), body=press)


def _open_id(value: object) -> str:
    if not isinstance(value, str) or not OPEN_ID.match(value):
        raise NotAnEvent("no open_id")
    return value


def _sender(open_id: str) -> Sender:
    return Sender(platform=PLATFORM, account=open_id, address=open_id)


def _words(kind: str, content: object) -> str:
    """A text's or a rich text's words (Feishu sends the content as a JSON string)."""
    try:
        parsed = json.loads(content) if isinstance(content, str) else {}
    except ValueError:
        parsed = {}
    if not isinstance(parsed, dict):
        return ""
    if kind == "text":
        return MENTION.sub("", str(parsed.get("text", ""))).strip()
    # post: {"title": ..., "content": [[{"tag": "text", "text": ...}, ...], ...]}, perhaps
    # under a language key
    post = parsed if "content" in parsed else next(iter(parsed.values()), {})
    lines = []
    for paragraph in (post or {}).get("content") or []:
        words = "".join(
            str(part.get("text", ""))
            for part in paragraph
            if isinstance(part, dict) and part.get("tag") in ("text", "a", "md")
        )
        lines.append(words)
    title = str((post or {}).get("title") or "")
    return "\n".join(line for line in [title, *lines] if line).strip()

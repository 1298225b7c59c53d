"""DingTalk Stream callbacks as the core's events.

A message a person sends the robot in their one-to-one chat (topic
/v1.0/im/bot/messages/get, read with the SDK's `ChatbotMessage`) becomes a command or a
text; a picture, a voice note, a file or anything else is an attachment; rich text is
read as its words. A click on a card's button (topic /v1.0/card/instances/callback, read
with the SDK's `CardCallbackMessage`) carries the button's params, whose `t` is the
core's token, and the card's outTrackId, the message the core may redraw. Group chats
and messages from other robots translate to None: acknowledged and otherwise ignored.

DingTalk sends a callback again when its acknowledgement is late, and sometimes even
after it: a message keeps its msgId (its event id is `m<msgId>`), a click its frame's
messageId (`c<messageId>`), so the inbox applies each once.
"""

from __future__ import annotations

import json
import re
from typing import Any

from dingtalk_stream import CardCallbackMessage, ChatbotMessage

from handlers.core.events import Attachment, Body, Event, Press, Sender, Text, parse_command

PLATFORM = "dingtalk"
USERID = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
ATTACHMENTS = {
    "picture": "photo",
    "audio": "voice",
    "video": "video",
    "file": "document",
}


class NotAnEvent(ValueError):
    """A callback the bot cannot read."""


def message(data: dict[str, Any]) -> Event | None:
    """A robot message (the callback's data) as an event, or None for a group chat."""
    try:
        incoming = ChatbotMessage.from_dict(data)
    except (ValueError, TypeError, AttributeError, KeyError) as error:
        raise NotAnEvent(f"not a robot message ({error!r})") from None
    if str(incoming.conversation_type) != "1":
        return None  # a group chat: the programme talks one to one
    userid = _userid(incoming.sender_staff_id)
    message_id = str(incoming.message_id or "")
    if not message_id or len(message_id) > 120:
        raise NotAnEvent("a message without its msgId")
    kind = incoming.message_type or ""
    body: Body
    if kind in ("text", "richText"):
        text = _words(incoming, data)
        body = parse_command(text) or Text(text)
    else:
        body = Attachment(ATTACHMENTS.get(kind, "other"))
    nick = incoming.sender_nick if isinstance(incoming.sender_nick, str) else None
    return Event(id=f"m{message_id}", sender=_sender(userid, nick or None), body=body)


def click(message_id: str, data: dict[str, Any]) -> Event:
    """A click on a card's button: `message_id` is the frame's (a redelivery repeats it)."""
    try:
        callback = CardCallbackMessage.from_dict(data)
    except (ValueError, TypeError, AttributeError) as error:
        raise NotAnEvent(f"not a card callback ({error!r})") from None
    content = callback.content if isinstance(callback.content, dict) else {}
    private = content.get("cardPrivateData") or {}
    params = private.get("params") if isinstance(private, dict) else None
    token = params.get("t") if isinstance(params, dict) else None
    if not message_id or not isinstance(token, str) or not token:
        raise NotAnEvent("a click without its messageId or button")
    card = str(callback.card_instance_id or "") or None
    # A handle, though DingTalk has no notice to answer a click with: the core takes a press
    # without one for a typed reply, and would answer it as a reply, not as a short answer.
    press = Press(token=token, message=card, handle=message_id)
    return Event(id=f"c{message_id}"[:128], sender=_sender(_userid(callback.user_id)), body=press)


def _userid(value: object) -> str:
    if not isinstance(value, str) or not USERID.match(value):
        raise NotAnEvent("no staff userid")
    return value


def _sender(userid: str, name: str | None = None) -> Sender:
    return Sender(platform=PLATFORM, account=userid, address=userid, name=name)


def _words(incoming: ChatbotMessage, data: dict[str, Any]) -> str:
    if incoming.message_type == "text":
        return str((data.get("text") or {}).get("content", "")).strip()
    # richText: {"content": {"richText": [{"text": ...}, {"downloadCode": ...}, ...]}}
    content = data.get("content")
    if isinstance(content, str):
        try:
            content = json.loads(content)
        except ValueError:
            content = {}
    parts = (content or {}).get("richText") if isinstance(content, dict) else None
    words = [str(p["text"]) for p in parts or [] if isinstance(p, dict) and "text" in p]
    return "".join(words).strip()

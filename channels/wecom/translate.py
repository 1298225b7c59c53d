"""WeCom callbacks (decrypted XML) as the core's events.

A member's text becomes a command or a text; a click on a template card's
button arrives as `template_card_event` with the button's key (the core's
token), the card's task id (the id the channel gave the card) and a response
code that lets the bot change that card once; a click on the app's menu
arrives as a `click` event whose key is a command. Everything else WeCom
reports (entering the app, location, member changes) translates to None:
answered and otherwise ignored. A member who writes first gets the privacy
notice, as on any platform.

WeCom retries a callback it got no answer to within 5 s, with the same
content: messages are deduplicated on MsgId, events on who, when and what.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET

from handlers.core.events import Attachment, Body, Event, Press, Sender, Text, parse_command

PLATFORM = "wecom"
USERID = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")  # WeCom's account ids
# A card's button keys must differ; two buttons doing the same (a list of two pages, whose
# ‹ and › both open the other) carry the same token, told apart by a suffix no token has.
REPEATED_KEY = re.compile(r"^(?P<token>[A-Za-z0-9_-]+)~[1-9][0-9]*$")
ATTACHMENTS = {"image": "photo", "voice": "voice", "video": "video", "file": "document"}


class NotACallback(ValueError):
    """XML that is not a WeCom callback the bot can read."""


def parse(xml: str) -> dict[str, str]:
    """The callback's fields (the standard library's expat refuses entity expansion bombs
    and never fetches external entities; bodies are at most 64 KB)."""
    try:
        root = ET.fromstring(xml)  # noqa: S314 (expat 2.4+, size-capped: see above)
    except ET.ParseError as error:
        raise NotACallback("not XML") from error
    return {child.tag: (child.text or "") for child in root}


def translate(fields: dict[str, str]) -> Event | None:
    account = fields.get("FromUserName", "")
    if not USERID.match(account):
        raise NotACallback("no member")
    kind = fields.get("MsgType", "")
    if kind == "event":
        found = _event(fields)
        if found is None:
            return None
        event_id, body = found
    else:
        message_id = fields.get("MsgId", "")
        if not message_id or len(message_id) > 64:
            raise NotACallback("a message without MsgId")
        event_id = f"m{message_id}"
        if kind == "text":
            text = fields.get("Content", "")
            body = parse_command(text) or Text(text)
        else:
            body = Attachment(ATTACHMENTS.get(kind, "other"))
    sender = Sender(platform=PLATFORM, account=account, address=account)
    return Event(id=event_id[:128], sender=sender, body=body)


def button_keys(tokens: list[str]) -> list[str]:
    """The keys of a card's buttons: their tokens, a repeated one suffixed to differ."""
    seen: dict[str, int] = {}
    keys = []
    for token in tokens:
        seen[token] = seen.get(token, 0) + 1
        keys.append(token if seen[token] == 1 else f"{token}~{seen[token] - 1}")
    return keys


def token_of(key: str) -> str:
    """The token a clicked button's key stands for."""
    repeated = REPEATED_KEY.match(key)
    return repeated["token"] if repeated else key


def _event(fields: dict[str, str]) -> tuple[str, Body] | None:
    name = fields.get("Event", "")
    key = fields.get("EventKey", "")
    when = fields.get("CreateTime", "")
    who = fields["FromUserName"]
    if name == "template_card_event":
        card = fields.get("TaskId") or None
        code = fields.get("ResponseCode") or None
        body: Body = Press(token=token_of(key), message=card, handle=code)
        # Each click has a response code of its own, which a retry repeats: a button of the
        # same key clicked again on the redrawn card within the second is another click.
        return _digest("card", who, when, card, key, code), body
    if name == "click":
        command = parse_command(key)
        return None if command is None else (_digest("menu", who, when, key), command)
    return None


def _digest(*parts: str | None) -> str:
    """An event's id from what WeCom sends again on a retry (keys may be long)."""
    joined = "\x1f".join(part or "" for part in parts)
    return "e" + hashlib.sha256(joined.encode()).hexdigest()[:40]

"""Telegram updates as the core's events.

Private chats only: the bot is a one-to-one assistant. An update the core has
no use for (an edited message, a message without a sender or a chat, a
channel post, a member change, anything said in a group: the person's address
would become the group's, and their private messages would go there)
translates to None: it is acknowledged and nothing else happens.
"""

from __future__ import annotations

from telegram import Chat, Message, Update

from handlers.core.events import (
    Attachment,
    Body,
    Contact,
    Event,
    Press,
    Sender,
    Text,
    parse_command,
)

PLATFORM = "telegram"


def translate(update: Update) -> Event | None:
    query = update.callback_query
    if query is not None:
        message = query.message
        chat = message.chat if message is not None else None
        if chat is not None and chat.type != Chat.PRIVATE:
            return None
        address = chat.id if chat is not None else query.from_user.id
        # A message Telegram no longer shows the bot (dated 0) cannot be changed.
        shown = isinstance(message, Message) and message.is_accessible
        body: Body = Press(
            token=query.data or "",
            message=str(message.message_id) if shown and message is not None else None,
            handle=query.id,
        )
        user = query.from_user
    else:
        message = update.message
        if message is None or message.from_user is None or message.chat is None:
            return None
        if message.chat.type != Chat.PRIVATE:  # a group's id must never become their address
            return None
        user, address = message.from_user, message.chat.id
        found = _body(message)
        if found is None:
            return None
        body = found
    sender = Sender(
        platform=PLATFORM,
        account=str(user.id),
        address=str(address),
        name=user.first_name,
        language=user.language_code,
    )
    return Event(id=str(update.update_id), sender=sender, body=body)


def _body(message: Message) -> Body | None:
    if message.contact is not None:
        owner = message.contact.user_id
        own = owner is None or (message.from_user is not None and owner == message.from_user.id)
        return Contact(phone=message.contact.phone_number, own=own)
    if message.text is not None:
        return parse_command(message.text) or Text(message.text)
    for kind in ("photo", "voice", "document", "sticker", "video"):
        if getattr(message, kind):
            return Attachment(kind)
    return Attachment("other")

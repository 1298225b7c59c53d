"""Which Telegram updates become the core's events: private chats only, so a command typed
in a group never makes the group the place a person's private messages go."""

from __future__ import annotations

from typing import Any

from telegram import Update

from channels.telegram.translate import translate
from handlers.core.events import Command, Press

PERSON = {"id": 42, "is_bot": False, "first_name": "Ann", "language_code": "en"}


def message(chat: dict[str, Any], text: str = "/start") -> Update:
    return Update.de_json(
        {
            "update_id": 7,
            "message": {
                "message_id": 1,
                "date": 1_700_000_000,
                "chat": chat,
                "from": PERSON,
                "text": text,
                "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
            },
        },
        None,
    )


def test_a_private_command_is_an_event_addressed_to_the_person() -> None:
    event = translate(message({"id": 42, "type": "private", "first_name": "Ann"}))
    assert event is not None and isinstance(event.body, Command)
    assert (event.sender.account, event.sender.address) == ("42", "42")


def test_a_command_in_a_group_is_not_an_event() -> None:
    assert translate(message({"id": -100123, "type": "supergroup", "title": "Ops"})) is None
    assert translate(message({"id": -5, "type": "group", "title": "Lab"})) is None


def test_a_press_on_a_message_in_a_group_is_not_an_event() -> None:
    update = Update.de_json(
        {
            "update_id": 8,
            "callback_query": {
                "id": "q1",
                "from": PERSON,
                "chat_instance": "c",
                "data": "abc",
                "message": {
                    "message_id": 3,
                    "date": 1_700_000_000,
                    "chat": {"id": -5, "type": "group", "title": "Lab"},
                    "text": "hi",
                },
            },
        },
        None,
    )
    assert translate(update) is None
    private = update.to_dict()
    private["callback_query"]["message"]["chat"] = {"id": 42, "type": "private"}
    event = translate(Update.de_json(private, None))
    assert event is not None and isinstance(event.body, Press)

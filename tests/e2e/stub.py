"""A platform held in the test's own memory, behind a channel of its own: no Telegram object,
no HTTP. People write, share contacts and press buttons here; what the bot delivers lands
here, drawn as the core's views say (plain text, button labels, files).

It answers the same questions a journey asks of the Bot API emulator (`mark`, `events`,
`chat`, `last`, `press_button`, `callback_answers`, ...), so the journey suite plays on it
unchanged: what a flow does is proved on no particular platform. Its capabilities are a
constructor argument, so the same journeys can run where buttons are few, edits answer a
click only or do not exist, and phones are typed.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from channels.base import Accept, Delivered, Outcome, Route, Unreachable
from handlers.core.capabilities import Capabilities
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
from handlers.core.views import plain
from handlers.menus import Menus
from storage.outbox import Item

PLATFORM = "stub"
TELEGRAM_LIKE = Capabilities(
    edits="any",
    max_buttons=100,
    max_row=8,
    share_contact=True,
    menus=True,
    per_address_rate=1000.0,
    per_address_burst=1000,
    overall_rate=5000.0,
)


@dataclass(frozen=True)
class StubUser:
    id: int
    first_name: str
    language_code: str | None = None


@dataclass(frozen=True)
class StubMessage:
    """A message as the person sees it now."""

    chat_id: int
    message_id: int
    kind: Literal["text", "document", "photo"]
    text: str
    buttons: list[str]
    callback_data: list[str]
    contact_button: bool = False
    edited: bool = False
    deleted: bool = False
    document: tuple[str | None, bytes] | None = None
    photo: bytes | None = None

    @property
    def caption(self) -> str | None:
        return self.text if self.kind != "text" else None


@dataclass(frozen=True)
class StubAnswer:
    chat_id: int
    text: str | None
    show_alert: bool


@dataclass(frozen=True)
class StubEvent:
    seq: int
    kind: str  # user_action, bot_message, bot_edit, callback_answer, menu
    chat_id: int
    message: StubMessage | None = None
    answer: StubAnswer | None = None


@dataclass
class StubStats:
    sent: dict[str, int] = field(default_factory=dict)


class ChatLog:
    """What people did and what the bot showed them, in order, as a journey reads it; and
    the people's actions still being handed to the bot."""

    def __init__(self) -> None:
        self._events: list[StubEvent] = []
        self._pending: set[asyncio.Task[Any]] = set()

    def mark(self) -> int:
        return len(self._events)

    def events(self, chat_id: int | None = None, since: int = 0) -> list[StubEvent]:
        return [e for e in self._events[since:] if chat_id is None or e.chat_id == chat_id]

    async def wait_for_message(
        self,
        chat_id: int,
        predicate: Callable[[StubMessage], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 (the emulator's test API)
        after: int = 0,
    ) -> StubMessage:
        """The first message sent or changed in the chat after event `after` that matches."""
        async with asyncio.timeout(timeout):
            while True:
                for event in self.events(chat_id, after):
                    if event.message is not None and (
                        predicate is None or predicate(event.message)
                    ):
                        return event.message
                await asyncio.sleep(0.01)

    async def wait_until_idle(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Until every action was handed to the bot (kept in its inbox)."""
        async with asyncio.timeout(timeout):
            while self._pending:
                await asyncio.gather(*self._pending, return_exceptions=True)

    def _pend(self, action: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(action)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def _seq(self) -> int:
        return len(self._events) + 1

    def _log(self, event: StubEvent) -> None:
        self._events.append(event)


class StubPlatform(ChatLog):
    def __init__(self, capabilities: Capabilities = TELEGRAM_LIKE) -> None:
        super().__init__()
        self.capabilities = capabilities
        self.stats = StubStats()
        self._users: dict[int, StubUser] = {}
        self._messages: dict[int, dict[int, StubMessage]] = {}
        self._answers: list[StubAnswer] = []
        self._menus: dict[int, list[tuple[str, str]]] = {}
        self._blocked: set[int] = set()
        self._keyboards: dict[int, list[list[str]] | None] = {}
        self._event_ids = itertools.count(1)
        self.accept: Accept | None = None

    # --- people ------------------------------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        first_name: str = "测试",
        language_code: str | None = "zh-hans",
        **_: object,
    ) -> StubUser:
        user = StubUser(user_id, first_name, language_code)
        self._users[user_id] = user
        self._messages.setdefault(user_id, {})
        return user

    @property
    def users(self) -> list[StubUser]:
        return list(self._users.values())

    def user(self, user_id: int) -> StubUser:
        return self._users[user_id]

    def set_blocked(self, user: StubUser | int, blocked: bool = True) -> None:
        user_id = user.id if isinstance(user, StubUser) else user
        (self._blocked.add if blocked else self._blocked.discard)(user_id)

    def send_message(self, user: StubUser | int, text: str) -> None:
        self._act(user, parse_command(text) or Text(text))

    def send_contact(self, user: StubUser | int, phone_number: str, **_: object) -> None:
        self._act(user, Contact(phone_number, own=True))

    def send_photo(self, user: StubUser | int, **_: object) -> None:
        self._act(user, Attachment("photo"))

    def send_sticker(self, user: StubUser | int, **_: object) -> None:
        self._act(user, Attachment("sticker"))

    def send_voice(self, user: StubUser | int, **_: object) -> None:
        self._act(user, Attachment("voice"))

    def press_button(self, user: StubUser | int, label: str, message_id: int | None = None) -> None:
        chat = self._id(user)
        for message in reversed(list(self._messages[chat].values())):
            if message_id is not None and message.message_id != message_id:
                continue
            if label in message.buttons and not message.contact_button:
                token = message.callback_data[message.buttons.index(label)]
                self.press_callback(chat, message.message_id, token)
                return
        raise LookupError(f"no button {label!r} in chat {chat}")

    def press_callback(self, user: StubUser | int, message_id: int, data: str) -> None:
        """A press on a message of the chat; on one the chat does not have (long gone), the
        platform says the press came from a message it no longer shows."""
        known = message_id in self._messages.get(self._id(user), {})
        message = str(message_id) if known else None
        self._act(user, Press(data, message=message, handle=f"q{next(self._event_ids)}"))

    def _id(self, user: StubUser | int) -> int:
        return user.id if isinstance(user, StubUser) else user

    def _act(self, user: StubUser | int, body: Body) -> None:
        chat = self._id(user)
        person = self._users[chat]
        sender = Sender(PLATFORM, str(chat), str(chat), person.first_name, person.language_code)
        event = Event(f"e{next(self._event_ids)}", sender, body)
        self._log(StubEvent(self._seq(), "user_action", chat))
        assert self.accept is not None, "the bot is not running"
        self._pend(self.accept(event))

    # --- what people see ------------------------------------------------------------------------

    def chat(self, chat_id: int) -> list[StubMessage]:
        return list(self._messages.get(chat_id, {}).values())

    def last(self, chat_id: int) -> StubMessage:
        return self.chat(chat_id)[-1]

    def callback_answers(self, chat_id: int | None = None) -> list[StubAnswer]:
        return [a for a in self._answers if chat_id is None or a.chat_id == chat_id]

    def visible_commands(self, user: StubUser | int) -> list[tuple[str, str]]:
        return self._menus.get(self._id(user), [])

    def reply_keyboard(self, chat_id: int) -> list[list[str]] | None:
        """The keyboard under the input field (a share-phone button), if one is up."""
        return self._keyboards.get(chat_id)

    # --- the bot's side -----------------------------------------------------------------------

    def deliver(self, item: Item) -> Outcome:
        chat = int(item.address)
        if chat in self._blocked:
            return Unreachable("blocked")
        self.stats.sent[item.kind] = self.stats.sent.get(item.kind, 0) + 1
        body = item.body
        if item.kind == "answer":
            answer = StubAnswer(chat, body.get("text"), bool(body.get("alert")))
            self._answers.append(answer)
            self._log(StubEvent(self._seq(), "callback_answer", chat, answer=answer))
            return Delivered()
        if item.kind == "menu":
            self._menus[chat] = [(name, text) for name, text in body["commands"]]
            return Delivered()
        messages = self._messages.setdefault(chat, {})
        if item.kind in ("edit", "strip") and item.target_message is not None:
            old = messages.get(int(item.target_message))
            if old is not None:
                changed = replace(old, edited=True, **self._drawn(body, strip=item.kind == "strip"))
                messages[old.message_id] = changed
                self._log(StubEvent(self._seq(), "bot_edit", chat, message=changed))
                return Delivered(str(old.message_id))
        if item.kind == "strip":
            return Delivered()
        message_id = len(messages) + 1  # per chat, as Telegram counts them
        if item.kind == "file":
            data = item.blob or b""
            caption = plain(body.get("caption") or "")
            message = StubMessage(
                chat,
                message_id,
                "photo" if body.get("image") else "document",
                caption,
                [],
                [],
                document=None if body.get("image") else (body.get("name"), data),
                photo=data if body.get("image") else None,
            )
        else:
            message = StubMessage(chat, message_id, "text", **self._drawn(body))
            if body.get("contact"):
                self._keyboards[chat] = [[body["contact"]]]
            elif body.get("ends_contact"):
                self._keyboards[chat] = None
        messages[message_id] = message
        self._log(StubEvent(self._seq(), "bot_message", chat, message=message))
        return Delivered(str(message_id))

    def _drawn(self, body: dict[str, Any], *, strip: bool = False) -> dict[str, Any]:
        # Buttons drawn as numbered lines are not buttons here: the person types the number.
        hidden = strip or body.get("numbered")
        keyboard = [] if hidden else [b for row in body.get("keyboard", []) for b in row]
        contact = body.get("contact")
        return {
            "text": plain(body.get("text", "")).strip(),
            "buttons": [label for label, _ in keyboard] or ([contact] if contact else []),
            "callback_data": [token for _, token in keyboard],
            "contact_button": bool(contact) and not keyboard,
        }


class StubChannel:
    """The channel that connects the bot to a StubPlatform."""

    platform = PLATFORM

    def __init__(self, stub: StubPlatform) -> None:
        self.stub = stub
        self.capabilities = stub.capabilities

    def routes(self) -> list[Route]:
        return []

    async def start(self, accept: Accept) -> None:
        self.stub.accept = accept

    async def stop(self) -> None:
        self.stub.accept = None

    async def close(self) -> None:
        """Nothing to release."""

    async def deliver(self, item: Item) -> Outcome:
        return self.stub.deliver(item)

    async def announce(self, menus: Menus) -> None:
        """Default menus: the stub shows only a person's own."""

    def healthy(self) -> bool:
        return self.stub.accept is not None

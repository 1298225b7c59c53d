"""The journeys' people on Feishu: the Feishu emulator behind the questions a journey asks of
the Bot API emulator (`add_user`, `send_message`, `press_button`, `mark`, `events`, `chat`,
...), so the journey suite plays on Feishu with the real Feishu channel and the real
`lark-oapi` long connection.

Each action is what a Feishu user would do for the same intent: a button is clicked on its
card, or, where the bot offered more choices than a card holds, its number is typed; a phone
is typed (Feishu has no share-contact button); a photo or voice note is sent as Feishu sends
them. What the user sees is read from the emulator's chats: cards (changed in place when the
bot updates them), texts, files. A click's toast is read as Telegram's callback answer; an
answer that came too late for the toast arrives as a short message, which the channel
announces (`expect_answer`) and which is read as the toast it stands for. A file's caption,
which Feishu cannot attach, is a text just before the file, read as its caption.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from channels.feishu.emulator import FeishuEmulator, Message
from tests.e2e.stub import ChatLog, StubAnswer, StubEvent, StubMessage, StubUser

ENGLISH = "English"
NUMBERED = re.compile(r"^(\d+)\. (.+)$", re.MULTILINE)


class FeishuPeople(ChatLog):
    def __init__(self, feishu: FeishuEmulator) -> None:
        super().__init__()
        self.feishu = feishu
        self._users: dict[int, StubUser] = {}
        self._ids: dict[str, dict[str, int]] = {}  # open_id -> Feishu message id -> message id
        self._in_english: set[int] = set()
        self.typed = False  # the last press was a number typed, not a click
        self._answering: dict[str, list[tuple[str, bool]]] = {}  # answers sent as messages
        self._answers: list[StubAnswer] = []
        self._hidden: set[str] = set()  # messages read as answers or captions
        self._captioning: dict[str, list[str]] = {}
        self._caption: dict[str, Message] = {}
        self._captions: dict[str, str] = {}  # a file's message id -> its caption
        self._clicking: dict[str, int] = {}  # a card being clicked -> where its click is read
        feishu.watchers.append(self._seen)

    # --- people ------------------------------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        first_name: str = "测试",
        language_code: str | None = "zh-hans",
        **_: object,
    ) -> StubUser:
        """A user in the app's availability range (Feishu tells the bot no language)."""
        user = StubUser(user_id, first_name, language_code)
        self._users[user_id] = user
        self.feishu.add_user(str(user_id), first_name)
        return user

    @property
    def users(self) -> list[StubUser]:
        return list(self._users.values())

    def user(self, user_id: int) -> StubUser:
        return self._users[user_id]

    def send_message(self, user: StubUser | int, text: str) -> None:
        self._act(user, lambda who: self.feishu.send_text(who, text))

    def send_contact(self, user: StubUser | int, phone_number: str, **_: object) -> None:
        self.send_message(user, phone_number)  # typed: Feishu cannot share a contact

    def send_photo(self, user: StubUser | int, **_: object) -> None:
        self._act(user, lambda who: self.feishu.send_media(who, "image"))

    def send_sticker(self, user: StubUser | int, **_: object) -> None:
        self.send_photo(user)

    def send_voice(self, user: StubUser | int, **_: object) -> None:
        self._act(user, lambda who: self.feishu.send_media(who, "audio"))

    async def ready(self, user: StubUser, settle: Callable[[], Awaitable[None]]) -> None:
        """Before an English speaker's first action: Feishu tells the bot no language, so
        they ask for English (/language), as such a user would first."""
        if not self._speaks_english(user.id) or user.id in self._in_english:
            return
        self._in_english.add(user.id)
        self.send_message(user, "/language")
        await settle()
        self.press_button(user, ENGLISH)
        await settle()

    def press_button(self, user: StubUser | int, label: str, message_id: int | None = None) -> None:
        """Click `label` on the newest card that has it, or type its number where it was
        offered as a numbered line."""
        chat = self._id(user)
        self.typed = False
        found = self._find(chat, label, message_id)
        if found is None:
            raise LookupError(f"no button {label!r} in chat {chat}")
        self._act(chat, found)

    def _find(
        self, chat: int, label: str, message_id: int | None = None
    ) -> Callable[[str], Awaitable[Any]] | None:
        for message in reversed(self._chat(chat)):
            if message_id is not None and self._message_id(chat, message) != message_id:
                continue
            value = dict(message.buttons).get(label)
            if value is not None:
                return lambda who: self._click(who, message.message_id, value)
            numbers = {text: n for n, text in NUMBERED.findall(message.text)}
            if label in numbers:
                self.typed = True
                valued = any(text.strip().isdigit() for text in numbers)
                typed = label if valued else numbers[label]
                return lambda who: self.feishu.send_text(who, typed)
        return None

    async def _click(self, who: str, message_id: str, value: dict[str, Any]) -> None:
        # The card redrawn in the click's answer reads as Telegram's edit of it does: before
        # what the bot sent meanwhile (it arrives with the answer, a moment after them).
        self._clicking[message_id] = self.mark()
        try:
            answer = await self.feishu.click(who, message_id, value)
        finally:
            self._clicking.pop(message_id, None)
        toast = (answer or {}).get("toast")
        if toast:
            self._answer(int(who), str(toast.get("content")), toast.get("type") != "info")

    def _answer(self, chat: int, text: str | None, alert: bool) -> None:
        answer = StubAnswer(chat, text, show_alert=alert)
        self._answers.append(answer)
        self._log(StubEvent(self._seq(), "callback_answer", chat, answer=answer))

    def _speaks_english(self, chat: int) -> bool:
        return (self._users[chat].language_code or "").startswith("en")

    def press_callback(self, user: StubUser | int, message_id: int, data: str) -> None:
        """A click carrying `data` as its token, on the card `message_id` (or on one the
        user's Feishu no longer has)."""
        chat = self._id(user)
        found = [m for m in self._chat(chat) if self._message_id(chat, m) == message_id]
        card = found[0].message_id if found else "om_gone"
        self._act(chat, lambda who: self._click(who, card, {"t": data}))

    def _id(self, user: StubUser | int) -> int:
        return user.id if isinstance(user, StubUser) else user

    def _act(self, user: StubUser | int, call: Callable[[str], Any]) -> None:
        chat = self._id(user)
        self._log(StubEvent(self._seq(), "user_action", chat))
        self._pend(call(str(chat)))

    # --- what people see ------------------------------------------------------------------------

    def _chat(self, chat: int) -> list[Message]:
        return self.feishu.chat(str(chat))

    def _message_id(self, chat: int, message: Message) -> int:
        ids = self._ids.setdefault(str(chat), {})
        return ids.setdefault(message.message_id, len(ids) + 1)

    def expect_answer(self, who: str, text: str, *, alert: bool = False) -> None:
        """The channel is about to send `text` to `who` as its late answer to a click."""
        self._answering.setdefault(who, []).append((text, alert))

    def expect_caption(self, who: str, text: str) -> None:
        """The channel is about to send `text` to `who` as the caption of a file."""
        self._captioning.setdefault(who, []).append(text)

    def _seen(self, change: str, who: str, message: Message) -> None:
        if not who.isdigit():
            return
        chat = int(who)
        if change == "sent" and message.kind == "text":
            captioning = self._captioning.get(who, [])
            if message.text in captioning:
                captioning.remove(message.text)
                self._caption[who] = message
                self._hidden.add(message.message_id)
                return  # read with its file
            answering = self._answering.get(who, [])
            late = next((a for a in answering if a[0] == message.text), None)
            if late is not None:
                answering.remove(late)
                self._hidden.add(message.message_id)
                self._answer(chat, message.text, late[1])
                return
        if change == "sent" and message.kind in ("file", "image") and who in self._caption:
            self._captions[message.message_id] = self._caption.pop(who).text
        drawn = self._drawn(chat, message)
        if change == "updated":
            drawn = replace(drawn, edited=True)
        kind = "bot_edit" if change == "updated" else "bot_message"
        event = StubEvent(self._seq(), kind, chat, message=drawn)
        at = self._clicking.get(message.message_id) if change == "updated" else None
        if at is None:
            self._log(event)
        else:
            self._events.insert(at, event)

    def _drawn(self, chat: int, message: Message) -> StubMessage:
        caption = self._captions.get(message.message_id)
        kind = {"file": "document", "image": "photo"}.get(message.kind, "text")
        return StubMessage(
            chat,
            self._message_id(chat, message),
            kind,  # type: ignore[arg-type]
            caption if caption is not None else message.text,
            [label for label, _ in message.buttons],
            [str(value.get("t", "")) for _, value in message.buttons],
            edited=False,
            document=(message.name, message.media or b"") if kind == "document" else None,
            photo=message.media if kind == "photo" else None,
        )

    def chat(self, chat_id: int) -> list[StubMessage]:
        return [
            self._drawn(chat_id, m)
            for m in self._chat(chat_id)
            if m.message_id not in self._hidden
        ]

    def last(self, chat_id: int) -> StubMessage:
        return self.chat(chat_id)[-1]

    def callback_answers(self, chat_id: int | None = None) -> list[StubAnswer]:
        return [a for a in self._answers if chat_id is None or a.chat_id == chat_id]

    def visible_commands(self, user: StubUser | int) -> list[tuple[str, str]]:
        return []  # the bot's menu is set in Feishu's developer console

    def reply_keyboard(self, chat_id: int) -> list[list[str]] | None:
        return None

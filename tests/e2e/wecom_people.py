"""The journeys' people on WeCom: the WeCom emulator behind the questions a journey asks of the
Bot API emulator (`add_user`, `send_message`, `press_button`, `mark`, `events`, `chat`, ...),
so the journey suite plays on WeCom with the real WeCom channel, over HTTP both ways, with
real encryption and signatures.

Each action is what a WeCom member would do for the same intent: a button is clicked on its
card, or, where the bot offered more choices than a card holds, its number is typed; a phone
is typed (WeCom has no share-contact button); a photo or voice note is sent as WeCom sends
media. What the member sees is read from the emulator's chats: texts, cards (their buttons
gone once greyed), files; a card redrawn through a click's response code is an edit.
WeCom has no notice on a click: what Telegram shows as a toast arrives as a short message
of its own. The channel says which of its messages were such answers (`expect_answer`), and
they are read as a journey reads a toast (`callback_answers`), not among the chat's messages,
so a journey asks "what was the member told in answer to the press" the same way on every
platform. Likewise a file's caption, which WeCom cannot attach, comes as a text just before
the file: it is read as the file's caption.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from channels.wecom.emulator import Message, WeComEmulator
from tests.e2e.stub import ChatLog, StubAnswer, StubEvent, StubMessage, StubUser

ENGLISH = "English"
NUMBERED = re.compile(r"^(\d+)\. (.+)$", re.MULTILINE)


class WeComPeople(ChatLog):
    def __init__(self, wecom: WeComEmulator) -> None:
        super().__init__()
        self.wecom = wecom
        self._users: dict[int, StubUser] = {}
        self._ids: dict[str, dict[str, int]] = {}  # member -> WeCom msgid -> message id
        # A card that carries the buttons of the text before it (a text longer than a card
        # shows comes first, then a card titled with its first line): read as one message.
        self._leads: dict[str, Message] = {}  # the card's msgid -> that text
        self._in_english: set[int] = set()
        self.typed = False  # the last press was a number typed, not a click
        # Answers to clicks the channel is sending, as text messages: member -> their texts.
        self._answering: dict[str, list[str]] = {}
        self._answers: list[StubAnswer] = []
        self._answer_ids: set[str] = set()  # msgids of the messages that were such answers
        self._alerts: dict[tuple[str, str], bool] = {}
        self._captioning: dict[str, list[str]] = {}  # member -> captions of files being sent
        self._caption: dict[str, Message] = {}  # member -> the caption text just sent
        self._captions: dict[str, str] = {}  # a file's msgid -> the text sent as its caption
        self._caption_ids: set[str] = set()
        wecom.watchers.append(self._seen)

    # --- people ------------------------------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        first_name: str = "测试",
        language_code: str | None = "zh-hans",
        **_: object,
    ) -> StubUser:
        """A member of the app's visible range (WeCom tells the bot no language)."""
        user = StubUser(user_id, first_name, language_code)
        self._users[user_id] = user
        self.wecom.add_member(str(user_id), first_name)
        return user

    @property
    def users(self) -> list[StubUser]:
        return list(self._users.values())

    def user(self, user_id: int) -> StubUser:
        return self._users[user_id]

    def send_message(self, user: StubUser | int, text: str) -> None:
        self._act(user, lambda member: self.wecom.send_text(member, text))

    def send_contact(self, user: StubUser | int, phone_number: str, **_: object) -> None:
        self.send_message(user, phone_number)  # typed: WeCom cannot share a contact

    def send_photo(self, user: StubUser | int, **_: object) -> None:
        self._act(user, lambda member: self.wecom.send_media(member, "image"))

    def send_sticker(self, user: StubUser | int, **_: object) -> None:
        self.send_photo(user)  # WeCom's stickers arrive as images

    def send_voice(self, user: StubUser | int, **_: object) -> None:
        self._act(user, lambda member: self.wecom.send_media(member, "voice"))

    async def ready(self, user: StubUser, settle: Callable[[], Awaitable[None]]) -> None:
        """Before an English speaker's first action: WeCom tells the bot no language, so
        they ask for English (/language), as such a member would first."""
        if not self._speaks_english(user.id) or user.id in self._in_english:
            return
        self._in_english.add(user.id)
        self.send_message(user, "/language")
        await settle()
        self.press_button(user, ENGLISH)
        await settle()

    def press_button(self, user: StubUser | int, label: str, message_id: int | None = None) -> None:
        """Click `label` on the newest card that has it working, or type its number where
        it was offered as a numbered line."""
        chat = self._id(user)
        self.typed = False
        found = self._find(chat, label, message_id)
        if found is None and self._speaks_english(chat) and self._find(chat, ENGLISH) is not None:
            # WeCom tells the bot no language: an English speaker asks for English first.
            self._act(chat, lambda member: self._in_english_then(member, label))
            return
        if found is None:
            raise LookupError(f"no button {label!r} in chat {chat}")
        self._act(chat, found)

    def _find(
        self, chat: int, label: str, message_id: int | None = None
    ) -> Callable[[str], Awaitable[int]] | None:
        """How to choose `label`: its click, or its number typed."""
        for message in reversed(self._chat(chat)):
            if message_id is not None and self._message_id(chat, message) != message_id:
                continue
            if message.kind == "template_card" and not message.greyed:
                key = dict(message.buttons).get(label)
                if key is not None:
                    task = message.task_id or ""
                    return lambda member: self.wecom.click_key(member, task, key)
            numbers = {text: n for n, text in NUMBERED.findall(message.text)}
            if label in numbers:
                self.typed = True
                # Where the choices are numbers themselves (days, a count), the number meant
                # is typed, not its line's.
                valued = any(text.strip().isdigit() for text in numbers)
                typed = label if valued else numbers[label]
                return lambda member: self.wecom.send_text(member, typed)
        return None

    def _speaks_english(self, chat: int) -> bool:
        return (self._users[chat].language_code or "").startswith("en")

    async def _in_english_then(self, member: str, label: str) -> int:
        english = self._find(int(member), ENGLISH)
        assert english is not None
        await english(member)
        await self.wecom.wait_until(lambda: self._find(int(member), label) is not None)
        found = self._find(int(member), label)
        assert found is not None
        return await found(member)

    def press_callback(self, user: StubUser | int, message_id: int, data: str) -> None:
        """A click carrying `data` as its key, on the card `message_id` (or on one the member's
        WeCom no longer has)."""
        chat = self._id(user)
        found = [m for m in self._chat(chat) if self._message_id(chat, m) == message_id]
        task = next((m.task_id for m in found if m.task_id), None) or "gone"
        self._act(chat, lambda member: self.wecom.click_key(member, task, data))

    def _id(self, user: StubUser | int) -> int:
        return user.id if isinstance(user, StubUser) else user

    def _act(self, user: StubUser | int, call: Callable[[str], Any]) -> None:
        chat = self._id(user)
        self._log(StubEvent(self._seq(), "user_action", chat))
        self._pend(call(str(chat)))

    # --- what people see ------------------------------------------------------------------------

    def _chat(self, chat: int) -> list[Message]:
        return self.wecom.chat(str(chat))

    def _message_id(self, chat: int, message: Message) -> int:
        ids = self._ids.setdefault(str(chat), {})
        lead = self._leads.get(message.msgid)
        if lead is not None:
            return ids[lead.msgid]
        return ids.setdefault(message.msgid, len(set(ids.values())) + 1)

    def expect_answer(self, member: str, text: str, *, alert: bool = False) -> None:
        """The channel is about to send `text` to `member` as its answer to a click."""
        self._answering.setdefault(member, []).append(text)
        self._alerts[member, text] = alert

    def expect_caption(self, member: str, text: str) -> None:
        """The channel is about to send `text` to `member` as the caption of a file."""
        self._captioning.setdefault(member, []).append(text)

    def _seen(self, change: str, member: str, message: Message) -> None:
        if not member.isdigit():
            return
        chat = int(member)
        captioning = self._captioning.get(member, [])
        if change == "sent" and message.kind == "text" and message.text in captioning:
            captioning.remove(message.text)
            self._caption[member] = message
            self._caption_ids.add(message.msgid)
            return  # read with its file
        if change == "sent" and message.kind in ("file", "image") and member in self._caption:
            self._captions[message.msgid] = self._caption.pop(member).text
        answering = self._answering.get(member, [])
        if change == "sent" and message.kind == "text" and message.text in answering:
            answering.remove(message.text)
            self._answer_ids.add(message.msgid)
            alert = self._alerts.get((member, message.text), False)
            answer = StubAnswer(chat, message.text, show_alert=alert)
            self._answers.append(answer)
            self._log(StubEvent(self._seq(), "callback_answer", chat, answer=answer))
            return
        if change == "sent" and message.kind == "template_card":
            before = self._chat(chat)[:-1]
            if before and before[-1].kind == "text" and _carries(before[-1].text, message.text):
                self._leads[message.msgid] = before[-1]
        drawn = self._drawn(chat, message)
        if change == "updated":
            drawn = replace(drawn, edited=True)
        kind = "bot_edit" if change == "updated" else "bot_message"
        self._log(StubEvent(self._seq(), kind, chat, message=drawn))

    def _drawn(self, chat: int, message: Message) -> StubMessage:
        lead = self._leads.get(message.msgid)
        if lead is not None and _carries(lead.text, message.text):
            message = replace(message, text=lead.text)
        if message.msgid in self._captions:
            message = replace(message, text=self._captions[message.msgid])
        working = message.kind == "template_card" and not message.greyed
        buttons = list(message.buttons) if working else []
        kind = {"file": "document", "image": "photo"}.get(message.kind, "text")
        return StubMessage(
            chat,
            self._message_id(chat, message),
            kind,  # type: ignore[arg-type]
            message.text,
            [label for label, _ in buttons],
            [key for _, key in buttons],
            edited=False,
            document=(message.name, message.media or b"") if kind == "document" else None,
            photo=message.media if kind == "photo" else None,
        )

    def chat(self, chat_id: int) -> list[StubMessage]:
        led = {lead.msgid for lead in self._leads.values()}
        # Answers to clicks are read as answers, captions with their files.
        hidden = led | self._answer_ids | self._caption_ids
        return [self._drawn(chat_id, m) for m in self._chat(chat_id) if m.msgid not in hidden]

    def last(self, chat_id: int) -> StubMessage:
        return self.chat(chat_id)[-1]

    def callback_answers(self, chat_id: int | None = None) -> list[StubAnswer]:
        """What members were told in answer to their clicks, each as a message of its own."""
        return [a for a in self._answers if chat_id is None or a.chat_id == chat_id]

    def visible_commands(self, user: StubUser | int) -> list[tuple[str, str]]:
        return []  # one menu for the whole app, set in WeCom's console

    def reply_keyboard(self, chat_id: int) -> list[list[str]] | None:
        return None


def _carries(text: str, title: str) -> bool:
    """Whether a card titled `title` carries the buttons of `text`: its first line, whole
    or cut short."""
    first = text.partition("\n")[0]
    return title == first or (title.endswith("…") and first.startswith(title[:-1]))

"""The journeys' people on DingTalk: the DingTalk emulator behind the questions a journey
asks of the Bot API emulator (`add_user`, `send_message`, `press_button`, `mark`, `events`,
`chat`, ...), so the journey suite plays on DingTalk with the real DingTalk channel, its
Stream connection (the `dingtalk_stream` SDK's frames and handlers) and its HTTP calls.

Each action is what a DingTalk user would do for the same intent, and counts as done once
DingTalk has the bot's ack for it: a button is clicked on its card, or, where the bot
offered its choices as numbered lines (more than a card holds, or no card template), its
number is typed; a phone is typed (DingTalk has no share-contact button); a photo or voice
note is sent as DingTalk sends media. What the user sees is read from the emulator's
chats: cards (changed in place when the bot updates them), markdown and text messages,
files (an image file is read as a photo). A card's click shows no notice on DingTalk: the
bot answers with a short message, which the channel announces (`expect_answer`) and which
is read as the toast it stands for. A file's caption, which DingTalk cannot attach, is a
text just before the file, read as its caption.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace

from channels.dingtalk.emulator import CARD_TOPIC, DingTalkEmulator, Message
from tests.e2e.stub import ChatLog, StubAnswer, StubEvent, StubMessage, StubUser

ENGLISH = "English"
NUMBERED = re.compile(r"^(\d+)\. (.+)$", re.MULTILINE)
IMAGES = (".png", ".jpg", ".jpeg", ".gif")


class DingTalkPeople(ChatLog):
    def __init__(self, dingtalk: DingTalkEmulator) -> None:
        super().__init__()
        self.dingtalk = dingtalk
        self._users: dict[int, StubUser] = {}
        self._ids: dict[str, dict[str, int]] = {}  # userid -> DingTalk message id -> id
        self._in_english: set[int] = set()
        self.typed = False  # the last press was a number typed, not a click
        self._answering: dict[str, list[tuple[str, bool]]] = {}  # answers sent as messages
        self._answers: list[StubAnswer] = []
        self._hidden: set[str] = set()  # messages read as answers or captions
        self._captioning: dict[str, list[str]] = {}
        self._caption: dict[str, Message] = {}
        self._captions: dict[str, str] = {}  # a file's message id -> its caption
        dingtalk.watchers.append(self._seen)

    # --- people ------------------------------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        first_name: str = "测试",
        language_code: str | None = "zh-hans",
        **_: object,
    ) -> StubUser:
        """A member of the organisation (DingTalk tells the bot no language)."""
        user = StubUser(user_id, first_name, language_code)
        self._users[user_id] = user
        self.dingtalk.add_user(str(user_id), first_name)
        return user

    @property
    def users(self) -> list[StubUser]:
        return list(self._users.values())

    def user(self, user_id: int) -> StubUser:
        return self._users[user_id]

    def send_message(self, user: StubUser | int, text: str) -> None:
        self._act(user, lambda who: self.dingtalk.send_text(who, text))

    def send_contact(self, user: StubUser | int, phone_number: str, **_: object) -> None:
        self.send_message(user, phone_number)  # typed: DingTalk cannot share a contact

    def send_photo(self, user: StubUser | int, **_: object) -> None:
        self._act(user, lambda who: self.dingtalk.send_media(who, "picture"))

    def send_sticker(self, user: StubUser | int, **_: object) -> None:
        self.send_photo(user)  # a sticker reaches a robot as a picture

    def send_voice(self, user: StubUser | int, **_: object) -> None:
        self._act(user, lambda who: self.dingtalk.send_media(who, "audio"))

    async def ready(self, user: StubUser, settle: Callable[[], Awaitable[None]]) -> None:
        """Before an English speaker's first action: DingTalk tells the bot no language, so
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
    ) -> Callable[[str], Awaitable[str]] | None:
        for message in reversed(self._chat(chat)):
            if message_id is not None and self._message_id(chat, message) != message_id:
                continue
            params = dict(message.buttons).get(label)
            if params is not None and message.out_track_id:
                track = message.out_track_id
                return lambda who: self.dingtalk.click(who, track, params)
            numbers = {text: n for n, text in NUMBERED.findall(message.text)}
            if label in numbers:
                self.typed = True
                valued = any(text.strip().isdigit() for text in numbers)
                typed = label if valued else numbers[label]
                return lambda who: self.dingtalk.send_text(who, typed)
        return None

    def _speaks_english(self, chat: int) -> bool:
        return (self._users[chat].language_code or "").startswith("en")

    def press_callback(self, user: StubUser | int, message_id: int, data: str) -> None:
        """A click carrying `data` as its token, on the card `message_id` (or on one the
        user's DingTalk no longer has)."""
        chat = self._id(user)
        found = [m for m in self._chat(chat) if self._message_id(chat, m) == message_id]
        track = next((m.out_track_id for m in found if m.out_track_id), None)
        if track is not None:
            self._act(chat, lambda who: self.dingtalk.click(who, track, {"t": data}))
        else:
            self._act(chat, lambda who: self._stray_click(who, data))

    async def _stray_click(self, who: str, data: str) -> str:
        """A click on a card DingTalk knows no more: the callback as DingTalk sends it."""
        private = {"actionIds": ["action"], "params": {"t": data}}
        payload = {
            "extension": "{}",
            "corpId": self.dingtalk.corp_id,
            "type": "actionCallback",
            "userId": who,
            "userIdType": 1,
            "spaceType": "IM_ROBOT",
            "spaceId": who,
            "outTrackId": "gone",
            "content": json.dumps({"cardPrivateData": private}),
        }
        return self.dingtalk._push(CARD_TOPIC, payload)

    def _id(self, user: StubUser | int) -> int:
        return user.id if isinstance(user, StubUser) else user

    def _act(self, user: StubUser | int, call: Callable[[str], Awaitable[str]]) -> None:
        """One action, done once the bot acknowledged its callback (kept it)."""
        chat = self._id(user)
        self._log(StubEvent(self._seq(), "user_action", chat))

        async def acked() -> None:
            message_id = await call(str(chat))
            await self.dingtalk.wait_acked(message_id)

        self._pend(acked())

    # --- what people see ------------------------------------------------------------------------

    def _chat(self, chat: int) -> list[Message]:
        return self.dingtalk.chat(str(chat))

    def _message_id(self, chat: int, message: Message) -> int:
        ids = self._ids.setdefault(str(chat), {})
        return ids.setdefault(message.id, len(ids) + 1)

    def expect_answer(self, who: str, text: str, *, alert: bool = False) -> None:
        """The channel is about to send `text` to `who` as its answer to a click."""
        self._answering.setdefault(who, []).append((text, alert))

    def expect_caption(self, who: str, text: str) -> None:
        """The channel is about to send `text` to `who` as the caption of a file."""
        self._captioning.setdefault(who, []).append(text)

    def _seen(self, change: str, who: str, message: Message) -> None:
        if not who.isdigit():
            return
        chat = int(who)
        if change == "sent" and message.kind in ("text", "markdown"):
            captioning = self._captioning.get(who, [])
            if message.text in captioning:
                captioning.remove(message.text)
                self._caption[who] = message
                self._hidden.add(message.id)
                return  # read with its file
            answering = self._answering.get(who, [])
            answer = next((a for a in answering if a[0] == message.text), None)
            if answer is not None:
                answering.remove(answer)
                self._hidden.add(message.id)
                told = StubAnswer(chat, message.text, show_alert=answer[1])
                self._answers.append(told)
                self._log(StubEvent(self._seq(), "callback_answer", chat, answer=told))
                return
        if change == "sent" and message.kind == "file" and who in self._caption:
            self._captions[message.id] = self._caption.pop(who).text
        drawn = self._drawn(chat, message)
        if change == "updated":
            drawn = replace(drawn, edited=True)
        kind = "bot_edit" if change == "updated" else "bot_message"
        self._log(StubEvent(self._seq(), kind, chat, message=drawn))

    def _drawn(self, chat: int, message: Message) -> StubMessage:
        caption = self._captions.get(message.id)
        kind = "text"
        if message.kind == "file":
            image = (message.name or "").lower().endswith(IMAGES)
            kind = "photo" if image else "document"
        buttons = message.buttons if message.kind == "card" else ()
        return StubMessage(
            chat,
            self._message_id(chat, message),
            kind,  # type: ignore[arg-type]
            caption if caption is not None else message.text,
            [label for label, _ in buttons],
            [str(params.get("t", "")) for _, params in buttons],
            edited=False,
            document=(message.name, message.media or b"") if kind == "document" else None,
            photo=message.media if kind == "photo" else None,
        )

    def chat(self, chat_id: int) -> list[StubMessage]:
        return [self._drawn(chat_id, m) for m in self._chat(chat_id) if m.id not in self._hidden]

    def last(self, chat_id: int) -> StubMessage:
        return self.chat(chat_id)[-1]

    def callback_answers(self, chat_id: int | None = None) -> list[StubAnswer]:
        return [a for a in self._answers if chat_id is None or a.chat_id == chat_id]

    def visible_commands(self, user: StubUser | int) -> list[tuple[str, str]]:
        return []  # the robot's menu is set in DingTalk's developer console

    def reply_keyboard(self, chat_id: int) -> list[list[str]] | None:
        return None

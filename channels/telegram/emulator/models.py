"""Value types of the Bot API emulator: users, what the bot sent, events, answers, stats.

Everything a test or the playground reads is immutable (frozen dataclasses replaced on edit),
so a SentMessage captured by ``wait_for_message`` keeps showing the state it was captured in.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "ApiError",
    "CallbackAnswer",
    "EmulatorStats",
    "Event",
    "EventKind",
    "JSONDict",
    "MessageKind",
    "SentMessage",
    "StoredFile",
    "User",
]

JSONDict = dict[str, Any]
MessageKind = Literal["text", "document", "photo"]
EventKind = Literal[
    "user_message",  # a user's message was queued as an update
    "callback_query",  # a user pressed an inline button
    "bot_message",  # the bot sent a message
    "bot_edit",  # the bot edited one (text, caption or markup)
    "message_deleted",  # the bot deleted a message (its own or the user's)
    "callback_answer",  # the bot answered a callback query
]


class ApiError(Exception):
    """A Bot API failure, turned into Telegram's ``{"ok": false, ...}`` envelope."""

    def __init__(
        self, error_code: int, description: str, parameters: JSONDict | None = None
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def to_json(self) -> JSONDict:
        body: JSONDict = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters is not None:
            body["parameters"] = self.parameters
        return body


def bad_request(reason: str) -> ApiError:
    """400 with Telegram's ``Bad Request: `` prefix (python-telegram-bot strips it again)."""
    return ApiError(400, f"Bad Request: {reason}")


@dataclass(frozen=True)
class User:
    """A Telegram user talking to the bot; their private chat has the same id."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    @property
    def user_id(self) -> int:
        return self.id

    @property
    def chat_id(self) -> int:
        return self.id

    def to_api(self) -> JSONDict:
        """The Bot API ``User`` object (optional fields omitted when unset, as Telegram does)."""
        data: JSONDict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def chat_api(self) -> JSONDict:
        """The Bot API ``Chat`` object of the private chat with this user."""
        data: JSONDict = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        return data


@dataclass(frozen=True)
class StoredFile:
    """A file known to the emulator: uploaded by the bot, sent by a user, or referenced by URL.

    ``url`` is set (and ``data`` empty) when the bot sent an HTTP URL: the emulator never
    fetches anything from the network.
    """

    file_id: str
    file_unique_id: str
    data: bytes
    filename: str | None
    mime_type: str
    url: str | None = None

    @property
    def file_path(self) -> str:
        return f"files/{self.file_unique_id}"


@dataclass(frozen=True)
class SentMessage:
    """A message the bot sent, in its state after the event that produced this snapshot.

    ``text`` is the plain text (or caption) after entity parsing and Telegram's trimming;
    ``html`` is the raw string the bot sent (with tags when parse_mode was HTML).
    ``reply_markup`` is the markup as sent (inline, reply keyboard, remove or force reply).
    """

    chat_id: int
    message_id: int
    kind: MessageKind
    text: str
    html: str | None
    parse_mode: str | None
    entities: tuple[JSONDict, ...]
    reply_markup: JSONDict | None
    date: int
    seq: int
    edited: bool = False
    deleted: bool = False
    edit_date: int | None = None
    reply_to_message_id: int | None = None
    disable_notification: bool = False
    file: StoredFile | None = None

    @property
    def caption(self) -> str | None:
        return self.text if self.kind != "text" else None

    @property
    def inline_keyboard(self) -> list[list[JSONDict]]:
        markup = self.reply_markup or {}
        rows = markup.get("inline_keyboard")
        return rows if isinstance(rows, list) else []

    @property
    def buttons(self) -> list[str]:
        """Labels of the inline keyboard, row by row; of the reply keyboard when there is one."""
        markup = self.reply_markup or {}
        rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
        return [
            button["text"] if isinstance(button, dict) else str(button)
            for row in rows
            for button in row
        ]

    @property
    def callback_data(self) -> list[str]:
        """callback_data of every inline button that has one, row by row."""
        return [
            str(button["callback_data"])
            for row in self.inline_keyboard
            for button in row
            if "callback_data" in button
        ]

    @property
    def document(self) -> tuple[str | None, bytes] | None:
        """(filename, bytes) of a document message."""
        if self.kind != "document" or self.file is None:
            return None
        return self.file.filename, self.file.data

    @property
    def photo(self) -> bytes | None:
        if self.kind != "photo" or self.file is None:
            return None
        return self.file.data

    def to_json(self) -> JSONDict:
        """What the playground shows; file bytes are served by a separate URL."""
        data: JSONDict = {
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "kind": self.kind,
            "text": self.text,
            "html": self.html,
            "parse_mode": self.parse_mode,
            "entities": list(self.entities),
            "reply_markup": self.reply_markup,
            "buttons": self.buttons,
            "date": self.date,
            "seq": self.seq,
            "edited": self.edited,
            "deleted": self.deleted,
            "reply_to_message_id": self.reply_to_message_id,
        }
        if self.file is not None:
            data["file"] = {
                "filename": self.file.filename,
                "mime_type": self.file.mime_type,
                "size": len(self.file.data),
                "url": self.file.url or f"/_emulator/chats/{self.chat_id}/files/{self.message_id}",
            }
        return data


@dataclass(frozen=True)
class CallbackAnswer:
    """How the bot answered one callback query."""

    query_id: str
    chat_id: int | None
    user_id: int
    message_id: int | None
    data: str | None
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int | None
    seq: int

    def to_json(self) -> JSONDict:
        return {
            "query_id": self.query_id,
            "chat_id": self.chat_id,
            "user_id": self.user_id,
            "message_id": self.message_id,
            "data": self.data,
            "text": self.text,
            "show_alert": self.show_alert,
            "url": self.url,
            "seq": self.seq,
        }


@dataclass(frozen=True)
class Event:
    """One entry of the emulator's log; ``seq`` grows by one per event, across all chats.

    ``payload`` is the Bot API object involved (the user's Message or CallbackQuery, or the
    bot's Message as Telegram returned it); ``message`` the bot message snapshot, if any.
    """

    seq: int
    kind: EventKind
    chat_id: int | None
    message_id: int | None
    payload: JSONDict
    message: SentMessage | None = None
    answer: CallbackAnswer | None = None
    # When it happened, on this process's performance counter (latency measurements).
    at: float = field(default_factory=time.perf_counter, compare=False)

    def to_json(self) -> JSONDict:
        data: JSONDict = {
            "seq": self.seq,
            "kind": self.kind,
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "payload": self.payload,
        }
        if self.message is not None:
            data["message"] = self.message.to_json()
        if self.answer is not None:
            data["answer"] = self.answer.to_json()
        return data


@dataclass
class EmulatorStats:
    """Counters, per canonical Bot API method name (``sendMessage``, ...).

    ``sent`` counts successful send*/edit* calls, ``served_429`` the 429 answers (injected or
    from ``enforce_rate_limits``), ``errors`` every other failed call by method.
    """

    requests: Counter[str] = field(default_factory=Counter)
    sent: Counter[str] = field(default_factory=Counter)
    served_429: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    webhook_deliveries: int = 0
    webhook_retries: int = 0
    webhook_failures: int = 0
    webhook_failed_update_ids: list[int] = field(default_factory=list)
    dropped_updates: int = 0

    @property
    def total_429(self) -> int:
        return sum(self.served_429.values())

    def to_json(self) -> JSONDict:
        return {
            "requests": dict(self.requests),
            "sent": dict(self.sent),
            "served_429": dict(self.served_429),
            "errors": dict(self.errors),
            "webhook_deliveries": self.webhook_deliveries,
            "webhook_retries": self.webhook_retries,
            "webhook_failures": self.webhook_failures,
            "webhook_failed_update_ids": list(self.webhook_failed_update_ids),
            "dropped_updates": self.dropped_updates,
        }

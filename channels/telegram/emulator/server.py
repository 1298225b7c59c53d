"""A Telegram Bot API emulator on aiohttp: one bot, simulated users, real HTTP.

Why: end-to-end tests run the real python-telegram-bot ``Application`` against this server
(``ApplicationBuilder().base_url(emu.base_url)``), and the browser playground drives the user
side over ``/_emulator/``. The emulator therefore answers exactly like Telegram where the bot
can observe it (object shapes, error texts, HTTP status codes, limits) and is strict where
Telegram is lenient only when leniency hides a bot bug (see telegram_html: bare ``&``).

Choices made where Telegram is not documented (each one also noted where it is implemented):

* Lengths (text 4096, caption 1024, callback answer 200) are counted in UTF-16 code units,
  the unit of entity offsets. For text outside the BMP this is stricter than counting code
  points, so whatever passes here also passes on Telegram.
* Inline keyboards: more than 100 buttons in total or more than 8 in one row is answered
  "reply markup is too long" (the limits python-telegram-bot's constants carry).
* ``enforce_rate_limits``: two token buckets per send (sendMessage/sendDocument/sendPhoto;
  edits are not counted): one global bucket of 30 tokens refilled at 30/s, and one per chat of
  3 tokens refilled at 1/s. A send needs a token in both; otherwise 429 with ``retry_after`` the
  whole seconds (at least 1) until both have one. Time comes from the injectable clock.
* Webhooks are delivered one update at a time, in order, only to loopback URLs (plain http
  and any port allowed, unlike Telegram's https on 443/80/88/8443); a failing POST is tried
  ``webhook_max_attempts`` times in all with exponential backoff from ``webhook_backoff``
  seconds, then dropped and recorded in ``stats`` (Telegram keeps retrying for longer).
* editMessageText/Caption without reply_markup removes the inline keyboard, as Telegram does.
* setMyCommands & co. require language_code to be empty or two lowercase letters (the Bot API
  documents ISO 639-1; a user's "zh-hans" must be mapped to "zh").
* Error texts copied from Telegram where known; emulator wording (still "Bad Request: ...")
  for the few not observed: bad language_code, secret token characters, description lengths,
  BOT_COMMAND_DESCRIPTION_INVALID, empty inline button text, and Markdown being unsupported.
* Not emulated: groups and channels, inline mode, payments, media other than documents and
  photos from the bot, automatic url/mention entities in bot messages, the 48-hour edit window.

Everything runs on one asyncio loop and is not thread-safe; the synchronous user-side methods
(``send_message``, ``press_button``...) must be called from the loop's thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
import json
import logging
import math
import mimetypes
import re
import struct
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import EllipsisType
from typing import Any, Final, cast
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from .models import (
    ApiError,
    CallbackAnswer,
    EmulatorStats,
    Event,
    JSONDict,
    MessageKind,
    SentMessage,
    StoredFile,
    User,
    bad_request,
)
from .telegram_html import HtmlParseError, parse_html, trim_formatted, utf16_len

__all__ = ["BotApiEmulator", "Clock"]

_LOGGER = logging.getLogger(__name__)

Clock = Callable[[], datetime]
_Handler = Callable[["_Params"], Awaitable[Any]]

MAX_TEXT_LENGTH: Final = 4096
MAX_CAPTION_LENGTH: Final = 1024
MAX_CALLBACK_DATA_BYTES: Final = 64
MAX_INLINE_BUTTONS: Final = 100
MAX_INLINE_ROW: Final = 8
MAX_ANSWER_TEXT: Final = 200
MAX_COMMANDS: Final = 100
MAX_UPLOAD_BYTES: Final = 50 * 1024 * 1024  # Telegram's limit for bot uploads

SEND_METHODS: Final = frozenset({"sendMessage", "sendDocument", "sendPhoto"})
EDIT_METHODS: Final = frozenset({"editMessageText", "editMessageCaption", "editMessageReplyMarkup"})
FLOOD_METHODS: Final = SEND_METHODS | EDIT_METHODS

NOT_MODIFIED: Final = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD: Final = "query is too old and response timeout expired or query ID is invalid"
WEBHOOK_CONFLICT: Final = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
POLL_CONFLICT: Final = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)

_TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{1,32})?")
_BOT_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_LANG_RE = re.compile(r"^[a-z]{2}$")
_INLINE_ACTIONS = (
    "callback_data",
    "url",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "callback_game",
    "pay",
    "web_app",
    "copy_text",
)
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_SCOPE_TYPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
_DEFAULT_UPDATE_TYPES = frozenset({"message", "callback_query"})

ScopeKey = tuple[str, int | str | None, int | None]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _tiny_png() -> bytes:
    """A valid 1x1 PNG, the default payload of simulated user photos."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


_TINY_PNG: Final = _tiny_png()


def _image_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG (other formats: a plausible default, Telegram would know)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    return 512, 512


def _is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)


class _Signal:
    """Wakes every current waiter at once and re-arms; usable from synchronous code.

    Waiters take ``current()`` *before* checking their condition (no await in between), so a
    change can never slip between the check and the wait.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def current(self) -> asyncio.Event:
        return self._event

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()


async def _wait_event(event: asyncio.Event, seconds: float) -> bool:
    """True if the event fired within ``seconds`` (a timer, not a polling loop)."""
    if seconds <= 0:
        return event.is_set()
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True


@dataclass(frozen=True)
class _Upload:
    filename: str | None
    content_type: str
    data: bytes


class _Params:
    """Bot API parameters from any of the four encodings, with Telegram-like coercion.

    Form and multipart bodies carry everything as strings (python-telegram-bot JSON-encodes
    non-string values), JSON bodies carry native values; the getters accept both.
    """

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    def raw(self, name: str) -> Any:
        return self._values.get(name)

    def str_(self, name: str) -> str | None:
        value = self._values.get(name)
        if value is None:
            return None
        if isinstance(value, _Upload):
            raise bad_request(f'parameter "{name}" must be a string, not a file')
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str | int | float):
            return str(value)
        return _dumps(value)

    def int_(self, name: str) -> int | None:
        value = self._values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return int(value.strip())
        raise bad_request(f'field "{name}" must be of type Integer')

    def float_(self, name: str) -> float | None:
        value = self._values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return float(value.strip())
        raise bad_request(f'field "{name}" must be a Number')

    def bool_(self, name: str) -> bool:
        value = self._values.get(name)
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            return value != 0
        if isinstance(value, str):
            return value.strip().lower() in {"true", "1"}
        return False

    def json_(self, name: str, what: str | None = None) -> Any:
        value = self._values.get(name)
        if isinstance(value, str):
            if not value.strip():
                return None
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(f"can't parse {what or name} JSON object") from None
        if isinstance(value, _Upload):
            raise bad_request(f"can't parse {what or name} JSON object")
        return value

    def file_(self, name: str) -> _Upload | str | None:
        value = self._values.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            # python-telegram-bot uses attach:// for thumbnails and media groups.
            attached = self._values.get(value[len("attach://") :])
            if not isinstance(attached, _Upload):
                raise bad_request(f"file {value} not found in the request")
            return attached
        if value is None or isinstance(value, _Upload | str):
            return value
        raise bad_request(f'parameter "{name}" must be a file or a string')


@dataclass
class _Msg:
    """A message in a chat: the user's (stored as its API dict) or the bot's (SentMessage)."""

    message_id: int
    from_bot: bool
    user_api: JSONDict | None = None
    sent: SentMessage | None = None
    deleted: bool = False


@dataclass
class _Chat:
    user: User
    started: bool = False  # Telegram knows a private chat once the user has written
    blocked: bool = False
    messages: dict[int, _Msg] = field(default_factory=dict)
    next_message_id: int = 1
    reply_keyboard: JSONDict | None = None
    last_user_seq: int = 0


@dataclass
class _Query:
    query_id: str
    user_id: int
    chat_id: int
    message_id: int | None
    data: str | None
    created: datetime
    answered: bool = False


_SERVER_ERRORS = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


@dataclass
class _Injection:
    remaining: int
    retry_after: float
    method: str | None
    chat_id: int | None = None  # only calls to this chat
    status: int = 429  # or a server error (502, 503, ...) the way Telegram's front ends fail


@dataclass
class _Bucket:
    """Token bucket: ``capacity`` tokens, refilled at ``rate`` per second."""

    capacity: float
    rate: float
    tokens: float
    updated: float

    def refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def wait_time(self) -> float:
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


@dataclass
class _Webhook:
    url: str
    secret_token: str | None
    allowed_updates: list[str] | None
    max_connections: int
    last_error_date: int | None = None
    last_error_message: str | None = None


class BotApiEmulator:
    """Telegram Bot API for one bot, served over HTTP on loopback; users simulated in Python.

    Typical use::

        emu = BotApiEmulator()
        await emu.start()
        app = ApplicationBuilder().token(emu.token).base_url(emu.base_url).build()
        user = emu.add_user(1001, "王工", language_code="zh-hans")
        emu.send_message(user, "/start")
        reply = await emu.wait_for_message(user.id)
    """

    def __init__(
        self,
        token: str = "123456:TEST",  # noqa: S107 - a test token, the real one is never here
        bot_username: str = "techmatch_bot",
        bot_first_name: str = "TechMatch",
        *,
        strict_html: bool = True,
        enforce_rate_limits: bool = False,
        callback_query_timeout: float = 15.0,
        webhook_max_attempts: int = 4,
        webhook_backoff: float = 0.05,
        webhook_timeout: float = 10.0,
        clock: Clock | None = None,
        first_update_id: int = 1,
    ) -> None:
        if not _TOKEN_RE.match(token):
            raise ValueError(f"token {token!r} is not of the form <digits>:<letters>")
        if webhook_max_attempts < 1:
            raise ValueError("webhook_max_attempts must be at least 1")
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.strict_html = strict_html
        self.enforce_rate_limits = enforce_rate_limits
        self.callback_query_timeout = callback_query_timeout
        self.webhook_max_attempts = webhook_max_attempts
        self.webhook_backoff = webhook_backoff
        self.webhook_timeout = webhook_timeout
        self.stats = EmulatorStats()
        self._clock: Clock = clock or _utc_now

        self._chats: dict[int, _Chat] = {}
        self._updates: list[JSONDict] = []  # queued and not yet confirmed, in update_id order
        self._next_update_id = first_update_id
        self._allowed_updates: frozenset[str] | None = None
        self._queries: dict[str, _Query] = {}
        self._next_query_id = 4_180_000_000_000_000_001
        self._answers: list[CallbackAnswer] = []
        self._events: list[Event] = []  # _events[i].seq == i + 1
        self._files: dict[str, StoredFile] = {}
        self._next_file = 1
        self._commands: dict[tuple[ScopeKey, str], list[tuple[str, str]]] = {}
        self._descriptions: dict[tuple[str, str], str] = {}
        self._menu_buttons: dict[int | None, JSONDict] = {}
        self._injections: list[_Injection] = []
        self._global_bucket: _Bucket | None = None
        self._chat_buckets: dict[str, _Bucket] = {}

        self._webhook: _Webhook | None = None
        self._webhook_task: asyncio.Task[None] | None = None

        # Signals: _wake for long polls and the webhook sender, _event_signal for event
        # waiters, _activity for wait_until_idle, _pollers for wait_for_poller.
        self._wake = _Signal()
        self._event_signal = _Signal()
        self._activity = _Signal()
        self._pollers = _Signal()
        self._poll_generation = 0
        self._pollers_waiting = 0
        self._inflight = 0
        self._stopping = False

        self._runner: web.AppRunner | None = None
        self._host = "127.0.0.1"
        self._port = 0

        self._methods: dict[str, tuple[str, _Handler]] = {
            name.lower(): (name, handler)
            for name, handler in (
                ("getMe", self._m_get_me),
                ("getUpdates", self._m_get_updates),
                ("setWebhook", self._m_set_webhook),
                ("deleteWebhook", self._m_delete_webhook),
                ("getWebhookInfo", self._m_get_webhook_info),
                ("sendMessage", self._m_send_message),
                ("sendDocument", self._m_send_document),
                ("sendPhoto", self._m_send_photo),
                ("editMessageText", self._m_edit_message_text),
                ("editMessageCaption", self._m_edit_message_caption),
                ("editMessageReplyMarkup", self._m_edit_message_reply_markup),
                ("deleteMessage", self._m_delete_message),
                ("answerCallbackQuery", self._m_answer_callback_query),
                ("sendChatAction", self._m_send_chat_action),
                ("setMyCommands", self._m_set_my_commands),
                ("getMyCommands", self._m_get_my_commands),
                ("deleteMyCommands", self._m_delete_my_commands),
                ("setChatMenuButton", self._m_set_chat_menu_button),
                ("getChatMenuButton", self._m_get_chat_menu_button),
                ("getChat", self._m_get_chat),
                ("getFile", self._m_get_file),
                ("setMyDescription", self._m_set_my_description),
                ("getMyDescription", self._m_get_my_description),
                ("setMyShortDescription", self._m_set_my_short_description),
                ("getMyShortDescription", self._m_get_my_short_description),
                ("setMyName", self._m_set_my_name),
                ("getMyName", self._m_get_my_name),
            )
        }

    # ------------------------------------------------------------------ lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve on host:port (port 0 picks a free one). Only loopback hosts are accepted."""
        if self._runner is not None:
            raise RuntimeError("emulator already started")
        if not _is_loopback_host(host):
            raise ValueError(f"refusing to bind the emulator to non-loopback host {host!r}")
        # "localhost" may resolve to both 127.0.0.1 and ::1, and port 0 would then give two
        # different ports; bind one address so emu.url is unambiguous.
        bind = "127.0.0.1" if host.lower() == "localhost" else host.strip("[]")
        self._stopping = False
        runner = web.AppRunner(
            self._build_app(),
            handle_signals=False,
            access_log=None,
            # A client that gives up on a long poll must not leave a parked handler behind.
            handler_cancellation=True,
            shutdown_timeout=1.0,
        )
        await runner.setup()
        site = web.TCPSite(runner, bind, port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._host = bind
        self._port = int(runner.addresses[0][1])
        if self._webhook is not None:
            self._start_webhook_sender(self._webhook)

    async def stop(self) -> None:
        """Stop serving; parked long polls return empty, the webhook sender is cancelled."""
        self._stopping = True
        self._wake.fire()
        self._event_signal.fire()
        await self._stop_webhook_sender()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> BotApiEmulator:
        if self._runner is None:
            await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` once started."""
        if self._runner is None:
            raise RuntimeError("emulator not started")
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)``; python-telegram-bot appends the token."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``ApplicationBuilder().base_file_url(...)`` so ``File.download_*`` works."""
        return f"{self.url}/file/bot"

    @property
    def port(self) -> int:
        return self._port

    def set_clock(self, clock: Clock) -> None:
        """Use ``clock`` (returning an aware datetime) for dates, query age and rate limits."""
        if clock().tzinfo is None:
            raise ValueError("the clock must return timezone-aware datetimes")
        self._clock = clock

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the clock must return timezone-aware datetimes")
        return now

    def _timestamp(self) -> int:
        return int(self._now().timestamp())

    # ------------------------------------------------------------------ user side

    def add_user(
        self,
        user_id: int | None = None,
        first_name: str = "Test",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        *,
        started: bool = False,
    ) -> User:
        """Register a user (its private chat id is its user id); ids are picked if None.

        ``started`` makes the chat one the bot may already write to, as for someone who
        talked to the bot before (the playground's demo people).
        """
        if user_id is None:
            user_id = max([1000, *self._chats]) + 1
        if isinstance(user_id, bool) or not isinstance(user_id, int) or user_id <= 0:
            raise ValueError(f"user_id must be a positive integer, not {user_id!r}")
        if user_id == self.bot_id:
            raise ValueError("user_id equals the bot's id")
        if user_id in self._chats:
            raise ValueError(f"user {user_id} already exists")
        if not first_name:
            raise ValueError("first_name must not be empty")
        user = User(user_id, first_name, last_name, username, language_code)
        self._chats[user_id] = _Chat(user, started=started)
        return user

    @property
    def users(self) -> list[User]:
        return [chat.user for chat in self._chats.values()]

    def user(self, user_id: int) -> User:
        return self._chat(user_id).user

    def set_blocked(self, user: User | int, blocked: bool = True) -> None:
        """Simulate the user blocking the bot: sends then fail with 403 like Telegram."""
        self._chat(user).blocked = blocked

    def send_message(
        self, user: User | int, text: str, *, reply_to_message_id: int | None = None
    ) -> JSONDict:
        """Queue a text message from the user; a leading /command gets its bot_command entity."""
        if not text or not text.strip():
            raise ValueError("a Telegram message cannot be empty")
        if utf16_len(text) > MAX_TEXT_LENGTH:
            raise ValueError("a Telegram message is at most 4096 UTF-16 code units")
        content: JSONDict = {"text": text}
        match = _COMMAND_RE.match(text)
        if match:
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(match.group())}
            ]
        return self._user_message(user, content, reply_to_message_id)

    def send_contact(
        self,
        user: User | int,
        phone_number: str,
        first_name: str | None = None,
        last_name: str | None = None,
        user_id: int | EllipsisType | None = ...,
    ) -> JSONDict:
        """Queue a shared contact; user_id defaults to the sender's own id (None omits it)."""
        sender = self._chat(user).user
        contact: JSONDict = {
            "phone_number": phone_number,
            "first_name": first_name or sender.first_name,
        }
        if last_name:
            contact["last_name"] = last_name
        if user_id is ...:
            contact["user_id"] = sender.id
        elif user_id is not None:
            contact["user_id"] = user_id
        return self._user_message(user, {"contact": contact})

    def send_photo(
        self, user: User | int, data: bytes | None = None, *, caption: str | None = None
    ) -> JSONDict:
        """Queue a photo from the user (a 1x1 PNG unless data is given)."""
        stored = self._store_file(data if data is not None else _TINY_PNG, None, "image/jpeg")
        content: JSONDict = {"photo": self._photo_sizes(stored)}
        if caption:
            content["caption"] = caption
        return self._user_message(user, content)

    def send_sticker(self, user: User | int, emoji: str = "👍") -> JSONDict:
        stored = self._store_file(b"RIFF\x00\x00\x00\x00WEBP", "sticker.webp", "image/webp")
        sticker = {
            **self._file_ids(stored),
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": len(stored.data),
        }
        return self._user_message(user, {"sticker": sticker})

    def send_voice(self, user: User | int, duration: int = 2) -> JSONDict:
        stored = self._store_file(b"OggS\x00" + b"\x00" * 32, None, "audio/ogg")
        voice = {
            **self._file_ids(stored),
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(stored.data),
        }
        return self._user_message(user, {"voice": voice})

    def send_document(
        self,
        user: User | int,
        filename: str,
        data: bytes,
        *,
        mime_type: str | None = None,
        caption: str | None = None,
    ) -> JSONDict:
        mime = mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        stored = self._store_file(data, filename, mime)
        content: JSONDict = {"document": self._document_api(stored)}
        if caption:
            content["caption"] = caption
        return self._user_message(user, content)

    def press_button(
        self, user: User | int, label_or_data: str, message_id: int | None = None
    ) -> str:
        """Press an inline button of the newest bot message that has it; return the query id.

        ``label_or_data`` is the button's text, or ``"data:<callback_data>"``.
        """
        chat = self._chat(user)
        by_data = label_or_data.startswith("data:")
        needle = label_or_data[len("data:") :] if by_data else label_or_data
        seen: list[str] = []
        for msg in reversed(list(chat.messages.values())):
            sent = msg.sent
            if sent is None or msg.deleted or not sent.inline_keyboard:
                continue
            if message_id is not None and msg.message_id != message_id:
                continue
            for row in sent.inline_keyboard:
                for button in row:
                    value = button.get("callback_data") if by_data else button.get("text")
                    if value != needle:
                        continue
                    if "callback_data" not in button:
                        kinds = [k for k in _INLINE_ACTIONS if k in button]
                        raise LookupError(
                            f"button {button.get('text')!r} of message {msg.message_id} has no "
                            f"callback_data (it is a {', '.join(kinds) or 'plain'} button)"
                        )
                    return self._queue_callback(chat, msg, msg.message_id, button["callback_data"])
            seen.append(f"#{msg.message_id}: {sent.buttons}")
        where = f"message {message_id}" if message_id is not None else "any bot message"
        raise LookupError(
            f"no inline button {label_or_data!r} in {where} of chat {chat.user.id}; "
            f"available: {'; '.join(seen) or 'no inline keyboards'}"
        )

    def press_callback(self, user: User | int, message_id: int, callback_data: str) -> str:
        """Queue a callback query with arbitrary (even forged) data; return the query id.

        A message that does not exist (or was deleted) is sent as an inaccessible message
        (``date`` 0), as Telegram does for messages the bot can no longer see.
        """
        chat = self._chat(user)
        msg = chat.messages.get(message_id)
        if msg is not None and msg.deleted:
            msg = None
        return self._queue_callback(chat, msg, message_id, callback_data)

    def chat(self, chat_id: int) -> list[SentMessage]:
        """Every bot message of the chat in order, in its current state (deleted ones too)."""
        chat = self._chat(chat_id)
        return [m.sent for m in chat.messages.values() if m.sent is not None]

    def last(self, chat_id: int) -> SentMessage:
        """The newest bot message of the chat that is not deleted."""
        for sent in reversed(self.chat(chat_id)):
            if not sent.deleted:
                return sent
        raise LookupError(f"the bot has sent nothing to chat {chat_id}")

    def reply_keyboard(self, chat_id: int) -> list[list[str]] | None:
        """Labels of the reply keyboard the user currently sees, if any."""
        markup = self._chat(chat_id).reply_keyboard
        if markup is None:
            return None
        return [[str(b["text"]) for b in row] for row in markup["keyboard"]]

    def callback_answers(self, chat_id: int | None = None) -> list[CallbackAnswer]:
        return [a for a in self._answers if chat_id is None or a.chat_id == chat_id]

    def events(self, chat_id: int | None = None, since: int = 0) -> list[Event]:
        """Events with seq > since, optionally of one chat."""
        return [e for e in self._events[max(0, since) :] if chat_id is None or e.chat_id == chat_id]

    def mark(self) -> int:
        """The current event sequence number, for ``wait_for_message(after=...)``."""
        return len(self._events)

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates queued and not yet confirmed (or delivered by webhook)."""
        return list(self._updates)

    def commands(
        self, language_code: str | None = None, scope: str | JSONDict | None = None
    ) -> list[tuple[str, str]]:
        """Commands set for exactly this scope and language (as getMyCommands answers)."""
        key = self._scope_key(scope if isinstance(scope, dict) else {"type": scope or "default"})
        return list(self._commands.get((key, language_code or ""), []))

    def visible_commands(self, user: User | int) -> list[tuple[str, str]]:
        """The command menu a private-chat user sees, resolved in Telegram's documented order.

        Scope chat, all_private_chats, default; for each, the user's language (the first two
        letters of its language_code) before no language.
        """
        chat = self._chat(user)
        lang = (chat.user.language_code or "")[:2].lower()
        scopes: list[ScopeKey] = [("chat", chat.user.id, None), ("all_private_chats", None, None)]
        scopes.append(("default", None, None))
        for scope in scopes:
            for code in ([lang] if lang else []) + [""]:
                if (scope, code) in self._commands:
                    return list(self._commands[(scope, code)])
        return []

    def inject_429(
        self,
        count: int = 1,
        retry_after: float = 1,
        method: str | None = None,
        chat_id: int | None = None,
    ) -> None:
        """Make the next ``count`` send/edit calls (of ``method``, to ``chat_id``, if given)
        answer 429.

        ``retry_after`` may be fractional to keep tests fast; real Telegram sends integers.
        """
        if retry_after <= 0:
            raise ValueError("retry_after must be positive")
        self._injections.append(
            _Injection(self._count(count), retry_after, self._flood_method(method), chat_id)
        )

    def inject_error(
        self,
        status: int = 502,
        count: int = 1,
        method: str | None = None,
        chat_id: int | None = None,
    ) -> None:
        """Make the next ``count`` send/edit calls (of ``method``, to ``chat_id``, if given)
        fail with a server error, as Telegram's front ends do when a data centre is in
        trouble (502 Bad Gateway, 503, 504)."""
        if not 500 <= status <= 599:
            raise ValueError("a server error is a 5xx status")
        self._injections.append(
            _Injection(self._count(count), 0, self._flood_method(method), chat_id, status)
        )

    @staticmethod
    def _count(count: int) -> int:
        if count < 1:
            raise ValueError("count must be at least 1")
        return count

    def _flood_method(self, method: str | None) -> str | None:
        if method is None:
            return None
        entry = self._methods.get(method.lower())
        if entry is None or entry[0] not in FLOOD_METHODS:
            raise ValueError(f"{method!r} is not one of {sorted(FLOOD_METHODS)}")
        return entry[0]

    async def wait_for_message(
        self,
        chat_id: int,
        predicate: Callable[[SentMessage], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - the documented test API; seconds to wait
        after: int | None = None,
    ) -> SentMessage:
        """First bot message sent or edited in the chat after event ``after`` (and matching).

        ``after`` is an event sequence number (``emu.mark()``); by default the user's latest
        action in that chat, so ``send_message(...)`` then ``wait_for_message(...)`` returns
        the reply to it. Returns the snapshot of the message at that event.
        """
        chat = self._chat(chat_id)
        index = chat.last_user_seq if after is None else after
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            signal = self._event_signal.current()
            for event in self._events[index:]:
                if (
                    event.chat_id == chat_id
                    and event.kind in ("bot_message", "bot_edit")
                    and event.message is not None
                    and (predicate is None or predicate(event.message))
                ):
                    return event.message
            index = len(self._events)
            if self._stopping or not await _wait_event(signal, deadline - loop.time()):
                break
        received = [
            f"#{m.message_id}{' (deleted)' if m.deleted else ''}: {m.text[:80]!r} {m.buttons}"
            for m in self.chat(chat_id)
        ]
        raise TimeoutError(
            f"no matching bot message in chat {chat_id} after event "
            f"{chat.last_user_seq if after is None else after} within {timeout}s; "
            f"the chat has received: {received or 'nothing'}"
        )

    async def wait_until_idle(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109 - the documented test API; seconds to wait
        quiet: float = 0.05,
    ) -> None:
        """Return once every queued update was confirmed and the bot made no request for
        ``quiet`` seconds with none in flight.

        The bot's own processing is invisible to a server, so "idle" is a heuristic: raise
        ``quiet`` for handlers that pause longer between requests, or use wait_for_message.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            signal = self._activity.current()
            busy = bool(self._updates) or self._inflight > 0
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            fired = await _wait_event(signal, remaining if busy else min(quiet, remaining))
            if not fired and not busy:
                return
            if not fired:
                break
        raise TimeoutError(
            f"bot not idle after {timeout}s: {len(self._updates)} update(s) unconfirmed "
            f"(ids {[u['update_id'] for u in self._updates][:10]}), "
            f"{self._inflight} request(s) in flight"
        )

    async def wait_for_poller(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109 - the documented test API; seconds to wait
    ) -> None:
        """Return once a getUpdates long poll is parked on the server."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._pollers_waiting == 0:
            signal = self._pollers.current()
            if not await _wait_event(signal, deadline - loop.time()):
                raise TimeoutError(f"no getUpdates long poll within {timeout}s")

    # ------------------------------------------------------------------ internals: state

    def _chat(self, user: User | int) -> _Chat:
        user_id = user.id if isinstance(user, User) else user
        chat = self._chats.get(user_id)
        if chat is None:
            raise LookupError(f"unknown user/chat {user_id}; call add_user first")
        return chat

    def _new_seq(self) -> int:
        return len(self._events) + 1

    def _emit(self, event: Event) -> None:
        # Every caller builds the event with _new_seq() and emits it without awaiting, so
        # the log stays dense and ordered.
        assert event.seq == len(self._events) + 1, "events must be emitted in order"
        self._events.append(event)
        self._event_signal.fire()

    def _enqueue(self, kind: str, obj: JSONDict) -> JSONDict:
        update: JSONDict = {"update_id": self._next_update_id, kind: obj}
        self._next_update_id += 1
        if self._allowed_updates is not None and kind not in self._allowed_updates:
            self.stats.dropped_updates += 1  # Telegram never creates updates not asked for
            return update
        self._updates.append(update)
        self._wake.fire()
        self._activity.fire()
        return update

    def _user_message(
        self, user: User | int, content: JSONDict, reply_to_message_id: int | None = None
    ) -> JSONDict:
        chat = self._chat(user)
        chat.started = True
        message_id = chat.next_message_id
        chat.next_message_id += 1
        api: JSONDict = {
            "message_id": message_id,
            "from": chat.user.to_api(),
            "chat": chat.user.chat_api(),
            "date": self._timestamp(),
        }
        if reply_to_message_id is not None:
            target = chat.messages.get(reply_to_message_id)
            if target is None or target.deleted:
                raise LookupError(f"no message {reply_to_message_id} in chat {chat.user.id}")
            api["reply_to_message"] = self._message_api(target, with_reply=False)
        api.update(content)
        chat.messages[message_id] = _Msg(message_id, from_bot=False, user_api=api)
        if chat.reply_keyboard is not None and chat.reply_keyboard.get("one_time_keyboard"):
            chat.reply_keyboard = None  # the client hides a one-time keyboard after use
        seq = self._new_seq()
        self._emit(Event(seq, "user_message", chat.user.id, message_id, api))
        chat.last_user_seq = seq
        return self._enqueue("message", api)

    def _queue_callback(self, chat: _Chat, msg: _Msg | None, message_id: int, data: str) -> str:
        chat.started = True
        query_id = str(self._next_query_id)
        self._next_query_id += 1
        message = (
            self._message_api(msg)
            if msg is not None
            else {"chat": chat.user.chat_api(), "message_id": message_id, "date": 0}
        )
        query: JSONDict = {
            "id": query_id,
            "from": chat.user.to_api(),
            "message": message,
            "chat_instance": str((chat.user.id * 2_654_435_761) % 2**62),
            "data": data,
        }
        self._queries[query_id] = _Query(
            query_id, chat.user.id, chat.user.id, message_id, data, self._now()
        )
        seq = self._new_seq()
        self._emit(Event(seq, "callback_query", chat.user.id, message_id, query))
        chat.last_user_seq = seq
        self._enqueue("callback_query", query)
        return query_id

    def _store_file(self, data: bytes, filename: str | None, mime_type: str) -> StoredFile:
        number = self._next_file
        self._next_file += 1
        stored = StoredFile(
            file_id=f"EMU{number:06d}-{self.bot_id}",
            file_unique_id=f"U{number:06d}",
            data=data,
            filename=filename,
            mime_type=mime_type,
        )
        self._files[stored.file_id] = stored
        return stored

    @staticmethod
    def _file_ids(stored: StoredFile) -> JSONDict:
        return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}

    def _document_api(self, stored: StoredFile) -> JSONDict:
        data: JSONDict = {**self._file_ids(stored), "mime_type": stored.mime_type}
        if stored.filename:
            data["file_name"] = stored.filename
        if stored.data:
            data["file_size"] = len(stored.data)
        return data

    def _photo_sizes(self, stored: StoredFile) -> list[JSONDict]:
        # One size only: Telegram sends several, bots take photo[-1] (the largest).
        width, height = _image_size(stored.data)
        size: JSONDict = {**self._file_ids(stored), "width": width, "height": height}
        if stored.data:
            size["file_size"] = len(stored.data)
        return [size]

    def _bot_user_api(self) -> JSONDict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def _message_api(self, msg: _Msg, *, with_reply: bool = True) -> JSONDict:
        if msg.sent is None:
            return dict(msg.user_api or {})
        return self._bot_message_api(msg.sent, with_reply=with_reply)

    def _bot_message_api(self, sent: SentMessage, *, with_reply: bool = True) -> JSONDict:
        chat = self._chats[sent.chat_id]
        data: JSONDict = {
            "message_id": sent.message_id,
            "from": self._bot_user_api(),
            "chat": chat.user.chat_api(),
            "date": sent.date,
        }
        if sent.edit_date is not None:
            data["edit_date"] = sent.edit_date
        if with_reply and sent.reply_to_message_id is not None:
            target = chat.messages.get(sent.reply_to_message_id)
            if target is not None and not target.deleted:
                data["reply_to_message"] = self._message_api(target, with_reply=False)
        if sent.kind == "text":
            data["text"] = sent.text
            if sent.entities:
                data["entities"] = list(sent.entities)
        else:
            assert sent.file is not None
            if sent.kind == "document":
                data["document"] = self._document_api(sent.file)
            else:
                data["photo"] = self._photo_sizes(sent.file)
            if sent.text:
                data["caption"] = sent.text
                if sent.entities:
                    data["caption_entities"] = list(sent.entities)
        inline = _inline_rows(sent.reply_markup)
        if inline:  # Telegram returns reply_markup only for (non-empty) inline keyboards
            data["reply_markup"] = {"inline_keyboard": inline}
        return data

    # ------------------------------------------------------------------ internals: checks

    def _target_chat(self, p: _Params, name: str = "chat_id") -> _Chat:
        raw = p.raw(name)
        if raw is None or raw == "":
            raise bad_request(f"{name} is empty")
        try:
            chat_id = int(str(raw).strip())
        except ValueError:
            raise bad_request("chat not found") from None  # @usernames: no groups/channels here
        chat = self._chats.get(chat_id)
        if chat is None or not chat.started:
            raise bad_request("chat not found")
        if chat.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _format(
        self, raw: str, parse_mode: str | None, entities: Any, *, caption: bool
    ) -> tuple[str, tuple[JSONDict, ...]]:
        """Text and entities as Telegram stores them, or Telegram's error."""
        mode = (parse_mode or "").strip()
        if not mode:
            plain, found = raw, _validate_entities(entities, raw)
        elif mode.lower() == "html":
            try:
                parsed = parse_html(raw, strict=self.strict_html)
            except HtmlParseError as exc:
                raise bad_request(exc.description) from None
            plain, found = parsed.text, parsed.entities
        elif mode.lower() in {"markdown", "markdownv2"}:
            raise bad_request(
                f'unsupported parse_mode "{mode}": this emulator implements only HTML'
            )
        else:
            raise bad_request("unsupported parse_mode")
        trimmed = trim_formatted(plain, found)
        length = utf16_len(trimmed.text)
        if caption:
            if length > MAX_CAPTION_LENGTH:
                raise bad_request("message caption is too long")
        elif length == 0:
            raise bad_request("message text is empty")
        elif length > MAX_TEXT_LENGTH:
            raise bad_request("message is too long")
        return trimmed.text, tuple(trimmed.entities)

    def _parse_markup(self, p: _Params) -> JSONDict | None:
        markup = p.json_("reply_markup", "reply keyboard markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            return {**markup, "inline_keyboard": _validate_inline_keyboard(markup)}
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request(
                    'field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays'
                )
            normalized = [
                [b if isinstance(b, dict) else {"text": str(b)} for b in row] for row in rows
            ]
            for row in normalized:
                for button in row:
                    if not isinstance(button.get("text"), str) or not button["text"]:
                        raise bad_request("keyboard button text must be non-empty")
            return {**markup, "keyboard": normalized}
        if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
            return markup
        raise bad_request("can't parse reply keyboard markup JSON object")

    def _inline_markup_only(self, p: _Params) -> JSONDict | None:
        markup = self._parse_markup(p)
        if markup is not None and "inline_keyboard" not in markup:
            raise bad_request("inline keyboard expected")
        return markup

    def _reply_target(self, chat: _Chat, p: _Params) -> int | None:
        params = p.json_("reply_parameters", "reply parameters")
        if params is None:
            legacy = p.int_("reply_to_message_id")
            if legacy is None:
                return None
            params = {
                "message_id": legacy,
                "allow_sending_without_reply": p.bool_("allow_sending_without_reply"),
            }
        if not isinstance(params, dict) or not isinstance(params.get("message_id"), int):
            raise bad_request("can't parse reply parameters JSON object")
        target = chat.messages.get(params["message_id"])
        if target is None or target.deleted:
            if params.get("allow_sending_without_reply"):
                return None
            raise bad_request("message to be replied not found")
        return int(params["message_id"])

    def _too_many(self, retry_after: float) -> ApiError:
        value: float | int = int(retry_after) if float(retry_after).is_integer() else retry_after
        return ApiError(429, f"Too Many Requests: retry after {value}", {"retry_after": value})

    def _check_flood(self, method: str, p: _Params) -> str | None:
        """Serve an injected 429 or enforce the rate rule; return the chat key to charge."""
        if method not in FLOOD_METHODS:
            return None
        chat = p.raw("chat_id")
        for injection in self._injections:
            if (injection.method is None or injection.method == method) and (
                injection.chat_id is None or str(injection.chat_id) == str(chat)
            ):
                injection.remaining -= 1
                if injection.remaining <= 0:
                    self._injections.remove(injection)
                if injection.status != 429:
                    raise ApiError(injection.status, _SERVER_ERRORS.get(injection.status, "Error"))
                raise self._too_many(injection.retry_after)
        if not self.enforce_rate_limits or method not in SEND_METHODS:
            return None
        now = self._now().timestamp()
        key = str(p.raw("chat_id"))
        if self._global_bucket is None:
            self._global_bucket = _Bucket(30, 30.0, 30, now)
        bucket = self._chat_buckets.setdefault(key, _Bucket(3, 1.0, 3, now))
        self._global_bucket.refill(now)
        bucket.refill(now)
        wait = max(self._global_bucket.wait_time(), bucket.wait_time())
        if wait > 0:
            raise self._too_many(max(1, math.ceil(wait)))
        return key

    def _charge_rate(self, key: str) -> None:
        if self._global_bucket is not None:
            self._global_bucket.tokens -= 1
        self._chat_buckets[key].tokens -= 1

    def _scope_key(self, scope: Any) -> ScopeKey:
        if scope is None:
            return ("default", None, None)
        if not isinstance(scope, dict) or scope.get("type") not in _SCOPE_TYPES:
            raise bad_request("can't parse BotCommandScope JSON object")
        kind = str(scope["type"])
        if kind in {"chat", "chat_administrators", "chat_member"}:
            chat_id = scope.get("chat_id")
            if chat_id is None or chat_id == "":
                raise bad_request("chat_id is empty")
            if isinstance(chat_id, str) and chat_id.lstrip("-").isdigit():
                chat_id = int(chat_id)
            user_id = None
            if kind == "chat_member":
                if not isinstance(scope.get("user_id"), int):
                    raise bad_request("user_id is empty")
                user_id = int(scope["user_id"])
            return (kind, chat_id, user_id)
        return (kind, None, None)

    def _language(self, p: _Params) -> str:
        code = p.str_("language_code") or ""
        if code and not _LANG_RE.match(code):
            # Telegram documents a two-letter ISO 639-1 code: "zh-hans" must become "zh".
            raise bad_request(f"invalid language_code {code!r}: expected a two-letter code")
        return code

    # ------------------------------------------------------------------ Bot API methods

    async def _m_get_me(self, p: _Params) -> JSONDict:
        return {
            **self._bot_user_api(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _m_get_updates(self, p: _Params) -> list[JSONDict]:
        if self._webhook is not None:
            raise ApiError(409, WEBHOOK_CONFLICT)
        offset = p.int_("offset")
        limit = min(100, max(1, p.int_("limit") or 100))
        timeout = max(0.0, p.float_("timeout") or 0.0)
        allowed = p.json_("allowed_updates", "allowed updates")
        if isinstance(allowed, list):
            # Telegram: an empty list means the default set; omitted keeps the previous one.
            self._allowed_updates = frozenset(map(str, allowed)) if allowed else None
        if offset is not None:
            self._confirm(offset)
        # A newer getUpdates terminates a parked one, as Telegram does with two pollers.
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake.fire()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            signal = self._wake.current()
            if self._updates or self._stopping:
                return list(self._updates[:limit])
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            self._pollers_waiting += 1
            self._pollers.fire()
            try:
                await _wait_event(signal, remaining)
            finally:
                self._pollers_waiting -= 1
            if generation != self._poll_generation:
                raise ApiError(409, POLL_CONFLICT)
            if self._webhook is not None:
                raise ApiError(409, WEBHOOK_CONFLICT)

    def _confirm(self, offset: int) -> None:
        before = len(self._updates)
        if offset < 0:
            # Negative offsets keep only the last -offset updates, forgetting older ones.
            self._updates = self._updates[offset:]
        else:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if len(self._updates) != before:
            self._activity.fire()

    async def _m_set_webhook(self, p: _Params) -> bool:
        url = (p.str_("url") or "").strip()
        if not url:
            await self._remove_webhook(p.bool_("drop_pending_updates"))
            return True
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise bad_request("bad webhook: Webhook URL must be an HTTP(S) URL")
        if not _is_loopback_host(parts.hostname):
            # Deliberate: the emulator never sends test data off the machine.
            raise bad_request("bad webhook: this emulator delivers only to loopback addresses")
        secret = p.str_("secret_token")
        if secret is not None and not _SECRET_RE.match(secret):
            raise bad_request("secret token contains unallowed characters")
        allowed = p.json_("allowed_updates", "allowed updates")
        if allowed is not None and not isinstance(allowed, list):
            raise bad_request("can't parse allowed updates JSON object")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(map(str, allowed)) if allowed else None
        if p.bool_("drop_pending_updates"):
            self._drop_pending()
        hook = _Webhook(url, secret, allowed, p.int_("max_connections") or 40)
        await self._stop_webhook_sender()
        self._webhook = hook
        self._wake.fire()  # parked long polls now answer 409
        if self._runner is not None:
            self._start_webhook_sender(hook)
        return True

    async def _m_delete_webhook(self, p: _Params) -> bool:
        await self._remove_webhook(p.bool_("drop_pending_updates"))
        return True

    async def _remove_webhook(self, drop_pending: bool) -> None:
        await self._stop_webhook_sender()
        self._webhook = None
        if drop_pending:
            self._drop_pending()

    def _drop_pending(self) -> None:
        if self._updates:
            self._updates.clear()
            self._activity.fire()

    async def _m_get_webhook_info(self, p: _Params) -> JSONDict:
        hook = self._webhook
        info: JSONDict = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if hook is not None:
            info["max_connections"] = hook.max_connections
            info["ip_address"] = "127.0.0.1"
            if hook.allowed_updates is not None:
                info["allowed_updates"] = hook.allowed_updates
            if hook.last_error_date is not None:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        return info

    async def _m_send_message(self, p: _Params) -> JSONDict:
        chat = self._target_chat(p)
        raw = p.str_("text")
        if not raw:
            raise bad_request("message text is empty")
        text, entities = self._format(raw, p.str_("parse_mode"), p.json_("entities"), caption=False)
        markup = self._parse_markup(p)
        reply_to = self._reply_target(chat, p)
        p.json_("link_preview_options", "link preview options")  # validated, not rendered
        return self._store_bot_message(
            chat,
            kind="text",
            text=text,
            html=raw,
            parse_mode=p.str_("parse_mode"),
            entities=entities,
            markup=markup,
            reply_to=reply_to,
            disable_notification=p.bool_("disable_notification"),
            file=None,
        )

    async def _m_send_document(self, p: _Params) -> JSONDict:
        return self._send_media(p, "document")

    async def _m_send_photo(self, p: _Params) -> JSONDict:
        return self._send_media(p, "photo")

    def _send_media(self, p: _Params, kind: MessageKind) -> JSONDict:
        chat = self._target_chat(p)
        source = p.file_(kind)
        if source is None or source == "":
            raise bad_request(f"there is no {kind} in the request")
        if isinstance(source, _Upload):
            if not source.data:
                raise bad_request("file must be non-empty")
            mime = source.content_type
            if not mime or mime == "application/octet-stream":
                guessed = mimetypes.guess_type(source.filename or "")[0]
                mime = guessed or "application/octet-stream"
            stored = self._store_file(source.data, source.filename, mime)
        elif source in self._files:
            stored = self._files[source]  # resending by file_id keeps the same file
        elif source.startswith(("http://", "https://")):
            name = urlsplit(source).path.rsplit("/", 1)[-1] or None
            guessed = mimetypes.guess_type(name or "")[0] or "application/octet-stream"
            stored = dataclasses.replace(
                self._store_file(b"", name, guessed), url=source
            )  # never fetched: the emulator makes no outside requests
            self._files[stored.file_id] = stored
        else:
            raise bad_request("wrong file identifier/HTTP URL specified")
        raw_caption = p.str_("caption") or ""
        caption, entities = self._format(
            raw_caption, p.str_("parse_mode"), p.json_("caption_entities"), caption=True
        )
        markup = self._parse_markup(p)
        reply_to = self._reply_target(chat, p)
        return self._store_bot_message(
            chat,
            kind=kind,
            text=caption,
            html=raw_caption or None,
            parse_mode=p.str_("parse_mode"),
            entities=entities,
            markup=markup,
            reply_to=reply_to,
            disable_notification=p.bool_("disable_notification"),
            file=stored,
        )

    def _store_bot_message(
        self,
        chat: _Chat,
        *,
        kind: MessageKind,
        text: str,
        html: str | None,
        parse_mode: str | None,
        entities: tuple[JSONDict, ...],
        markup: JSONDict | None,
        reply_to: int | None,
        disable_notification: bool,
        file: StoredFile | None,
    ) -> JSONDict:
        message_id = chat.next_message_id
        chat.next_message_id += 1
        seq = self._new_seq()
        sent = SentMessage(
            chat_id=chat.user.id,
            message_id=message_id,
            kind=kind,
            text=text,
            html=html,
            parse_mode=parse_mode,
            entities=entities,
            reply_markup=markup,
            date=self._timestamp(),
            seq=seq,
            reply_to_message_id=reply_to,
            disable_notification=disable_notification,
            file=file,
        )
        chat.messages[message_id] = _Msg(message_id, from_bot=True, sent=sent)
        if markup is not None and "keyboard" in markup:
            chat.reply_keyboard = markup
        elif markup is not None and markup.get("remove_keyboard"):
            chat.reply_keyboard = None
        api = self._bot_message_api(sent)
        self._emit(Event(seq, "bot_message", chat.user.id, message_id, api, message=sent))
        return api

    def _editable(self, p: _Params) -> tuple[_Chat, _Msg, SentMessage]:
        if p.str_("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")  # inline mode is not emulated
        chat = self._target_chat(p)
        message_id = p.int_("message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        msg = chat.messages.get(message_id)
        if msg is None or msg.deleted:
            raise bad_request("message to edit not found")
        if msg.sent is None:
            raise bad_request("message can't be edited")
        return chat, msg, msg.sent

    def _apply_edit(self, chat: _Chat, msg: _Msg, **changes: Any) -> JSONDict:
        assert msg.sent is not None
        seq = self._new_seq()
        sent = dataclasses.replace(
            msg.sent, edited=True, edit_date=self._timestamp(), seq=seq, **changes
        )
        msg.sent = sent
        api = self._bot_message_api(sent)
        self._emit(Event(seq, "bot_edit", chat.user.id, msg.message_id, api, message=sent))
        return api

    async def _m_edit_message_text(self, p: _Params) -> JSONDict:
        chat, msg, sent = self._editable(p)
        if sent.kind != "text":
            raise bad_request("there is no text in the message to edit")
        raw = p.str_("text")
        if not raw:
            raise bad_request("message text is empty")
        text, entities = self._format(raw, p.str_("parse_mode"), p.json_("entities"), caption=False)
        # Telegram drops the inline keyboard when an edit does not repeat it.
        markup = self._inline_markup_only(p)
        if (
            text == sent.text
            and entities == sent.entities
            and _inline_rows(markup) == _inline_rows(sent.reply_markup)
        ):
            raise bad_request(NOT_MODIFIED)
        return self._apply_edit(
            chat,
            msg,
            text=text,
            html=raw,
            parse_mode=p.str_("parse_mode"),
            entities=entities,
            reply_markup=markup,
        )

    async def _m_edit_message_caption(self, p: _Params) -> JSONDict:
        chat, msg, sent = self._editable(p)
        if sent.kind == "text":
            raise bad_request("there is no caption in the message to edit")
        raw = p.str_("caption") or ""
        caption, entities = self._format(
            raw, p.str_("parse_mode"), p.json_("caption_entities"), caption=True
        )
        markup = self._inline_markup_only(p)
        if (
            caption == sent.text
            and entities == sent.entities
            and _inline_rows(markup) == _inline_rows(sent.reply_markup)
        ):
            raise bad_request(NOT_MODIFIED)
        return self._apply_edit(
            chat,
            msg,
            text=caption,
            html=raw or None,
            parse_mode=p.str_("parse_mode"),
            entities=entities,
            reply_markup=markup,
        )

    async def _m_edit_message_reply_markup(self, p: _Params) -> JSONDict:
        chat, msg, sent = self._editable(p)
        markup = self._inline_markup_only(p)
        if _inline_rows(markup) == _inline_rows(sent.reply_markup):
            raise bad_request(NOT_MODIFIED)
        return self._apply_edit(chat, msg, reply_markup=markup)

    async def _m_delete_message(self, p: _Params) -> bool:
        chat = self._target_chat(p)
        message_id = p.int_("message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        msg = chat.messages.get(message_id)
        if msg is None or msg.deleted:
            raise bad_request("message to delete not found")
        # Bots may delete both sides of a private chat, so user messages are allowed too.
        msg.deleted = True
        seq = self._new_seq()
        if msg.sent is not None:
            msg.sent = dataclasses.replace(msg.sent, deleted=True, seq=seq)
        payload = {"chat": chat.user.chat_api(), "message_id": message_id}
        self._emit(
            Event(seq, "message_deleted", chat.user.id, message_id, payload, message=msg.sent)
        )
        return True

    async def _m_answer_callback_query(self, p: _Params) -> bool:
        query_id = p.str_("callback_query_id") or ""
        text = p.str_("text")
        if text is not None and utf16_len(text) > MAX_ANSWER_TEXT:
            raise bad_request("MESSAGE_TOO_LONG")
        query = self._queries.get(query_id)
        if (
            query is None
            or query.answered
            or (self._now() - query.created).total_seconds() > self.callback_query_timeout
        ):
            raise bad_request(QUERY_TOO_OLD)
        query.answered = True
        seq = self._new_seq()
        answer = CallbackAnswer(
            query_id=query_id,
            chat_id=query.chat_id,
            user_id=query.user_id,
            message_id=query.message_id,
            data=query.data,
            text=text,
            show_alert=p.bool_("show_alert"),
            url=p.str_("url"),
            cache_time=p.int_("cache_time"),
            seq=seq,
        )
        self._answers.append(answer)
        self._emit(
            Event(
                seq,
                "callback_answer",
                query.chat_id,
                query.message_id,
                answer.to_json(),
                answer=answer,
            )
        )
        return True

    async def _m_send_chat_action(self, p: _Params) -> bool:
        self._target_chat(p)
        if p.str_("action") not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    async def _m_set_my_commands(self, p: _Params) -> bool:
        commands = p.json_("commands", "commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > MAX_COMMANDS:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        parsed: list[tuple[str, str]] = []
        for item in commands:
            if not isinstance(item, dict):
                raise bad_request("can't parse BotCommand JSON object")
            command, description = item.get("command"), item.get("description")
            if not isinstance(command, str) or not _BOT_COMMAND_RE.match(command):
                raise bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            parsed.append((command, description))
        key = (self._scope_key(p.json_("scope", "BotCommandScope")), self._language(p))
        if parsed:
            self._commands[key] = parsed
        else:
            self._commands.pop(key, None)  # an empty list clears the scope, as delete does
        return True

    async def _m_get_my_commands(self, p: _Params) -> list[JSONDict]:
        key = (self._scope_key(p.json_("scope", "BotCommandScope")), self._language(p))
        return [{"command": c, "description": d} for c, d in self._commands.get(key, [])]

    async def _m_delete_my_commands(self, p: _Params) -> bool:
        key = (self._scope_key(p.json_("scope", "BotCommandScope")), self._language(p))
        self._commands.pop(key, None)
        return True

    async def _m_set_chat_menu_button(self, p: _Params) -> bool:
        chat_id = None
        if p.raw("chat_id") not in (None, ""):
            chat_id = self._target_chat(p).user.id
        button = p.json_("menu_button", "menu button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in {
            "commands",
            "web_app",
            "default",
        }:
            raise bad_request("can't parse menu button JSON object")
        self._menu_buttons[chat_id] = button
        return True

    async def _m_get_chat_menu_button(self, p: _Params) -> JSONDict:
        chat_id = None
        if p.raw("chat_id") not in (None, ""):
            chat_id = self._target_chat(p).user.id
        return (
            self._menu_buttons.get(chat_id) or self._menu_buttons.get(None) or {"type": "default"}
        )

    async def _m_get_chat(self, p: _Params) -> JSONDict:
        user = self._target_chat(p).user
        return {
            **user.chat_api(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def _m_get_file(self, p: _Params) -> JSONDict:
        stored = self._files.get(p.str_("file_id") or "")
        if stored is None or stored.url is not None:
            raise bad_request("invalid file_id")
        return {
            **self._file_ids(stored),
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    def _set_text_option(self, p: _Params, field_name: str, limit: int) -> bool:
        value = p.str_(field_name) or ""
        if len(value) > limit:
            raise bad_request(f"{field_name} is too long")
        key = (field_name, self._language(p))
        if value:
            self._descriptions[key] = value
        else:
            self._descriptions.pop(key, None)
        return True

    def _get_text_option(self, p: _Params, field_name: str) -> JSONDict:
        lang = self._language(p)
        value = self._descriptions.get((field_name, lang), "")
        if not value and lang:
            value = self._descriptions.get((field_name, ""), "")
        return {field_name: value}

    async def _m_set_my_description(self, p: _Params) -> bool:
        return self._set_text_option(p, "description", 512)

    async def _m_get_my_description(self, p: _Params) -> JSONDict:
        return self._get_text_option(p, "description")

    async def _m_set_my_short_description(self, p: _Params) -> bool:
        return self._set_text_option(p, "short_description", 120)

    async def _m_get_my_short_description(self, p: _Params) -> JSONDict:
        return self._get_text_option(p, "short_description")

    async def _m_set_my_name(self, p: _Params) -> bool:
        return self._set_text_option(p, "name", 64)

    async def _m_get_my_name(self, p: _Params) -> JSONDict:
        result = self._get_text_option(p, "name")
        return {"name": result["name"] or self.bot_first_name}

    # ------------------------------------------------------------------ webhook sender

    def _start_webhook_sender(self, hook: _Webhook) -> None:
        self._webhook_task = asyncio.create_task(
            self._webhook_loop(hook), name="BotApiEmulator:webhook"
        )

    async def _stop_webhook_sender(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _webhook_loop(self, hook: _Webhook) -> None:
        timeout = aiohttp.ClientTimeout(total=self.webhook_timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while not self._stopping:
                signal = self._wake.current()
                if not self._updates:
                    await signal.wait()
                    continue
                update = self._updates[0]
                # One at a time keeps updates in order; a cancelled delivery (webhook deleted)
                # leaves the update queued for getUpdates, as Telegram keeps it pending.
                await self._deliver(session, hook, update)
                if self._updates and self._updates[0] is update:
                    self._updates.pop(0)
                    self._activity.fire()

    async def _deliver(
        self, session: aiohttp.ClientSession, hook: _Webhook, update: JSONDict
    ) -> None:
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        body = _dumps(update).encode()
        for attempt in range(1, self.webhook_max_attempts + 1):
            try:
                async with session.post(hook.url, data=body, headers=headers) as response:
                    await response.read()
                    if 200 <= response.status < 300:
                        self.stats.webhook_deliveries += 1
                        return
                    error = f"Wrong response from the webhook: {response.status} {response.reason}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = f"Connection failed: {exc.__class__.__name__}: {exc}"
            hook.last_error_date = self._timestamp()
            hook.last_error_message = error
            if attempt == self.webhook_max_attempts:
                break
            self.stats.webhook_retries += 1
            await asyncio.sleep(self.webhook_backoff * 2 ** (attempt - 1))  # backoff timer
        self.stats.webhook_failures += 1
        self.stats.webhook_failed_update_ids.append(int(update["update_id"]))
        _LOGGER.warning(
            "webhook gave up on update %s after %d attempts: %s",
            update["update_id"],
            self.webhook_max_attempts,
            hook.last_error_message,
        )

    # ------------------------------------------------------------------ HTTP plumbing

    def _build_app(self) -> web.Application:
        @web.middleware
        async def loopback_host_only(
            request: web.Request,
            handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
        ) -> web.StreamResponse:
            # The socket is loopback-only; checking Host also stops DNS rebinding from a web
            # page reaching the playground API through a hostile domain name.
            host = urlsplit(f"//{request.host}").hostname
            if not _is_loopback_host(host):
                return _envelope_error(ApiError(403, "Forbidden: non-loopback Host header"))
            return await handler(request)

        app = web.Application(client_max_size=MAX_UPLOAD_BYTES, middlewares=[loopback_host_only])
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        # The playground API lives in a sub-application so its error middleware (Python
        # exceptions to JSON envelopes) never touches the Bot API routes.
        routes = web.RouteTableDef()

        @routes.get("/users")
        async def list_users(request: web.Request) -> web.Response:
            return _envelope(
                [
                    {**c.user.to_api(), "started": c.started, "blocked": c.blocked}
                    for c in self._chats.values()
                ]
            )

        @routes.post("/users")
        async def add_user(request: web.Request) -> web.Response:
            body = await _json_body(request)
            user = self.add_user(
                _opt_int(body, "user_id"),
                str(body.get("first_name") or "Test"),
                _opt_str(body, "last_name"),
                _opt_str(body, "username"),
                _opt_str(body, "language_code"),
            )
            return _envelope(user.to_api())

        @routes.post("/users/{user_id}/message")
        async def user_message(request: web.Request) -> web.Response:
            body = await _json_body(request)
            update = self.send_message(
                _path_int(request, "user_id"),
                str(body.get("text") or ""),
                reply_to_message_id=_opt_int(body, "reply_to_message_id"),
            )
            return _envelope({"update": update, "seq": self.mark()})

        @routes.post("/users/{user_id}/contact")
        async def user_contact(request: web.Request) -> web.Response:
            body = await _json_body(request)
            update = self.send_contact(
                _path_int(request, "user_id"),
                str(body.get("phone_number") or ""),
                _opt_str(body, "first_name"),
                _opt_str(body, "last_name"),
            )
            return _envelope({"update": update, "seq": self.mark()})

        @routes.post("/users/{user_id}/press")
        async def user_press(request: web.Request) -> web.Response:
            body = await _json_body(request)
            user_id = _path_int(request, "user_id")
            message_id = _opt_int(body, "message_id")
            if "callback_data" in body:
                if message_id is None:
                    raise ValueError("message_id is required with callback_data")
                query_id = self.press_callback(user_id, message_id, str(body["callback_data"]))
            else:
                query_id = self.press_button(user_id, str(body.get("label") or ""), message_id)
            return _envelope({"callback_query_id": query_id, "seq": self.mark()})

        @routes.get("/chats/{chat_id}")
        async def chat_events(request: web.Request) -> web.Response:
            chat_id = _path_int(request, "chat_id")
            self._chat(chat_id)
            since = int(request.query.get("since") or 0)
            wait = min(30.0, float(request.query.get("wait") or 0))
            if wait > 0 and not self.events(chat_id, since):
                await self._wait_for_chat_event(chat_id, since, wait)  # lets a page long-poll
            return _envelope(
                {
                    "chat_id": chat_id,
                    "last_seq": self.mark(),
                    "events": [e.to_json() for e in self.events(chat_id, since)],
                    "reply_keyboard": self.reply_keyboard(chat_id),
                }
            )

        @routes.get("/chats/{chat_id}/files/{message_id}")
        async def chat_file(request: web.Request) -> web.Response:
            chat = self._chat(_path_int(request, "chat_id"))
            msg = chat.messages.get(_path_int(request, "message_id"))
            if msg is None or msg.sent is None or msg.sent.file is None:
                raise LookupError("no file in that message")
            stored = msg.sent.file
            headers = {}
            if stored.filename:
                headers["Content-Disposition"] = f'attachment; filename="{stored.filename}"'
            return web.Response(body=stored.data, content_type=stored.mime_type, headers=headers)

        @routes.get("/commands")
        async def commands(request: web.Request) -> web.Response:
            scope: JSONDict = {"type": request.query.get("scope") or "default"}
            if "chat_id" in request.query:
                scope["chat_id"] = int(request.query["chat_id"])
            found = self.commands(request.query.get("language_code") or None, scope)
            return _envelope([{"command": c, "description": d} for c, d in found])

        @routes.get("/stats")
        async def stats(request: web.Request) -> web.Response:
            return _envelope(self.stats.to_json())

        @web.middleware
        async def playground_errors(
            request: web.Request,
            handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
        ) -> web.StreamResponse:
            try:
                return await handler(request)
            except ApiError as exc:
                return _envelope_error(exc)
            except LookupError as exc:
                return _envelope_error(ApiError(404, f"Not Found: {exc}"))
            except (ValueError, TypeError) as exc:
                return _envelope_error(ApiError(400, f"Bad Request: {exc}"))

        playground = web.Application(middlewares=[playground_errors])
        playground.add_routes(routes)
        app.add_subapp("/_emulator", playground)
        return app

    async def wait_for_events(
        self,
        chat_id: int | None,
        since: int,
        timeout: float,  # noqa: ASYNC109 - a long poll's length, in seconds
    ) -> list[Event]:
        """Events after ``since`` (of one chat, or of all when chat_id is None), waiting up
        to ``timeout`` seconds for the first: a long poll for clients in the same process."""
        if chat_id is not None:
            self._chat(chat_id)
        if not self.events(chat_id, since):
            await self._wait_for_chat_event(chat_id, since, timeout)
        return self.events(chat_id, since)

    async def _wait_for_chat_event(self, chat_id: int | None, since: int, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not self.events(chat_id, since) and not self._stopping:
            if not await _wait_event(self._event_signal.current(), deadline - loop.time()):
                return

    async def _read_params(self, request: web.Request) -> _Params:
        values: dict[str, Any] = dict(request.query.items())
        if request.body_exists:
            ctype = request.content_type
            if ctype == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise bad_request("can't parse JSON object") from None
                if not isinstance(body, dict):
                    raise bad_request("JSON object expected")
                values.update(body)
            elif ctype in {"application/x-www-form-urlencoded", "multipart/form-data"}:
                try:
                    form = await request.post()
                except web.HTTPRequestEntityTooLarge:
                    raise ApiError(413, "Request Entity Too Large") from None
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        values[key] = _Upload(value.filename, value.content_type, value.file.read())
                    elif isinstance(value, bytes):
                        values[key] = value.decode("utf-8", "replace")
                    else:
                        values[key] = value
        return _Params(values)

    async def _handle_api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _envelope_error(ApiError(401, "Unauthorized"))
        entry = self._methods.get(request.match_info["method"].lower())
        if entry is None:
            return _envelope_error(ApiError(404, "Not Found"))
        name, handler = entry
        self.stats.requests[name] += 1
        # A parked getUpdates is the bot waiting, not the bot working: not counted as busy.
        tracked = name != "getUpdates"
        if tracked:
            self._inflight += 1
            self._activity.fire()
        try:
            params = await self._read_params(request)
            rate_key = self._check_flood(name, params)
            result = await handler(params)
            if rate_key is not None:
                self._charge_rate(rate_key)
        except ApiError as exc:
            if exc.error_code == 429:
                self.stats.served_429[name] += 1
            else:
                self.stats.errors[name] += 1
            return _envelope_error(exc)
        except Exception:
            # An emulator bug must still reach the bot as a Bot API answer it can parse.
            _LOGGER.exception("emulator failed on %s", name)
            self.stats.errors[name] += 1
            return _envelope_error(ApiError(500, "Internal Server Error"))
        finally:
            if tracked:
                self._inflight -= 1
                self._activity.fire()
        if name in FLOOD_METHODS:
            self.stats.sent[name] += 1
        return _envelope(result)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _envelope_error(ApiError(401, "Unauthorized"))
        path = request.match_info["path"]
        for stored in self._files.values():
            if stored.file_path == path and stored.url is None:
                return web.Response(body=stored.data, content_type=stored.mime_type)
        return _envelope_error(ApiError(404, "Not Found"))


# ---------------------------------------------------------------------- module helpers


def _inline_rows(markup: JSONDict | None) -> list[list[JSONDict]]:
    """Non-empty inline rows of a markup (an empty keyboard equals no keyboard)."""
    if not markup:
        return []
    rows = markup.get("inline_keyboard") or []
    return [list(row) for row in rows if row]


def _validate_inline_keyboard(markup: JSONDict) -> list[list[JSONDict]]:
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
        )
    # Counted before the buttons are inspected, as a size check would be.
    if sum(len(row) for row in rows) > MAX_INLINE_BUTTONS or any(
        len(row) > MAX_INLINE_ROW for row in rows
    ):
        raise bad_request("reply markup is too long")
    for row in rows:
        for button in row:
            _validate_inline_button(button)
    return cast(list[list[JSONDict]], rows)


def _validate_inline_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise bad_request("can't parse inline keyboard button: InlineKeyboardButton expected")
    if not isinstance(button.get("text"), str) or not button["text"]:
        raise bad_request("can't parse inline keyboard button: Text must be non-empty")
    actions = [key for key in _INLINE_ACTIONS if key in button]
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        # 1-64 bytes of UTF-8, not characters: 22 Chinese characters are already 66 bytes.
        if not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button:
        url = button["url"]
        parts = urlsplit(url) if isinstance(url, str) else None
        if (
            parts is None
            or parts.scheme not in {"http", "https", "tg"}
            or not (parts.netloc or parts.scheme == "tg")
        ):
            raise bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")


def _validate_entities(entities: Any, text: str) -> list[JSONDict]:
    if entities is None:
        return []
    if not isinstance(entities, list):
        raise bad_request("can't parse entities JSON object")
    total = utf16_len(text)
    result: list[JSONDict] = []
    for entity in entities:
        if (
            not isinstance(entity, dict)
            or not isinstance(entity.get("type"), str)
            or not isinstance(entity.get("offset"), int)
            or not isinstance(entity.get("length"), int)
        ):
            raise bad_request("can't parse MessageEntity JSON object")
        if entity["length"] > 0 and 0 <= entity["offset"] < total:
            result.append(entity)  # Telegram silently drops entities outside the text
    return sorted(result, key=lambda e: (e["offset"], -e["length"]))


def _envelope(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result}, dumps=_dumps)


def _envelope_error(error: ApiError) -> web.Response:
    return web.json_response(error.to_json(), status=error.error_code, dumps=_dumps)


async def _json_body(request: web.Request) -> JSONDict:
    # Requiring a JSON content type makes a cross-site form POST impossible (CSRF).
    if request.content_type != "application/json":
        raise ApiError(415, "Unsupported Media Type: send application/json")
    body = await request.json() if request.body_exists else {}
    if not isinstance(body, dict):
        raise ValueError("JSON object expected")
    return body


def _path_int(request: web.Request, name: str) -> int:
    try:
        return int(request.match_info[name])
    except ValueError:
        raise LookupError(f"{name} must be an integer") from None


def _opt_int(body: JSONDict, name: str) -> int | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    return int(value)


def _opt_str(body: JSONDict, name: str) -> str | None:
    value = body.get(name)
    return None if value is None or value == "" else str(value)

"""Telegram through python-telegram-bot's Bot: updates in (long polling or webhook), the
outbox's rows out.

Receiving: every update is kept by the inbox before Telegram hears it arrived.
Polling confirms an update by asking for the next offset, so the offset moves
past an update only once `accept` returned; a webhook request is answered 200
only then (503 while the database is away: Telegram tries again).

Sending: views are already in Telegram's HTML (the core's markup is its
subset). Telegram's answers map onto the pipeline's outcomes: 403 is
unreachable, 429 and network errors retry, "not modified" is done, an edit of
a message Telegram no longer has becomes a new message, and any other 400 is a
failure, logged with Telegram's words.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from typing import Any

from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError, TimedOut
from telegram.request import HTTPXRequest

from channels.base import (
    Accept,
    Delivered,
    Failed,
    Outcome,
    RetryLater,
    Route,
    Unreachable,
)
from channels.telegram.translate import PLATFORM, translate
from handlers.core.capabilities import Capabilities
from handlers.menus import Menus
from storage.outbox import Item

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
TOO_LATE = ("query is too old", "query id is invalid")
GONE = ("message to edit not found", "message can't be edited", "message_id_invalid")
NOT_THERE = ("chat not found", "user not found", "bot was blocked", "user is deactivated")

CAPABILITIES = Capabilities(
    edits="any",
    max_buttons=100,
    max_row=8,
    max_payload=64,
    max_text=4096,
    text_unit="utf16",
    markup="html",
    first_contact=False,  # only people who wrote to the bot (sent /start) can be messaged
    share_contact=True,
    menus=True,
    per_address_rate=1.0,
    per_address_burst=3,
    overall_rate=30.0,
)


class TelegramChannel:
    platform = PLATFORM

    def __init__(
        self,
        *,
        token: str,
        base_url: str,
        webhook_url: str | None = None,
        webhook_path: str = "/telegram",
        secret: str | None = None,
        poll_timeout: int = 30,
        capabilities: Capabilities = CAPABILITIES,
        body_timeout: float = 10.0,
    ) -> None:
        if webhook_url is not None and not secret:
            raise ValueError("a Telegram webhook needs WEBHOOK_SECRET")
        self.capabilities = capabilities
        self.webhook_url = webhook_url
        self.webhook_path = webhook_path
        self.secret = secret
        self.poll_timeout = poll_timeout
        self.body_timeout = body_timeout  # seconds a webhook client may take to send its body
        self.bot = Bot(
            token=token,
            base_url=base_url,
            # Many sends at once; one long poll.
            request=HTTPXRequest(connection_pool_size=64),
            get_updates_request=HTTPXRequest(connection_pool_size=1),
        )
        self._accept: Accept | None = None
        self._poller: asyncio.Task[None] | None = None

    # --- receiving -----------------------------------------------------------------------

    def routes(self) -> list[Route]:
        if self.webhook_url is None:
            return []
        return [Route("POST", self.webhook_path, self._webhook)]

    async def start(self, accept: Accept) -> None:
        self._accept = accept
        await self.bot.initialize()
        if self.webhook_url is not None:
            await self.bot.set_webhook(
                url=f"{self.webhook_url}{self.webhook_path}",
                secret_token=self.secret,
                allowed_updates=Update.ALL_TYPES,
            )
            log.info("telegram: webhook at %s%s", self.webhook_url, self.webhook_path)
        else:
            await self.bot.delete_webhook()
            self._poller = asyncio.create_task(self._poll(accept), name="telegram polling")
            log.info("telegram: long polling as @%s", self.bot.username)

    async def stop(self) -> None:
        """Stop polling (a webhook's route closes with the server)."""
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None

    async def close(self) -> None:
        await self.bot.shutdown()

    def healthy(self) -> bool:
        return self.webhook_url is not None or (
            self._poller is not None and not self._poller.done()
        )

    async def _poll(self, accept: Accept) -> None:
        """Fetch, keep, then confirm (the next offset) — never confirm what was not kept."""
        offset: int | None = None
        pause = 1.0
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=offset, timeout=int(self.poll_timeout), allowed_updates=Update.ALL_TYPES
                )
            except TimedOut:
                continue
            except TelegramError as error:
                log.warning("telegram: getUpdates failed (%s), retrying in %.0f s", error, pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 30.0)
                continue
            pause = 1.0
            for update in updates:
                event = translate(update)
                if event is not None:
                    try:
                        await accept(event)
                    except Exception as error:
                        log.warning("telegram: could not keep an update (%s); again", error)
                        await asyncio.sleep(pause)
                        break
                offset = update.update_id + 1

    async def _webhook(self, request: web.Request) -> web.Response:
        """One update: checked, kept, then answered (400 for a body that is no update)."""
        given = request.headers.get(SECRET_HEADER, "")
        assert self.secret is not None
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            return web.Response(status=403)
        if self._accept is None:  # not started yet: Telegram tries again
            return web.Response(status=503)
        try:
            async with asyncio.timeout(self.body_timeout):
                raw = await request.read()
        except TimeoutError:
            return web.Response(status=408)
        try:
            payload = json.loads(raw)
            if not isinstance(payload, dict):
                raise TypeError("not an object")
            update = Update.de_json(payload, self.bot)
        except (ValueError, TypeError, KeyError, AttributeError):
            log.warning("telegram: webhook body was not an update")
            return web.Response(status=400)
        event = translate(update) if update is not None else None
        if event is None:
            return web.Response()
        try:
            await self._accept(event)
        except Exception as error:
            log.warning("telegram: could not keep an update (%s); Telegram will retry", error)
            return web.Response(status=503)
        return web.Response()

    # --- sending ----------------------------------------------------------------------------

    async def announce(self, menus: Menus) -> None:
        """Default command menus: per language code, and None for everyone else."""
        for locale, commands in menus.per_chat.items():
            await self.bot.set_my_commands(
                [BotCommand(name, description) for name, description in commands],
                language_code=locale.split("_")[0] if locale else None,
            )

    async def deliver(self, item: Item) -> Outcome:
        try:
            return await self._deliver(item)
        except Forbidden as error:
            return Unreachable(error.message)
        except RetryAfter as error:
            return RetryLater(f"429: {error.message}", after=_seconds(error.retry_after))
        except BadRequest as error:
            text = error.message.lower()
            if item.kind == "answer" and any(words in text for words in TOO_LATE):
                log.info("telegram: a press came too late to answer; handled all the same")
                return Delivered()
            if any(words in text for words in NOT_THERE):
                return Unreachable(error.message)
            log.warning("telegram: %s refused: %s", item.kind, error.message)
            return Failed(error.message)
        except TelegramError as error:  # network errors, timeouts, 5xx
            return RetryLater(str(error))

    async def _deliver(self, item: Item) -> Outcome:
        chat = int(item.address)
        body = item.body
        if item.kind == "answer":
            if body.get("handle"):
                await self.bot.answer_callback_query(
                    body["handle"], text=body.get("text"), show_alert=bool(body.get("alert"))
                )
            return Delivered()
        if item.kind == "menu":
            await self.bot.set_my_commands(
                [BotCommand(name, description) for name, description in body["commands"]],
                scope=BotCommandScopeChat(chat),
            )
            return Delivered()
        if item.kind == "file":
            return Delivered(str((await self._file(chat, item)).message_id))
        if item.kind == "strip" and item.target_message is None:
            return Delivered()  # the message never arrived: no buttons to take away
        if item.kind in ("edit", "strip") and item.target_message is not None:
            edited = await self._edit(chat, int(item.target_message), item)
            if edited is not None:
                return edited
        sent = await self.bot.send_message(
            chat, body["text"], parse_mode=ParseMode.HTML, reply_markup=reply_markup(body)
        )
        return Delivered(str(sent.message_id))

    async def _edit(self, chat: int, message_id: int, item: Item) -> Outcome | None:
        """Change the message in place; None when Telegram no longer has it to change."""
        body = item.body
        try:
            if item.kind == "strip":
                await self.bot.edit_message_reply_markup(chat, message_id, reply_markup=None)
            else:
                markup = reply_markup(body)
                await self.bot.edit_message_text(
                    body["text"],
                    chat,
                    message_id,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup if isinstance(markup, InlineKeyboardMarkup) else None,
                )
        except BadRequest as error:
            text = error.message.lower()
            if "not modified" in text:
                return Delivered(str(message_id))
            if any(words in text for words in GONE):
                log.info("telegram: the message to change is gone; sending it anew")
                return None if item.kind == "edit" else Delivered(str(message_id))
            raise
        return Delivered(str(message_id))

    async def _file(self, chat: int, item: Item) -> Message:
        body, data = item.body, item.blob or b""
        caption = body.get("caption")
        if body.get("image"):
            return await self.bot.send_photo(
                chat, photo=data, caption=caption, parse_mode=ParseMode.HTML
            )
        return await self.bot.send_document(
            chat,
            document=InputFile(data, filename=body["name"]),
            caption=caption,
            parse_mode=ParseMode.HTML,
        )


def reply_markup(
    body: dict[str, Any],
) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None:
    """A view's buttons as Telegram shows them: inline buttons carrying the core's tokens,
    or the share-contact keyboard under the input field."""
    if body.get("keyboard"):
        return InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(label, callback_data=token) for label, token in row]
                for row in body["keyboard"]
            ]
        )
    if body.get("contact"):
        share = KeyboardButton(body["contact"], request_contact=True)
        return ReplyKeyboardMarkup([[share]], resize_keyboard=True, one_time_keyboard=True)
    if body.get("ends_contact"):
        return ReplyKeyboardRemove()
    return None


def _seconds(value: object) -> float:
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else float(value)  # type: ignore[arg-type]

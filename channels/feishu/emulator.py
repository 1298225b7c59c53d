"""A Feishu (飞书) emulator on aiohttp: one tenant, one custom app with a bot, simulated users.

The bot talks to it as to Feishu: its lark-oapi client gets `base_url` as its `domain`, so
REST calls (tenant_access_token, im/v1/messages, files, images) and the long connection
(`/callback/ws/endpoint`, then a WebSocket speaking lark-oapi's pbbp2 frames) both land
here. In webhook mode (`callback_url` set) events are POSTed instead, encrypted and signed
with the app's Encrypt Key as Feishu does (channels.feishu.crypto, checked against
lark-oapi's own AESCipher in the tests).

What it enforces, as Feishu does: the tenant_access_token (2 hours; a fetch with 30 minutes
or more left returns the same token), users in the app's availability range (230013),
text requests of at most 150 KB and cards of at most 30 KB (230025), card JSON 2.0 with
well-formed buttons (230099), the `uuid` idempotency key (one message per uuid within an
hour), about 5 messages a second to one user (230020), and PATCH only on shared cards
(config.update_multi true, before and after) sent within 14 days. Error codes are
Feishu's where its documents give them; 230001 ("invalid request parameter, ext=...")
stands for the refusals they do not number (a PATCH of a non-shared or too old card, an
unknown message id or file key).

Events go to one live long connection (round robin) as DATA frames; an event that is not
acked within `ack_timeout` is delivered again per `retry_intervals`, on whatever
connection is live then; with none, it waits for one. A card click (card.action.trigger)
gets one try and `click_deadline` seconds, as Feishu gives it; its answer (a toast and/or
a new card) is recorded in `answers`, and a raw card in it replaces the clicked message.

Faults: `expire_tokens`, `revoke_tokens`, `fail_next` (a Feishu code, an HTTP status >= 500
or 429 for the next calls; 0 lets one through), `faults.lose_answers` (a send or patch
takes effect but answers 502), `faults.unacked` (acks ignored, so events come again),
`faults.both_connections` (each event on every live connection), `faults.refuse_connect`
(endpoint calls answer "system busy"), `faults.duplicate` (each event delivered twice)
and `drop_connections()`. Token and card lifetimes follow `clock`; events are stamped with
the wall clock, as Feishu's servers do.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import itertools
import json
import secrets
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from lark_oapi.ws.pb.pbbp2_pb2 import Frame

from channels.feishu import crypto

TEXT_BODY_BYTES = 150 * 1024  # a text message's request body
CARD_BYTES = 30 * 1024  # a card's JSON
TOKEN_LIFETIME = 7200
TOKEN_RENEWAL = 1800  # a fetch with less than this left gets a new token
PATCH_WINDOW = dt.timedelta(days=14)
UUID_WINDOW = dt.timedelta(hours=1)
UUID_CHARS = 50
CLICK_DEADLINE = 3.0  # seconds Feishu waits for a card callback's answer
TENANT_KEY = "2ca1d211f64f6438"  # the docs' sample tenant
SERVICE_ID = 33554678

# Feishu's codes (im/v1/message create and patch, the generic and rate-limit pages).
INVALID_PARAMETER = 230001  # "Your request contains an invalid request parameter, ext=..."
NO_AVAILABILITY = 230013  # "Bot has NO availability to this user."
FREQUENCY_LIMIT = 230020  # "This operation triggers the frequency limit."
TOO_LONG = 230025  # "The length of the message content reaches its limit."
BAD_CARD = 230099  # "Failed to create card content, ext=..."
TOKEN_INVALID = 99991663  # "Invalid access token for authorization."
TOKEN_EXPIRED = 99991677  # "Authentication token expired."
RATE_LIMITED = 99991400  # "request trigger frequency limit" (HTTP 429)
SECRET_INVALID = 10014  # "app secret invalid"
# The docs give no code for an unknown app id at the token endpoint; 10003 ("invalid
# param") is plausible. The ws endpoint's refusal of a wrong secret is not documented
# either: any code but 0, 1 and 1000040343 makes lark-oapi give up (a ClientException),
# which is what a wrong secret should do, so it answers 10014 there too.
APP_INVALID = 10003
SYSTEM_BUSY = 1


@dataclass(frozen=True)
class User:
    open_id: str
    name: str
    union_id: str
    user_id: str


@dataclass(frozen=True)
class Message:
    """What a user sees: a text, a card (its text and buttons), a file or an image."""

    message_id: str
    kind: str  # text, interactive, file, image
    text: str
    buttons: tuple[tuple[str, dict[str, Any]], ...] = ()  # (label, callback value)
    update_multi: bool = False
    media: bytes | None = None
    name: str | None = None  # a file's, as uploaded
    card: dict[str, Any] | None = None

    @property
    def labels(self) -> list[str]:
        return [label for label, _ in self.buttons]


@dataclass
class Delivery:
    """One event on its way to the bot: each attempt's outcome, and the answer."""

    event_id: str
    event_type: str
    open_id: str
    attempts: int = 0
    # queued, sent, acked, given_up (no ack after every retry), unanswered (a click with no
    # answer in time), undelivered (no connection came up in `queue_timeout`)
    status: str = "queued"
    outcomes: list[str] = field(default_factory=list)  # per attempt: acked, ignored, ...
    connections: list[str] = field(default_factory=list)  # device ids, per frame sent
    answer: dict[str, Any] | None = None


@dataclass
class Connection:
    device_id: str
    ws: web.WebSocketResponse
    closed: bool = False


@dataclass
class Faults:
    # Feishu codes, HTTP statuses >= 500, or 429 for the next API calls (not the token or
    # long-connection endpoints); 0 lets one through.
    fail: deque[int] = field(default_factory=deque)
    # "send" / "patch": the call takes effect, then answers 502 (the answer lost).
    lose_answers: dict[str, int] = field(default_factory=dict)
    unacked: int = 0  # the next N deliveries' acks are ignored: redelivered
    both_connections: bool = False  # each event on every live connection
    refuse_connect: int = 0  # the next N endpoint calls answer "system busy"
    duplicate: bool = False  # each event delivered a second time after its ack


class FeishuEmulator:
    def __init__(
        self,
        *,
        app_id: str = "cli_emulated00001",
        app_secret: str = "emulated-secret",  # noqa: S107 (the emulator's own)
        encrypt_key: str = "emulated-encrypt-key",
        verification_token: str = "emulated-verification",  # noqa: S107
        clock: Any = None,
        ack_timeout: float = 1.0,
        retry_intervals: tuple[float, ...] = (0.05, 0.1, 0.2),
        per_user_qps: float | None = 5.0,
        ping_interval: float = 120,
        reconnect_interval: float = 1,
        reconnect_nonce: float = 0,
    ) -> None:
        self.app_id, self.app_secret = app_id, app_secret
        self.encrypt_key, self.verification_token = encrypt_key, verification_token
        self.clock = clock
        self.ack_timeout = ack_timeout  # Feishu waits 3 s; tests need not
        self.retry_intervals = retry_intervals  # Feishu's spread over hours
        self.click_deadline = CLICK_DEADLINE
        self.queue_timeout = 30.0  # how long an event waits for a live connection
        self.per_user_qps = per_user_qps  # None: no limit
        self.ping_interval = ping_interval
        self.reconnect_interval = reconnect_interval
        self.reconnect_nonce = reconnect_nonce
        self.callback_url: str | None = None  # set: webhook mode
        self.users: dict[str, User] = {}
        self.chats: dict[str, list[Message]] = {}
        self.tokens: dict[str, dt.datetime] = {}
        self.files: dict[str, tuple[bytes, str]] = {}
        self.images: dict[str, bytes] = {}
        self.faults = Faults()
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.token_fetches = 0
        self.endpoint_calls = 0
        self.connections: list[Connection] = []
        self.pings: list[str] = []  # device ids of the SDK's pings
        self.deliveries: list[Delivery] = []
        self.answers: list[tuple[str, str, dict[str, Any] | None]] = []
        self.webhook_statuses: list[int] = []  # HTTP statuses of the bot's answers (0: none)
        # What each user typed, and after how many of the bot's messages.
        self.typed: dict[str, list[tuple[int, str]]] = {}
        # Called with ("sent" or "updated", open_id, message) after every change to a chat.
        self.watchers: list[Callable[[str, str, Message], None]] = []
        self._sent_at: dict[str, dt.datetime] = {}
        self._uuids: dict[str, tuple[dt.datetime, dict[str, Any]]] = {}
        self._recent: dict[str, deque[float]] = {}
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._changed = asyncio.Condition()
        self._devices = itertools.count(1)
        self._seq = itertools.count(1)
        self._round = itertools.count()
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self.port = 0

    def now(self) -> dt.datetime:
        return self.clock.now() if self.clock is not None else dt.datetime.now(dt.UTC)

    # --- the server ----------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application()
        app.router.add_post("/open-apis/auth/v3/tenant_access_token/internal", self._token)
        app.router.add_post("/open-apis/im/v1/messages", self._send)
        app.router.add_patch("/open-apis/im/v1/messages/{message_id}", self._patch)
        app.router.add_post("/open-apis/im/v1/files", self._upload_file)
        app.router.add_post("/open-apis/im/v1/images", self._upload_image)
        app.router.add_post("/callback/ws/endpoint", self._endpoint)
        app.router.add_get("/ws", self._websocket)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._http = aiohttp.ClientSession()

    async def stop(self) -> None:
        await self.drop_connections()
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """The bot's settings for this app."""
        return {
            "FEISHU_APP_ID": self.app_id,
            "FEISHU_APP_SECRET": self.app_secret,
            "FEISHU_ENCRYPT_KEY": self.encrypt_key,
            "FEISHU_VERIFICATION_TOKEN": self.verification_token,
            "FEISHU_DOMAIN": self.base_url,
            "FEISHU_MODE": "webhook" if self.callback_url else "long_connection",
        }

    @property
    def connected(self) -> int:
        return sum(not c.closed for c in self.connections)

    # --- faults ----------------------------------------------------------------------------

    def expire_tokens(self) -> None:
        self.tokens = {token: self.now() - dt.timedelta(seconds=1) for token in self.tokens}

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    def fail_next(self, *codes: int) -> None:
        self.faults.fail.extend(codes)

    def drop_connections(self) -> asyncio.Future[None]:
        """Close every live socket from the server's side (the SDK reconnects). Takes effect
        at once; await the result to wait for the closing handshakes."""
        live = [c for c in self.connections if not c.closed]
        for connection in live:
            connection.closed = True

        async def close() -> None:
            await asyncio.gather(
                *(c.ws.close(code=aiohttp.WSCloseCode.GOING_AWAY) for c in live),
                return_exceptions=True,
            )
            await self._touched()

        return asyncio.ensure_future(close())

    # --- users -----------------------------------------------------------------------------

    def add_user(self, open_id: str, name: str = "成员") -> User:
        """A user in the app's availability range (open ids look like "ou_" + hex)."""
        if not open_id or not all(c.isascii() and (c.isalnum() or c == "_") for c in open_id):
            raise ValueError(f"an open_id is letters, digits and underscores: {open_id!r}")
        digest = hashlib.md5(open_id.encode(), usedforsecurity=False).hexdigest()
        user = User(open_id, name, union_id=f"on_{digest}", user_id=digest[:8])
        self.users[open_id] = user
        self.chats.setdefault(open_id, [])
        return user

    def chat_id(self, open_id: str) -> str:
        """The p2p chat between the bot and this user."""
        return "oc_" + hashlib.md5(b"p2p" + open_id.encode(), usedforsecurity=False).hexdigest()

    def chat(self, open_id: str) -> list[Message]:
        return list(self.chats.get(open_id, []))

    def last(self, open_id: str) -> Message:
        return self.chats[open_id][-1]

    async def wait_until(self, done: Callable[[], bool], timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Until `done()` holds, checked after every change to a chat, a delivery or the
        connections."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(done)

    async def _touched(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _tell(self, change: str, open_id: str, message: Message) -> None:
        for watcher in self.watchers:
            watcher(change, open_id, message)

    # --- what users do -----------------------------------------------------------------------

    async def send_text(self, open_id: str, text: str) -> str:
        """The user types `text` to the bot; returns the message id, once delivered (acked)
        or given up."""
        self.typed.setdefault(open_id, []).append((len(self.chats.get(open_id, [])), text))
        return await self._user_message(open_id, "text", {"text": text})

    async def send_media(self, open_id: str, kind: str) -> str:
        """A photo ("image"), file ("file") or voice note ("audio") the user sends."""
        key = secrets.token_hex(12)
        contents: dict[str, dict[str, Any]] = {
            "image": {"image_key": f"img_v3_{key}"},
            "file": {"file_key": f"file_v3_{key}", "file_name": "附件.pdf"},
            "audio": {"file_key": f"file_v3_{key}", "duration": 3000},
        }
        if kind not in contents:
            raise ValueError(f"no such media kind {kind!r}")
        return await self._user_message(open_id, kind, contents[kind])

    async def _user_message(self, open_id: str, kind: str, content: dict[str, Any]) -> str:
        user = self._user(open_id)
        message_id = "om_" + secrets.token_hex(16)
        stamp = str(int(time.time() * 1000))
        event = {
            "sender": {
                "sender_id": {
                    "union_id": user.union_id,
                    "user_id": user.user_id,
                    "open_id": user.open_id,
                },
                "sender_type": "user",
                "tenant_key": TENANT_KEY,
            },
            "message": {
                "message_id": message_id,
                "create_time": stamp,
                "update_time": stamp,
                "chat_id": self.chat_id(open_id),
                "chat_type": "p2p",
                "message_type": kind,
                "content": json.dumps(content, ensure_ascii=False),
                "user_agent": "Mozilla/5.0 Lark/7.30.0 (emulated)",
            },
        }
        await self._event(open_id, "im.message.receive_v1", event, click=False)
        return message_id

    async def click(
        self, open_id: str, message_id: str, value: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The user presses a button whose callback value is `value` on `message_id`.
        Returns the bot's answer ({"toast": ..., "card": ...} or {}), or None when none came
        within `click_deadline` (Feishu does not call again)."""
        user = self._user(open_id)
        event = {
            "operator": {
                "tenant_key": TENANT_KEY,
                "user_id": user.user_id,
                "open_id": user.open_id,
                "union_id": user.union_id,
            },
            "token": "c-" + secrets.token_hex(20),
            "action": {"value": value, "tag": "button"},
            "host": "im_message",
            "context": {"open_message_id": message_id, "open_chat_id": self.chat_id(open_id)},
        }
        answer = await self._event(open_id, "card.action.trigger", event, click=True)
        self.answers.append((open_id, message_id, answer))
        card = (answer or {}).get("card")
        if isinstance(card, dict) and card.get("type") == "raw":
            self._replace_card(open_id, message_id, card.get("data"))
        await self._touched()
        return answer

    async def click_label(self, open_id: str, label: str) -> dict[str, Any] | None:
        """Press the button `label` on the newest message that has one."""
        for message in reversed(self.chats.get(open_id, [])):
            for text, value in message.buttons:
                if text == label:
                    return await self.click(open_id, message.message_id, value)
        raise LookupError(f"no button {label!r} for {open_id}")

    def _replace_card(self, open_id: str, message_id: str, card: Any) -> None:
        if _card_problem(card):
            return  # Feishu shows an error toast and keeps the card as it was
        chat = self.chats.get(open_id, [])
        for index, message in enumerate(chat):
            if message.message_id == message_id:
                chat[index] = _card_message(message_id, card)
                self._tell("updated", open_id, chat[index])
                return

    def _user(self, open_id: str) -> User:
        user = self.users.get(open_id)
        if user is None:
            raise LookupError(f"{open_id} is not in the app's availability range: add_user it")
        return user

    async def verify_url(self) -> bool:
        """Feishu's check of a new request URL: the challenge must come back."""
        challenge = secrets.token_hex(16)
        payload = {
            "challenge": challenge,
            "token": self.verification_token,
            "type": "url_verification",
        }
        delivery = Delivery(uuid.uuid4().hex, "url_verification", "")
        self.deliveries.append(delivery)
        answer = await self._post(delivery, payload, once=True, wait=self.ack_timeout)
        return answer is not None and answer.get("challenge") == challenge

    # --- delivery --------------------------------------------------------------------------

    async def _event(
        self, open_id: str, event_type: str, event: dict[str, Any], *, click: bool
    ) -> dict[str, Any] | None:
        event_id = uuid.uuid4().hex
        envelope = {
            "schema": "2.0",
            "header": {
                "event_id": event_id,
                "event_type": event_type,
                "create_time": str(int(time.time() * 1000)),
                "token": self.verification_token,
                "app_id": self.app_id,
                "tenant_key": TENANT_KEY,
            },
            "event": event,
        }
        delivery = Delivery(event_id, event_type, open_id)
        self.deliveries.append(delivery)
        timeout = self.click_deadline if click else self.ack_timeout
        if self.callback_url is not None:
            answer = await self._post(delivery, envelope, once=click, wait=timeout)
        else:
            answer = await self._push(delivery, envelope, once=click, wait=timeout)
        if self.faults.duplicate and not click and delivery.status == "acked":
            # The same event again, as Feishu may send it even after an ack.
            again = Delivery(event_id, event_type, open_id)
            self.deliveries.append(again)
            if self.callback_url is not None:
                await self._post(again, envelope, once=True, wait=timeout)
            else:
                await self._push(again, envelope, once=True, wait=timeout)
        return answer

    async def _live(self) -> list[Connection]:
        """The live connections, waiting up to `queue_timeout` for one."""
        try:
            async with asyncio.timeout(self.queue_timeout), self._changed:
                await self._changed.wait_for(lambda: self.connected > 0)
        except TimeoutError:
            return []
        return [c for c in self.connections if not c.closed]

    async def _push(
        self, delivery: Delivery, envelope: dict[str, Any], *, once: bool, wait: float
    ) -> dict[str, Any] | None:
        """Over the long connection: a DATA frame to one live connection (or each, with
        `both_connections`); again per `retry_intervals` until acked."""
        payload = json.dumps(envelope, ensure_ascii=False).encode()
        tries = 1 if once else 1 + len(self.retry_intervals)
        for attempt in range(tries):
            live = await self._live()
            if not live:
                delivery.status = "undelivered"
                await self._touched()
                return None
            if self.faults.both_connections:
                targets = live
            else:
                targets = [live[next(self._round) % len(live)]]
            ignore = self.faults.unacked > 0
            if ignore:
                self.faults.unacked -= 1
            frame_id = uuid.uuid4().hex
            waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            self._waiting[frame_id] = waiter
            frame = self._data_frame(frame_id, payload)
            delivery.attempts += 1
            delivery.status = "sent"
            for connection in targets:
                delivery.connections.append(connection.device_id)
                # A socket closing under us gives no ack, so the event is sent again.
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await connection.ws.send_bytes(frame)
            await self._touched()
            try:
                reply: dict[str, Any] | None = await asyncio.wait_for(waiter, wait)
            except TimeoutError:
                reply = None
            finally:
                self._waiting.pop(frame_id, None)
            if reply is None:
                delivery.outcomes.append("no answer")
            elif ignore:
                delivery.outcomes.append("ignored")
            elif reply.get("code") != 200:
                delivery.outcomes.append(f"code {reply.get('code')}")
            else:
                delivery.outcomes.append("acked")
                delivery.status = "acked"
                delivery.answer = _decode_answer(reply.get("data"))
                await self._touched()
                return delivery.answer
            if attempt < tries - 1:
                await asyncio.sleep(self.retry_intervals[attempt])
        delivery.status = "unanswered" if once else "given_up"
        await self._touched()
        return None

    def _data_frame(self, frame_id: str, payload: bytes) -> bytes:
        frame = Frame()
        frame.SeqID = next(self._seq)
        frame.LogID = next(self._seq)
        frame.service = SERVICE_ID
        frame.method = 1  # DATA
        for key, value in (
            ("type", "event"),
            ("message_id", frame_id),
            ("trace_id", uuid.uuid4().hex),
            ("sum", "1"),
            ("seq", "0"),
        ):
            header = frame.headers.add()
            header.key, header.value = key, value
        frame.payload = payload
        return bytes(frame.SerializeToString())

    async def _post(
        self, delivery: Delivery, envelope: dict[str, Any], *, once: bool, wait: float
    ) -> dict[str, Any] | None:
        """In webhook mode: POST to `callback_url`, encrypted and signed when there is an
        Encrypt Key; again per `retry_intervals` until a 200 comes within `wait` seconds."""
        assert self.callback_url is not None and self._http is not None
        plain = json.dumps(envelope, ensure_ascii=False)
        if self.encrypt_key:
            body = json.dumps({"encrypt": crypto.encrypt(self.encrypt_key, plain)}).encode()
        else:
            body = plain.encode()
        tries = 1 if once else 1 + len(self.retry_intervals)
        for attempt in range(tries):
            stamp, nonce = str(int(time.time())), secrets.token_hex(8)
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "X-Lark-Request-Timestamp": stamp,
                "X-Lark-Request-Nonce": nonce,
            }
            if self.encrypt_key:
                headers["X-Lark-Signature"] = crypto.signature(stamp, nonce, self.encrypt_key, body)
            delivery.attempts += 1
            delivery.status = "sent"
            text = b""
            try:
                async with self._http.post(
                    self.callback_url,
                    data=body,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=wait),
                ) as response:
                    status = response.status
                    text = await response.read()
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            self.webhook_statuses.append(status)
            if status == 200:
                delivery.outcomes.append("acked")
                delivery.status = "acked"
                try:
                    answer = json.loads(text) if text.strip() else {}
                except ValueError:
                    answer = {}
                delivery.answer = answer if isinstance(answer, dict) else {}
                await self._touched()
                return delivery.answer
            delivery.outcomes.append(f"HTTP {status}" if status else "no answer")
            if attempt < tries - 1:
                await asyncio.sleep(self.retry_intervals[attempt])
        delivery.status = "unanswered" if once else "given_up"
        await self._touched()
        return None

    # --- the long connection -------------------------------------------------------------

    def _client_config(self) -> dict[str, Any]:
        return {
            "ReconnectCount": -1,
            "ReconnectInterval": self.reconnect_interval,
            "ReconnectNonce": self.reconnect_nonce,
            "PingInterval": self.ping_interval,
        }

    async def _endpoint(self, request: web.Request) -> web.Response:
        self.endpoint_calls += 1
        try:
            payload = await request.json()
        except ValueError:
            payload = {}
        if self.faults.refuse_connect > 0:
            self.faults.refuse_connect -= 1
            return web.json_response({"code": SYSTEM_BUSY, "msg": "system busy"})
        if payload.get("AppID") != self.app_id or payload.get("AppSecret") != self.app_secret:
            return web.json_response({"code": SECRET_INVALID, "msg": "app secret invalid"})
        device = f"{next(self._devices)}"
        url = f"ws://127.0.0.1:{self.port}/ws?device_id={device}&service_id={SERVICE_ID}"
        return web.json_response(
            {"code": 0, "msg": "ok", "data": {"URL": url, "ClientConfig": self._client_config()}}
        )

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(timeout=1.0)
        await ws.prepare(request)
        connection = Connection(request.query.get("device_id", "?"), ws)
        self.connections.append(connection)
        await self._touched()
        try:
            async for message in ws:
                if message.type == aiohttp.WSMsgType.BINARY:
                    await self._on_frame(connection, message.data)
        finally:
            connection.closed = True
            self.connections.remove(connection)
            await self._touched()
        return ws

    async def _on_frame(self, connection: Connection, data: bytes) -> None:
        frame = Frame()
        frame.ParseFromString(data)
        headers = {h.key: h.value for h in frame.headers}
        if frame.method == 0 and headers.get("type") == "ping":
            self.pings.append(connection.device_id)
            await self._touched()
            pong = Frame()
            pong.SeqID, pong.LogID, pong.service, pong.method = 0, 0, frame.service, 0
            header = pong.headers.add()
            header.key, header.value = "type", "pong"
            pong.payload = json.dumps(self._client_config()).encode()
            await connection.ws.send_bytes(pong.SerializeToString())
        elif frame.method == 1:
            waiter = self._waiting.get(headers.get("message_id", ""))
            if waiter is not None and not waiter.done():
                try:
                    reply = json.loads(frame.payload)
                except ValueError:
                    reply = {"code": 0}
                waiter.set_result(reply if isinstance(reply, dict) else {"code": 0})

    # --- the API ---------------------------------------------------------------------------

    def _refusal(self, request: web.Request) -> web.Response | None:
        """The next injected fault, or the token's refusal."""
        code = self.faults.fail.popleft() if self.faults.fail else 0
        if code in (429, RATE_LIMITED):
            return web.json_response(
                {"code": RATE_LIMITED, "msg": "request trigger frequency limit"},
                status=429,
                headers={"x-ogw-ratelimit-limit": "50", "x-ogw-ratelimit-reset": "1"},
            )
        if code >= 500 and code < 600:
            return web.Response(status=code)
        if code:
            return _error(code, "injected")
        # Feishu answers token errors with HTTP 400 and the code in the body.
        auth = request.headers.get("Authorization", "")
        token = auth[len("Bearer ") :].strip() if auth.startswith("Bearer ") else ""
        expires = self.tokens.get(token)
        if expires is None:
            return _error(
                TOKEN_INVALID,
                "Invalid access token for authorization. "
                "Please make a request with token attached.",
            )
        if expires <= self.now():
            return _error(TOKEN_EXPIRED, "Authentication token expired.")
        return None

    def _answer(self, name: str, data: dict[str, Any]) -> web.Response:
        """The answer, or a 502 when it is to be lost on the way back."""
        if self.faults.lose_answers.get(name, 0) > 0:
            self.faults.lose_answers[name] -= 1
            return web.Response(status=502)
        return web.json_response({"code": 0, "msg": "success", "data": data})

    async def _token(self, request: web.Request) -> web.Response:
        try:
            payload = await request.json()
        except ValueError:
            payload = {}
        if payload.get("app_id") != self.app_id:
            return _error(APP_INVALID, "invalid param: app_id")
        if payload.get("app_secret") != self.app_secret:
            return _error(SECRET_INVALID, "app secret invalid")
        self.token_fetches += 1
        now = self.now()
        for token, expires in self.tokens.items():
            left = (expires - now).total_seconds()
            if left >= TOKEN_RENEWAL:
                return web.json_response(
                    {"code": 0, "msg": "ok", "tenant_access_token": token, "expire": int(left)}
                )
        token = "t-" + secrets.token_hex(20)
        self.tokens[token] = now + dt.timedelta(seconds=TOKEN_LIFETIME)
        return web.json_response(
            {"code": 0, "msg": "ok", "tenant_access_token": token, "expire": TOKEN_LIFETIME}
        )

    async def _send(self, request: web.Request) -> web.Response:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        raw = await request.read()
        try:
            payload = json.loads(raw)
        except ValueError:
            return _error(INVALID_PARAMETER, "invalid request parameter, ext=body is not JSON")
        if not isinstance(payload, dict):
            return _error(INVALID_PARAMETER, "invalid request parameter, ext=body is not JSON")
        self.calls.append(("send", payload))
        if request.query.get("receive_id_type") != "open_id":
            return _error(INVALID_PARAMETER, "invalid request parameter, ext=receive_id_type")
        open_id = str(payload.get("receive_id", ""))
        if open_id not in self.users:
            return _error(NO_AVAILABILITY, "Bot has NO availability to this user.")
        key = payload.get("uuid")
        if key is not None and (not isinstance(key, str) or len(key) > UUID_CHARS):
            return _error(INVALID_PARAMETER, "invalid request parameter, ext=uuid")
        if isinstance(key, str) and key in self._uuids:
            first, data = self._uuids[key]
            if self.now() - first < UUID_WINDOW:
                return self._answer("send", data)  # the first message's, nothing sent again
        kind = payload.get("msg_type")
        if kind == "text" and len(raw) > TEXT_BODY_BYTES:
            return _error(TOO_LONG, "The length of the message content reaches its limit.")
        content_raw = payload.get("content")
        if not isinstance(content_raw, str):
            return _error(INVALID_PARAMETER, "invalid message content, ext=content is a string")
        if kind == "interactive" and len(content_raw.encode()) > CARD_BYTES:
            return _error(TOO_LONG, "The length of the message content reaches its limit.")
        try:
            content = json.loads(content_raw)
        except ValueError:
            content = None
        if not isinstance(content, dict):
            return _error(INVALID_PARAMETER, "invalid message content, ext=content is not JSON")
        message_id = "om_" + secrets.token_hex(16)
        if kind == "text":
            text = content.get("text")
            if not isinstance(text, str) or not text:
                return _error(INVALID_PARAMETER, "invalid message content, ext=text")
            message = Message(message_id, "text", text)
        elif kind == "interactive":
            problem = _card_problem(content)
            if problem:
                return _error(BAD_CARD, f"Failed to create card content, ext={problem}")
            message = _card_message(message_id, content)
        elif kind == "file":
            stored = self.files.get(str(content.get("file_key")))
            if stored is None:
                return _error(INVALID_PARAMETER, "invalid request parameter, ext=file_key")
            message = Message(message_id, "file", "", media=stored[0], name=stored[1])
        elif kind == "image":
            image = self.images.get(str(content.get("image_key")))
            if image is None:
                return _error(INVALID_PARAMETER, "invalid request parameter, ext=image_key")
            message = Message(message_id, "image", "", media=image)
        else:
            return _error(INVALID_PARAMETER, "invalid request parameter, ext=msg_type")
        if self._over_limit(open_id):
            return _error(FREQUENCY_LIMIT, "This operation triggers the frequency limit.")
        now = self.now()
        stamp = str(int(now.timestamp() * 1000))
        data = {
            "message_id": message_id,
            "msg_type": kind,
            "create_time": stamp,
            "update_time": stamp,
            "deleted": False,
            "updated": False,
            "chat_id": self.chat_id(open_id),
            "sender": {
                "id": self.app_id,
                "id_type": "app_id",
                "sender_type": "app",
                "tenant_key": TENANT_KEY,
            },
            "body": {"content": content_raw},
        }
        if isinstance(key, str):
            self._uuids[key] = (now, data)
        self._sent_at[message_id] = now
        self.chats[open_id].append(message)
        self._tell("sent", open_id, message)
        await self._touched()
        return self._answer("send", data)

    def _over_limit(self, open_id: str) -> bool:
        if self.per_user_qps is None:
            return False
        recent = self._recent.setdefault(open_id, deque())
        now = time.monotonic()
        while recent and now - recent[0] >= 1.0:
            recent.popleft()
        if len(recent) >= self.per_user_qps:
            return True
        recent.append(now)
        return False

    async def _patch(self, request: web.Request) -> web.Response:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        message_id = request.match_info["message_id"]
        try:
            payload = await request.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            return _error(INVALID_PARAMETER, "invalid request parameter, ext=body is not JSON")
        self.calls.append(("patch", {"message_id": message_id, **payload}))
        found = next(
            (
                (open_id, index)
                for open_id, chat in self.chats.items()
                for index, message in enumerate(chat)
                if message.message_id == message_id
            ),
            None,
        )
        if found is None:
            return _error(INVALID_PARAMETER, "invalid request parameter, ext=invalid message_id")
        open_id, index = found
        old = self.chats[open_id][index]
        if old.kind != "interactive":
            return _error(INVALID_PARAMETER, "invalid request parameter, ext=not a card")
        if not old.update_multi:
            return _error(INVALID_PARAMETER, "invalid request parameter, ext=not a shared card")
        if self.now() - self._sent_at[message_id] > PATCH_WINDOW:
            return _error(
                INVALID_PARAMETER, "invalid request parameter, ext=sent more than 14 days ago"
            )
        content_raw = payload.get("content")
        if not isinstance(content_raw, str):
            return _error(INVALID_PARAMETER, "invalid message content, ext=content is a string")
        if len(content_raw.encode()) > CARD_BYTES:
            return _error(TOO_LONG, "The length of the message content reaches its limit.")
        try:
            card = json.loads(content_raw)
        except ValueError:
            card = None
        problem = _card_problem(card)
        if problem:
            return _error(BAD_CARD, f"Failed to create card content, ext={problem}")
        if not card.get("config", {}).get("update_multi"):
            return _error(
                INVALID_PARAMETER, "invalid request parameter, ext=update_multi must stay true"
            )
        changed = _card_message(message_id, card)
        self.chats[open_id][index] = changed
        self._tell("updated", open_id, changed)
        await self._touched()
        return self._answer("patch", {})

    async def _upload_file(self, request: web.Request) -> web.Response:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        form = await _form(request)
        data, filename = form.get("file", (b"", None))
        name = form.get("file_name", (b"", None))[0].decode() or filename or ""
        file_type = form.get("file_type", (b"", None))[0].decode()
        self.calls.append(("file", {"file_type": file_type, "file_name": name, "size": len(data)}))
        if not data or not name or not file_type:
            return _error(INVALID_PARAMETER, "invalid request parameter, ext=file, file_name")
        key = "file_v3_" + secrets.token_hex(16)
        self.files[key] = (data, name)
        return web.json_response({"code": 0, "msg": "success", "data": {"file_key": key}})

    async def _upload_image(self, request: web.Request) -> web.Response:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        form = await _form(request)
        data = form.get("image", (b"", None))[0]
        image_type = form.get("image_type", (b"", None))[0].decode()
        self.calls.append(("image", {"image_type": image_type, "size": len(data)}))
        if not data or image_type != "message":
            return _error(INVALID_PARAMETER, "invalid request parameter, ext=image, image_type")
        key = "img_v3_" + secrets.token_hex(16)
        self.images[key] = data
        return web.json_response({"code": 0, "msg": "success", "data": {"image_key": key}})


async def _form(request: web.Request) -> dict[str, tuple[bytes, str | None]]:
    """A multipart body's fields as raw bytes with their file names: lark-oapi sends the
    file as a part without a file name, which aiohttp's post() would decode as text."""
    fields: dict[str, tuple[bytes, str | None]] = {}
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if isinstance(part, aiohttp.BodyPartReader) and part.name:
            fields[part.name] = (bytes(await part.read()), part.filename)
    return fields


def _error(code: int, msg: str, status: int = 400) -> web.Response:
    return web.json_response({"code": code, "msg": msg}, status=status)


def _decode_answer(data: Any) -> dict[str, Any]:
    """The handler's result in an ack: base64 of its JSON, or nothing."""
    if not data:
        return {}
    try:
        answer = json.loads(base64.b64decode(data))
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _walk(node: Any, visit: Callable[[dict[str, Any]], bool]) -> None:
    """Every element of a card, in order; `visit` returns False to skip one's children."""
    if isinstance(node, list):
        for child in node:
            _walk(child, visit)
    elif isinstance(node, dict) and visit(node):
        for child in node.values():
            if isinstance(child, (dict, list)):
                _walk(child, visit)


def _card_problem(card: Any) -> str | None:
    """Why Feishu would refuse this card (JSON 2.0 with callback buttons), or None."""
    if not isinstance(card, dict):
        return "the card is not a JSON object"
    if card.get("schema") != "2.0":
        return 'only card JSON 2.0 (schema "2.0") is emulated'
    if not isinstance(card.get("config", {}), dict):
        return "config is an object"
    header = card.get("header")
    if header is not None and (
        not isinstance(header, dict)
        or not isinstance(header.get("title", {}), dict)
        or not isinstance(header.get("title", {}).get("content", ""), str)
    ):
        return "header.title is a plain_text element"
    body = card.get("body")
    if not isinstance(body, dict) or not isinstance(body.get("elements"), list):
        return "body.elements is a list"
    problems: list[str] = []

    def check(element: dict[str, Any]) -> bool:
        if element.get("tag") != "button":
            return True
        text = element.get("text")
        if not isinstance(text, dict) or not isinstance(text.get("content"), str):
            problems.append("a button needs text.content")
        behaviors = element.get("behaviors")
        if not isinstance(behaviors, list) or not behaviors:
            problems.append("a button needs a behaviors list")
        else:
            for behavior in behaviors:
                if not isinstance(behavior, dict) or "type" not in behavior:
                    problems.append("a behavior needs a type")
                elif behavior["type"] == "callback" and not isinstance(behavior.get("value"), dict):
                    problems.append("a callback behavior carries a value object")
        return False

    _walk(body["elements"], check)
    return problems[0] if problems else None


def _card_message(message_id: str, card: dict[str, Any]) -> Message:
    """What the user reads of a card: the header's title, then every text in order, and
    the buttons with their callback values."""
    texts: list[str] = []
    title = ((card.get("header") or {}).get("title") or {}).get("content")
    if isinstance(title, str) and title:
        texts.append(title)
    buttons: list[tuple[str, dict[str, Any]]] = []

    def visit(element: dict[str, Any]) -> bool:
        tag = element.get("tag")
        if tag == "button":
            label = str((element.get("text") or {}).get("content", ""))
            value: dict[str, Any] = next(
                (
                    b["value"]
                    for b in element.get("behaviors") or []
                    if isinstance(b, dict) and b.get("type") == "callback"
                ),
                {},
            )
            buttons.append((label, dict(value)))
            return False
        if tag in ("markdown", "plain_text", "lark_md") and isinstance(element.get("content"), str):
            texts.append(element["content"])
        return True

    _walk(card["body"]["elements"], visit)
    return Message(
        message_id,
        "interactive",
        "\n".join(texts),
        tuple(buttons),
        update_multi=bool((card.get("config") or {}).get("update_multi")),
        card=card,
    )

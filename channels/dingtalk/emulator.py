"""A DingTalk (钉钉) emulator on aiohttp: one organisation, one app with a Stream-mode robot,
simulated people.

The bot under test talks to it as to DingTalk, through the real `dingtalk_stream` SDK
and plain HTTP; `base_url` replaces https://api.dingtalk.com (and https://oapi.dingtalk.com
for the old media upload). The SDK reads its endpoint when it is imported, so pointing
it here means patching module attributes: `pointed_sdk(base_url)` does that (and undoes
it), `sdk_patches(base_url)` lists them for pytest's monkeypatch.

The Stream gateway
  `POST /v1.0/gateway/connections/open` {clientId, clientSecret, subscriptions, ua,
  localIp} -> {endpoint, ticket}: a wrong client is refused with 401 and DingTalk's
  `authFailed` JSON; each ticket opens one socket, once, within `ticket_lifetime` seconds.
  Each request is kept in `opens`. `faults.refuse_open = n` refuses the next n (503).
  `GET /connect?ticket=...` is the websocket. People's messages reach the bot as CALLBACK
  frames on `BOT_TOPIC` (the payload `ChatbotMessage.from_dict` reads), card clicks on
  `CARD_TOPIC` (what `CardCallbackMessage.from_dict` reads). An event goes to the newest
  connection that subscribed to its topic (it waits for one while none is up) and is
  sent again when no ack with code 200 came within `ack_timeout`, up to `max_attempts`
  sends (then it is kept in `undelivered`). Every ack the client writes back is kept in
  `acks`, every frame sent in `frames`.
  Faults: `faults.redeliver_after_ack = n` (the next n events are sent once more after
  their ack, as DingTalk sometimes does), `await disconnect(notice=True)` (a SYSTEM
  `disconnect` frame, then the socket closes after `disconnect_grace` seconds unless the
  client closed it first; the SDK then registers again through connections/open),
  `await disconnect(notice=False)` (a close frame, no notice), `await drop()` (the TCP
  connection cut, no close frame). `await ping()` sends the SYSTEM `ping` frame and says
  whether every connection echoed its opaque.

The APIs (JSON; new ones take the header `x-acs-dingtalk-access-token`)
  `POST /v1.0/oauth2/accessToken` {appKey, appSecret} -> {accessToken, expireIn: 7200};
  within its lifetime the same token comes back, renewed, as DingTalk documents
  (`token_fetches` counts calls).
  `POST /v1.0/robot/oToMessages/batchSend` {robotCode, userIds (1-20), msgKey, msgParam}
  -> {processQueryKey, invalidStaffIdList, flowControlledStaffIdList}; msgKeys drawn:
  sampleText {content}, sampleMarkdown {title, text}, sampleFile {mediaId, fileName,
  fileType}, sampleLink {title, text, messageUrl, picUrl}, sampleActionCard {title, text,
  singleTitle, singleURL} (its button is a link); other keys are refused here.
  `POST /v1.0/card/instances/createAndDeliver` {cardTemplateId, outTrackId, callbackType,
  cardData.cardParamMap (string values), openSpaceId "dtv1.card//IM_ROBOT.<userid>"
  (several joined by ";"), imRobotOpenDeliverModel {spaceType: IM_ROBOT[, robotCode]}}
  -> {success, result: {outTrackId, deliverResults}}; `PUT /v1.0/card/instances`
  {outTrackId, cardData.cardParamMap, cardUpdateOptions.updateCardDataByKey} -> {success,
  result}: with updateCardDataByKey the keys given change, else the map is replaced.
  Cards are drawn from templates registered with `add_template` (an unknown id is
  refused): the template's text with `${name}` filled from cardParamMap (markdown made
  plain), its fixed buttons, then the buttons in the variable `buttons_var` (a JSON array
  of {"text": label, "params": {...}}, "id" optional). A click sends the button's params.
  Answers to card callbacks are recorded, not applied: a card changes through the PUT.
  `POST /media/upload?access_token=...&type=file` (the old API, multipart field `media`)
  -> {errcode: 0, media_id}.
  `POST /robot/sendBySession?session=...` (the `sessionWebhook` of an incoming message,
  which the SDK's `reply_text` / `reply_markdown` use) -> {errcode: 0}.

What it enforces: the token (missing, unknown, expired, revoked: HTTP 400
`InvalidAuthentication` "不合法的access_token", as observed from DingTalk; the old upload
answers errcode 40014), the robot code, 1-20 userIds, known msgKeys and JSON msgParams of
at most 15,000 bytes, known users (others come back in `invalidStaffIdList`; cards to
them fail in `deliverResults`), known templates and unused outTrackIds, string card
values, a file of at most 20 MB, and `qps` calls a second per API (more: HTTP 403
`Forbidden.AccessDenied.QpsLimitForApi`). `per_user_minute` (off by default: DingTalk
gives no number) puts users past it in `flowControlledStaffIdList`, their message unsent.

Faults for the APIs: `expire_tokens()`, `revoke_tokens()`, `fail_next(*items)` (an int is
an HTTP status, a str a DingTalk error code; 0 lets a call through), `faults.lose_answers`
(path -> count: the call takes effect, its answer is lost: a 502) and `faults.losing`
(robot messages and cards are accepted but never arrive, as DingTalk loses robot messages
sent while a connection is down: kept in `lost`).

People: `add_user(userid, name)`, `await send_text(userid, text)`, `await
send_media(userid, kind)` and `await click(userid, out_track_id, params)` (all return the
frame's messageId), `await
press(userid, label)` (the newest card with that button), `chat(userid)` -> [Message],
`last(userid)`, `await wait_until(done)` (re-checked after every change to a chat and
every ack) and `await wait_acked(message_id)`. `watchers` are called with ("sent" or
"updated", userid, message) after every change to a chat. API calls are kept in `calls`
as (path, body). Tokens and tickets live on `clock` time; frames carry the wall clock.
Where DingTalk's documents give no code or number, the one used is marked "picked".
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import itertools
import json
import re
import secrets
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp
from aiohttp import web

BOT_TOPIC = "/v1.0/im/bot/messages/get"
CARD_TOPIC = "/v1.0/card/instances/callback"
OPEN = "/v1.0/gateway/connections/open"
OAUTH = "/v1.0/oauth2/accessToken"
BATCH_SEND = "/v1.0/robot/oToMessages/batchSend"
CARD_DELIVER = "/v1.0/card/instances/createAndDeliver"
CARD_UPDATE = "/v1.0/card/instances"
UPLOAD = "/media/upload"
SESSION_SEND = "/robot/sendBySession"

TOKEN_LIFETIME = 7200
MAX_USERS = 20  # batchSend: "每次最多传20个"
MSG_PARAM_BYTES = 15_000  # documented for groupMessages/send; assumed for batchSend
FILE_BYTES = 20 * 1024 * 1024  # media/upload: a file of at most 20 MB
QPS = 20  # the standard edition's calls a second per API
SESSION_LIFETIME = 90 * 60  # a sessionWebhook lasts about 1.5 hours
AUTH_STATUS = 400  # DingTalk answers an invalid token with 400, not 401 (observed)
SPACE_PREFIX = "dtv1.card//"
MSG_KEYS = ("sampleText", "sampleMarkdown", "sampleFile", "sampleLink", "sampleActionCard")
# HTTP statuses for error codes injected by name (fail_next("...")); others get 400.
CODE_STATUS = {
    "Forbidden.AccessDenied.QpsLimitForApi": 403,
    "InvalidAuthentication": AUTH_STATUS,
    "authFailed": 401,
    "ServiceUnavailable": 503,
}


@dataclass(frozen=True)
class User:
    userid: str
    name: str


@dataclass(frozen=True)
class Message:
    """What a person sees: text, markdown (made plain), a card, a file, a link."""

    id: str
    kind: str  # text, markdown, card, file, link, action_card
    text: str
    buttons: tuple[tuple[str, dict[str, Any]], ...] = ()  # (label, params)
    title: str | None = None
    out_track_id: str | None = None  # a card's
    media: bytes | None = None
    name: str | None = None  # a file's

    @property
    def labels(self) -> list[str]:
        return [label for label, _ in self.buttons]


@dataclass(frozen=True)
class Template:
    """A card template as made in DingTalk's card console, reduced to what a person sees."""

    template_id: str
    text: str = "${title}\n${markdown}"
    buttons_var: str | None = "buttons"
    buttons: tuple[tuple[str, dict[str, Any]], ...] = ()  # fixed in the template


@dataclass
class Card:
    out_track_id: str
    template_id: str
    userids: list[str]  # one instance can go to several one-to-one chats
    params: dict[str, str]
    callback_type: str
    message_id: str
    delivered: bool  # False when `faults.losing` swallowed it


@dataclass(frozen=True)
class Ack:
    message_id: str
    code: int
    message: str
    data: str
    connection: str


@dataclass
class Connection:
    id: str
    ws: web.WebSocketResponse
    request: web.Request
    subscriptions: list[dict[str, Any]]
    closing: bool = False


@dataclass
class Event:
    message_id: str
    type: str  # CALLBACK or SYSTEM
    topic: str
    data: dict[str, Any]
    attempts: int = 0
    acked: bool = False
    answered: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Ticket:
    issued: dt.datetime
    subscriptions: list[dict[str, Any]]
    used: bool = False


@dataclass
class Faults:
    # HTTP statuses (int) or DingTalk error codes (str) for the next API calls; 0 passes.
    fail: deque[int | str] = field(default_factory=deque)
    # Path -> count: calls that take effect, then answer 502 (the answer lost on the way).
    lose_answers: dict[str, int] = field(default_factory=dict)
    losing: bool = False  # robot messages accepted and lost (kept in `lost`)
    redeliver_after_ack: int = 0  # events sent once more after their ack
    refuse_open: int = 0  # connections/open calls refused with 503


def _error(status: int, code: str, message: str) -> web.Response:
    """DingTalk's error shape for its new APIs: {code, requestid, message}."""
    body = {"code": code, "requestid": str(uuid.uuid4()).upper(), "message": message}
    return web.json_response(body, status=status)


class DingTalkEmulator:
    def __init__(
        self,
        *,
        client_id: str = "dingemulatedappkey01",
        client_secret: str = "emulated-client-secret",  # noqa: S107 (the emulator's own)
        robot_code: str | None = None,
        corp_id: str = "dingemulatedcorp0001",
        clock: Any = None,
        ack_timeout: float = 5.0,  # picked: DingTalk does not publish its wait
        max_attempts: int = 4,  # picked
        ticket_lifetime: float = 90.0,  # seconds; picked (documented only as short-lived)
        disconnect_grace: float = 1.0,  # seconds between the notice and the close; picked
        qps: int | None = QPS,
        per_user_minute: int | None = None,
    ) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.robot_code = robot_code or client_id  # a robot's code is its app's key
        self.corp_id = corp_id
        self.clock = clock
        self.ack_timeout, self.max_attempts = ack_timeout, max_attempts
        self.ticket_lifetime, self.disconnect_grace = ticket_lifetime, disconnect_grace
        self.qps, self.per_user_minute = qps, per_user_minute
        self.users: dict[str, User] = {}
        self.chats: dict[str, list[Message]] = {}
        self.templates: dict[str, Template] = {}
        self.cards: dict[str, Card] = {}
        self.tokens: dict[str, dt.datetime] = {}
        self.tickets: dict[str, Ticket] = {}
        self.media: dict[str, tuple[bytes, str]] = {}
        self.sessions: dict[str, tuple[str, float]] = {}  # session -> (userid, expires)
        self.faults = Faults()
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.opens: list[dict[str, Any]] = []
        self.connections: list[Connection] = []  # live ones
        self.connections_made = 0
        self.events: dict[str, Event] = {}
        self.frames: list[dict[str, Any]] = []  # every frame sent, in order
        self.acks: list[Ack] = []
        self.undelivered: list[Event] = []
        self.lost: list[tuple[str, Message]] = []
        self.flow_controlled: list[tuple[str, str]] = []  # (userid, msgKey)
        self.token_fetches = 0
        # What each person typed, and after how many of the bot's messages.
        self.typed: dict[str, list[tuple[int, str]]] = {}
        # Called with ("sent" or "updated", userid, message) after every change to a chat.
        self.watchers: list[Callable[[str, str, Message], None]] = []
        self._calls_at: dict[str, deque[float]] = {}
        self._sent_to: dict[str, deque[float]] = {}
        self._changed = asyncio.Condition()
        self._ids = itertools.count(1)
        self._pumps: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self.port = 0

    def now(self) -> dt.datetime:
        return self.clock.now() if self.clock is not None else dt.datetime.now(dt.UTC)

    # --- the server ----------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application(client_max_size=FILE_BYTES + 1024 * 1024)
        app.router.add_post(OPEN, self._open)
        app.router.add_get("/connect", self._socket)
        app.router.add_post(OAUTH, self._token)
        app.router.add_post(BATCH_SEND, self._batch_send)
        app.router.add_post(CARD_DELIVER, self._deliver_card)
        app.router.add_put(CARD_UPDATE, self._update_card)
        app.router.add_post(UPLOAD, self._upload)
        app.router.add_post(SESSION_SEND, self._session_send)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        for task in list(self._pumps):
            task.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)
        for connection in list(self.connections):
            await connection.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, template_id: str | None = None) -> dict[str, str]:
        """The bot's settings for this app and robot."""
        settings = {
            "DINGTALK_CLIENT_ID": self.client_id,
            "DINGTALK_CLIENT_SECRET": self.client_secret,
            "DINGTALK_ROBOT_CODE": self.robot_code,
            "DINGTALK_API_BASE_URL": self.base_url,
        }
        if template_id is not None:
            settings["DINGTALK_CARD_TEMPLATE_ID"] = template_id
        return settings

    # --- faults ----------------------------------------------------------------------------

    def expire_tokens(self) -> None:
        self.tokens = {token: self.now() - dt.timedelta(seconds=1) for token in self.tokens}

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    def fail_next(self, *items: int | str) -> None:
        self.faults.fail.extend(items)

    async def disconnect(self, *, notice: bool = True) -> None:
        """Close every live connection: with a SYSTEM `disconnect` frame first when `notice`
        (the socket then closes after `disconnect_grace` unless the client closed it)."""
        for connection in list(self.connections):
            connection.closing = True
            if not notice:
                await connection.ws.close()
                continue
            frame = _frame("SYSTEM", "disconnect", self._message_id(), {"reason": "emulated"})
            await self._send(connection, frame)
            task = asyncio.create_task(self._close_later(connection))
            self._pumps.add(task)
            task.add_done_callback(self._pumps.discard)

    async def _close_later(self, connection: Connection) -> None:
        await asyncio.sleep(self.disconnect_grace)
        await connection.ws.close()

    async def drop(self) -> None:
        """Cut every live connection without a close frame, as a broken network does."""
        for connection in list(self.connections):
            connection.closing = True
            transport = connection.request.transport
            if transport is not None:
                transport.abort()

    async def ping(self, timeout: float = 2.0) -> bool:  # noqa: ASYNC109
        """The gateway's SYSTEM ping to every live connection: True when each echoed it."""
        waits: list[tuple[Event, str]] = []
        for connection in list(self.connections):
            opaque = secrets.token_hex(8)
            event = Event(self._message_id(), "SYSTEM", "ping", {"opaque": opaque})
            self.events[event.message_id] = event
            waits.append((event, opaque))
            await self._send(connection, _frame("SYSTEM", "ping", event.message_id, event.data))
        if not waits:
            return False
        try:
            async with asyncio.timeout(timeout):
                for event, _ in waits:
                    await event.answered.wait()
        except TimeoutError:
            return False
        echoed = {ack.message_id: ack.data for ack in self.acks}
        return all(
            json.loads(echoed.get(event.message_id) or "{}").get("opaque") == opaque
            for event, opaque in waits
        )

    # --- people ----------------------------------------------------------------------------

    def add_user(self, userid: str, name: str = "用户") -> User:
        user = User(userid, name)
        self.users[userid] = user
        self.chats.setdefault(userid, [])
        return user

    def add_template(
        self,
        template_id: str,
        *,
        text: str = "${title}\n${markdown}",
        buttons_var: str | None = "buttons",
        buttons: tuple[tuple[str, dict[str, Any]], ...] = (),
    ) -> Template:
        template = Template(template_id, text, buttons_var, buttons)
        self.templates[template_id] = template
        return template

    def chat(self, userid: str) -> list[Message]:
        return list(self.chats.get(userid, []))

    def last(self, userid: str) -> Message:
        return self.chats[userid][-1]

    async def wait_until(self, done: Callable[[], bool], timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Until `done()` holds, checked after every change to a chat and every ack."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(done)

    async def wait_acked(self, message_id: str, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        await self.wait_until(lambda: self.events[message_id].acked, timeout)

    async def _touched(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def send_text(self, userid: str, text: str) -> str:
        """What `userid` types to the robot in their one-to-one chat; the frame's messageId."""
        self.typed.setdefault(userid, []).append((len(self.chats.get(userid, [])), text))
        return self._push(BOT_TOPIC, self._incoming(userid, "text", {"text": {"content": text}}))

    def _incoming(self, userid: str, kind: str, content: dict[str, Any]) -> dict[str, Any]:
        """A robot message's callback data, as `ChatbotMessage.from_dict` reads it."""
        user = self.users[userid]
        wall = int(time.time() * 1000)
        session = secrets.token_urlsafe(24)
        self.sessions[session] = (userid, time.monotonic() + SESSION_LIFETIME)
        return {
            "conversationId": _conversation_id(self.robot_code, userid),
            "chatbotCorpId": self.corp_id,
            "chatbotUserId": _opaque_id("robot", self.robot_code),
            "msgId": f"msg{secrets.token_urlsafe(16)}",
            "senderNick": user.name,
            "isAdmin": False,
            "senderStaffId": userid,
            "sessionWebhookExpiredTime": wall + SESSION_LIFETIME * 1000,
            "createAt": wall,
            "senderCorpId": self.corp_id,
            "conversationType": "1",
            "senderId": _opaque_id("user", userid),
            "sessionWebhook": f"{self.base_url}{SESSION_SEND}?session={session}",
            "robotCode": self.robot_code,
            "msgtype": kind,
            **content,
        }

    async def send_media(self, userid: str, kind: str = "picture") -> str:
        """`userid` sends a picture, a voice note (audio), a video or a file; the frame's
        messageId. Its content is what DingTalk gives media: a downloadCode."""
        content = {"downloadCode": secrets.token_urlsafe(24)}
        return self._push(BOT_TOPIC, self._incoming(userid, kind, {"content": content}))

    async def click(self, userid: str, out_track_id: str, params: dict[str, Any]) -> str:
        """`userid` presses a card's button whose callback carries `params`."""
        card = self.cards.get(out_track_id)
        if card is None:
            raise LookupError(f"no card {out_track_id!r}")
        if card.callback_type != "STREAM":
            raise ValueError(f"card {out_track_id!r} was not sent with callbackType STREAM")
        action = next(
            (b.get("id") for b in _button_objects(self.templates, card) if b["params"] == params),
            None,
        )
        private = {"actionIds": [action or "action"], "params": params}
        payload = {
            "extension": "{}",
            "corpId": self.corp_id,
            "type": "actionCallback",
            "userId": userid,
            "userIdType": 1,
            "spaceType": "IM_ROBOT",
            "spaceId": userid,
            "outTrackId": out_track_id,
            "content": json.dumps({"cardPrivateData": private}, ensure_ascii=False),
        }
        return self._push(CARD_TOPIC, payload)

    async def press(self, userid: str, label: str) -> str:
        """Press `label` on the newest card in `userid`'s chat that has it."""
        for message in reversed(self.chats.get(userid, [])):
            if message.kind == "card" and label in message.labels and message.out_track_id:
                params = dict(message.buttons)[label]
                return await self.click(userid, message.out_track_id, params)
        raise LookupError(f"no card with {label!r} for {userid}")

    # --- the Stream gateway ----------------------------------------------------------------

    def _message_id(self) -> str:
        return f"{uuid.uuid4().hex[:8]}_{next(self._ids)}"

    def _push(self, topic: str, data: dict[str, Any]) -> str:
        event = Event(self._message_id(), "CALLBACK", topic, data)
        self.events[event.message_id] = event
        task = asyncio.create_task(self._pump(event))
        self._pumps.add(task)
        task.add_done_callback(self._pumps.discard)
        return event.message_id

    async def _pump(self, event: Event) -> None:
        while not event.acked and event.attempts < self.max_attempts:
            connection = await self._connection_for(event.topic)
            event.attempts += 1
            event.answered.clear()
            frame = _frame(event.type, event.topic, event.message_id, event.data, connection.id)
            if not await self._send(connection, frame):
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.ack_timeout):
                    await event.answered.wait()
        if not event.acked:
            self.undelivered.append(event)
            await self._touched()
            return
        if self.faults.redeliver_after_ack > 0:
            self.faults.redeliver_after_ack -= 1
            connection = await self._connection_for(event.topic)
            event.attempts += 1
            frame = _frame(event.type, event.topic, event.message_id, event.data, connection.id)
            await self._send(connection, frame)

    async def _connection_for(self, topic: str) -> Connection:
        def subscribed() -> Connection | None:
            for connection in reversed(self.connections):
                if not connection.closing and any(
                    s.get("type") == "CALLBACK" and s.get("topic") == topic
                    for s in connection.subscriptions
                ):
                    return connection
            return None

        async with self._changed:
            await self._changed.wait_for(lambda: subscribed() is not None)
        found = subscribed()
        assert found is not None
        return found

    async def _send(self, connection: Connection, frame: dict[str, Any]) -> bool:
        try:
            await connection.ws.send_str(json.dumps(frame, ensure_ascii=False))
        except (ConnectionError, RuntimeError, aiohttp.ClientError):
            return False
        self.frames.append(frame)
        return True

    async def _open(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "invalidParameter", "body is not JSON")
        self.opens.append(body)
        if self.faults.refuse_open > 0:
            self.faults.refuse_open -= 1
            return _error(503, "ServiceUnavailable", "服务暂不可用")  # picked
        if body.get("clientId") != self.client_id or body.get("clientSecret") != (
            self.client_secret
        ):
            return _error(401, "authFailed", "鉴权失败")
        subscriptions = body.get("subscriptions")
        if not isinstance(subscriptions, list) or not subscriptions:
            return _error(400, "invalidParameter", "subscriptions is empty")  # picked
        ticket = str(uuid.uuid4())
        self.tickets[ticket] = Ticket(self.now(), subscriptions)
        endpoint = f"ws://127.0.0.1:{self.port}/connect"
        return web.json_response({"endpoint": endpoint, "ticket": ticket})

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        ticket = self.tickets.get(request.query.get("ticket", ""))
        age = (self.now() - ticket.issued).total_seconds() if ticket is not None else 0.0
        if ticket is None or ticket.used or age > self.ticket_lifetime:
            return _error(401, "invalidTicket", "ticket is invalid or expired")  # picked
        ticket.used = True
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        connection = Connection(f"conn{next(self._ids)}", ws, request, ticket.subscriptions)
        self.connections.append(connection)
        self.connections_made += 1
        await self._touched()
        try:
            async for frame in ws:
                if frame.type == aiohttp.WSMsgType.TEXT:
                    self._on_frame(connection, frame.data)
                    await self._touched()
        finally:
            self.connections.remove(connection)
            await self._touched()
        return ws

    def _on_frame(self, connection: Connection, raw: str) -> None:
        """An ack: {code, headers: {messageId, ...}, message, data}."""
        try:
            frame = json.loads(raw)
            message_id = str(frame["headers"]["messageId"])
            code = int(frame.get("code", 0))
        except (ValueError, KeyError, TypeError):
            return
        data = frame.get("data")
        ack = Ack(message_id, code, str(frame.get("message", "")), str(data or ""), connection.id)
        self.acks.append(ack)
        event = self.events.get(message_id)
        if event is not None:
            if code == 200:
                event.acked = True
            event.answered.set()

    # --- the APIs --------------------------------------------------------------------------

    def _injected(self) -> web.Response | None:
        item = self.faults.fail.popleft() if self.faults.fail else 0
        if isinstance(item, str) and item:
            return _error(CODE_STATUS.get(item, 400), item, "injected")
        if isinstance(item, int) and item:
            code = "ServiceUnavailable" if item >= 500 else "injected"
            return _error(item, code, "injected")
        return None

    def _refusal(self, request: web.Request) -> web.Response | None:
        """An injected fault, the token's refusal, or the QPS limit's."""
        injected = self._injected()
        if injected is not None:
            return injected
        expires = self.tokens.get(request.headers.get("x-acs-dingtalk-access-token", ""))
        if expires is None or expires <= self.now():
            return _error(AUTH_STATUS, "InvalidAuthentication", "不合法的access_token")
        if self._over_qps(request.path):
            return _error(
                403, "Forbidden.AccessDenied.QpsLimitForApi", "当前接口调用量超过限制，请稍后重试"
            )
        return None

    def _over_qps(self, path: str) -> bool:
        if self.qps is None:
            return False
        calls = self._calls_at.setdefault(path, deque())
        now = time.monotonic()
        while calls and now - calls[0] >= 1.0:
            calls.popleft()
        if len(calls) >= self.qps:
            return True
        calls.append(now)
        return False

    def _flow_controlled(self, userid: str) -> bool:
        if self.per_user_minute is None:
            return False
        sent = self._sent_to.setdefault(userid, deque())
        now = time.monotonic()
        while sent and now - sent[0] > 60:
            sent.popleft()
        if len(sent) >= self.per_user_minute:
            return True
        sent.append(now)
        return False

    def _answer(self, path: str, answer: dict[str, Any]) -> web.Response:
        """What the bot hears back: the answer, or a 502 when it is to be lost on the way."""
        if self.faults.lose_answers.get(path, 0) > 0:
            self.faults.lose_answers[path] -= 1
            return web.Response(status=502)
        return web.json_response(answer)

    def _tell(self, change: str, userid: str, message: Message) -> None:
        for watcher in self.watchers:
            watcher(change, userid, message)

    def _arrive(self, userid: str, message: Message) -> None:
        if self.faults.losing:
            self.lost.append((userid, message))
            return
        self.chats.setdefault(userid, []).append(message)
        self._tell("sent", userid, message)

    async def _token(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "MissingBody", "body is mandatory for this action")
        if body.get("appKey") != self.client_id:
            return _error(400, "invalidClientId", "无效的clientId")  # picked
        if body.get("appSecret") != self.client_secret:
            return _error(400, "invalidClientSecret", "无效的clientSecret")  # picked
        self.token_fetches += 1
        now = self.now()
        token = next((t for t, expires in self.tokens.items() if expires > now), None)
        token = token or secrets.token_hex(16)
        self.tokens[token] = now + dt.timedelta(seconds=TOKEN_LIFETIME)
        return web.json_response({"accessToken": token, "expireIn": TOKEN_LIFETIME})

    async def _batch_send(self, request: web.Request) -> web.Response:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "invalidParameter.param.invalid", "参数不合法")
        self.calls.append((BATCH_SEND, body))
        robot = body.get("robotCode")
        if not robot:
            return _error(400, "invalidParameter.robotCode.empty", "机器人robotCode为空")
        if robot != self.robot_code:
            return _error(400, "invalidParameter.robotCode.auth", "robotCode与应用不匹配")
        users = body.get("userIds")
        if not isinstance(users, list) or not users:
            return _error(400, "invalidParameter.userIds.empty", "用户userId列表为空")
        if len(users) > MAX_USERS:
            return _error(400, "invalidParameter.userIds.overMax", "用户userId列表超过上限")
        key = body.get("msgKey")
        if not key:
            return _error(400, "invalidParameter.msgKey.empty", "缺少msgKey")
        if key not in MSG_KEYS:
            return _error(400, "invalidParameter.msgKey.invalid", "msgKey无效")
        raw = body.get("msgParam")
        try:
            param = json.loads(raw) if isinstance(raw, str) else None
        except ValueError:
            param = None
        if not isinstance(param, dict):
            return _error(400, "invalidParameter.msgParam.invalid", "msgParam必须是JSON格式")
        if len(raw.encode()) > MSG_PARAM_BYTES:
            return _error(400, "invalidParameter.msgParam.tooLong", "msgParam超过长度限制")
        drawn = self._draw(key, param)
        if isinstance(drawn, web.Response):
            return drawn
        invalid = [u for u in users if u not in self.users]
        controlled: list[str] = []
        for userid in dict.fromkeys(u for u in users if u in self.users):
            if self._flow_controlled(userid):
                controlled.append(userid)
                self.flow_controlled.append((userid, key))
                continue
            self._arrive(userid, replace(drawn, id=f"m{next(self._ids)}"))
        await self._touched()
        answer = {
            "processQueryKey": base64.b64encode(secrets.token_bytes(24)).decode(),
            "invalidStaffIdList": invalid,
            "flowControlledStaffIdList": controlled,
        }
        return self._answer(BATCH_SEND, answer)

    def _draw(self, key: str, param: dict[str, Any]) -> Message | web.Response:
        """The message a msgKey and its msgParam make, or the refusal of missing fields."""
        need = {
            "sampleText": ("content",),
            "sampleMarkdown": ("title", "text"),
            "sampleFile": ("mediaId", "fileName", "fileType"),
            "sampleLink": ("title", "text", "messageUrl", "picUrl"),
            "sampleActionCard": ("title", "text", "singleTitle", "singleURL"),
        }[key]
        if any(not isinstance(param.get(name), str) or not param[name] for name in need):
            return _error(400, "invalidParameter.msgParam.invalid", f"msgParam needs {need}")
        if key == "sampleText":
            return Message("", "text", param["content"])
        if key == "sampleMarkdown":
            return Message("", "markdown", plain(param["text"]), title=param["title"])
        if key == "sampleFile":
            stored = self.media.get(param["mediaId"])
            if stored is None:  # picked: DingTalk documents no code for an unknown mediaId
                return _error(400, "invalidParameter.msgParam.invalid", "mediaId不存在")
            return Message("", "file", "", media=stored[0], name=param["fileName"])
        if key == "sampleLink":
            text = f"{param['title']}\n{param['text']}"
            return Message("", "link", text, title=param["title"])
        return Message(
            "",
            "action_card",
            plain(param["text"]),
            ((param["singleTitle"], {"url": param["singleURL"]}),),
            title=param["title"],
        )

    async def _deliver_card(self, request: web.Request) -> web.Response:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "param.empty", "入参为空")
        self.calls.append((CARD_DELIVER, body))
        template_id = body.get("cardTemplateId")
        track = body.get("outTrackId")
        if not template_id:
            return _error(400, "param.cardTemplateIdEmpty", "卡片模版 Id 为空")
        if not track:
            return _error(400, "param.outTrackIdEmpty", "业务标识 outTrackId 为空")
        if template_id not in self.templates:
            # the code of the older interactiveCards API: createAndDeliver's is not given
            return _error(400, "invalidParameter.cardTemplate.notFound", "不存在的卡片模板")
        if track in self.cards:  # picked: DingTalk documents no code for a reused id
            return _error(400, "param.outTrackIdDuplicated", "outTrackId 已存在")
        params = (body.get("cardData") or {}).get("cardParamMap") or {}
        if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
            return _error(400, "param.invalid", "cardParamMap 的值须为字符串")
        space = str(body.get("openSpaceId") or "")
        if not space.startswith(SPACE_PREFIX):
            return _error(400, "param.openSpaceIdInvalid", "openSpaceId 不符合规范")
        spaces = [s for s in space[len(SPACE_PREFIX) :].split(";") if s]
        if not spaces or not all(s.startswith("IM_ROBOT.") for s in spaces):
            return _error(400, "param.openSpaceIdInvalid", "openSpaceId 不符合规范")
        deliver = body.get("imRobotOpenDeliverModel")
        if not isinstance(deliver, dict) or deliver.get("spaceType") != "IM_ROBOT":
            return _error(400, "param.openSpaceModelInvalid", "缺少 imRobotOpenDeliverModel")
        callback = str(body.get("callbackType") or "STREAM")
        results = []
        for space_id in (s.removeprefix("IM_ROBOT.") for s in spaces):
            problem = None
            if deliver.get("robotCode") not in (None, self.robot_code):
                problem = "robotCode is invalid"
            elif space_id not in self.users:
                problem = "user not found"  # picked wording
            results.append(
                {
                    "spaceType": "IM_ROBOT",
                    "spaceId": space_id,
                    "success": problem is None,
                    "errorMsg": problem or "",
                    "carrierId": f"carrier{next(self._ids)}",
                }
            )
            if problem is None:
                card = self.cards.get(track) or Card(
                    track, template_id, [], dict(params), callback, f"c{next(self._ids)}", True
                )
                card.userids.append(space_id)
                card.delivered = not self.faults.losing
                self.cards[track] = card
                self._arrive(space_id, self._render(card))
        await self._touched()
        answer = {"success": True, "result": {"outTrackId": track, "deliverResults": results}}
        return self._answer(CARD_DELIVER, answer)

    async def _update_card(self, request: web.Request) -> web.Response:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "param.empty", "入参为空")
        self.calls.append((CARD_UPDATE, body))
        card = self.cards.get(str(body.get("outTrackId") or ""))
        if card is None:  # picked: DingTalk documents no code for an unknown outTrackId
            return _error(400, "param.cardInstanceNotExist", "卡片实例不存在")
        params = (body.get("cardData") or {}).get("cardParamMap")
        if params is not None:
            if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
                return _error(400, "param.invalid", "cardParamMap 的值须为字符串")
            by_key = bool((body.get("cardUpdateOptions") or {}).get("updateCardDataByKey"))
            card.params = {**card.params, **params} if by_key else dict(params)
        for userid in card.userids:
            chat = self.chats.get(userid, [])
            index = next((i for i, m in enumerate(chat) if m.id == card.message_id), None)
            if index is not None:
                chat[index] = self._render(card)
                self._tell("updated", userid, chat[index])
        await self._touched()
        return self._answer(CARD_UPDATE, {"success": True, "result": True})

    def _render(self, card: Card) -> Message:
        template = self.templates[card.template_id]
        text = re.sub(r"\$\{(\w+)\}", lambda m: card.params.get(m[1], ""), template.text)
        buttons = tuple(
            (str(b["text"]), dict(b["params"])) for b in _button_objects(self.templates, card)
        )
        return Message(
            card.message_id, "card", plain(text), buttons, out_track_id=card.out_track_id
        )

    async def _upload(self, request: web.Request) -> web.Response:
        item = self.faults.fail.popleft() if self.faults.fail else 0
        if isinstance(item, int) and item:
            return web.Response(status=item)
        if isinstance(item, str) and item:
            return web.json_response({"errcode": -1, "errmsg": "系统繁忙"})
        expires = self.tokens.get(request.query.get("access_token", ""))
        if expires is None or expires <= self.now():
            return web.json_response({"errcode": 40014, "errmsg": "不合法的access_token"})
        kind = request.query.get("type", "")
        if kind not in ("image", "voice", "video", "file"):
            return web.json_response({"errcode": 40005, "errmsg": "不合法的文件类型"})
        reader = await request.multipart()
        part = await reader.next()
        while part is not None and (
            not isinstance(part, aiohttp.BodyPartReader) or part.name != "media"
        ):
            part = await reader.next()
        if part is None:
            return web.json_response({"errcode": 41000, "errmsg": "缺少media参数"})  # picked
        data = bytes(await part.read())
        if len(data) > FILE_BYTES:
            return web.json_response({"errcode": 40006, "errmsg": "不合法的文件大小"})
        media_id = f"@lA{secrets.token_urlsafe(18)}"
        self.media[media_id] = (data, part.filename or "")
        self.calls.append((UPLOAD, {"type": kind, "name": part.filename, "size": len(data)}))
        answer = {
            "errcode": 0,
            "errmsg": "ok",
            "type": kind,
            "media_id": media_id,
            "created_at": int(self.now().timestamp() * 1000),
        }
        return self._answer(UPLOAD, answer)

    async def _session_send(self, request: web.Request) -> web.Response:
        known = self.sessions.get(request.query.get("session", ""))
        if known is None or known[1] < time.monotonic():
            # picked: the code DingTalk gives an expired sessionWebhook is not documented
            return web.json_response({"errcode": 300001, "errmsg": "session is invalid"})
        body = await request.json()
        self.calls.append((SESSION_SEND, body))
        kind = body.get("msgtype")
        if kind == "text":
            message = Message(f"m{next(self._ids)}", "text", str(body["text"]["content"]))
        elif kind == "markdown":
            markdown = body["markdown"]
            text = plain(str(markdown["text"]))
            message = Message(f"m{next(self._ids)}", "markdown", text, title=markdown["title"])
        else:
            return web.json_response({"errcode": 40035, "errmsg": "不合法的参数"})
        self._arrive(known[0], message)
        await self._touched()
        return self._answer(SESSION_SEND, {"errcode": 0, "errmsg": "ok"})


def _frame(
    kind: str, topic: str, message_id: str, data: dict[str, Any], connection: str = ""
) -> dict[str, Any]:
    headers = {
        "contentType": "application/json",
        "messageId": message_id,
        "time": str(int(time.time() * 1000)),
        "topic": topic,
    }
    if connection:
        headers["connectionId"] = connection
    return {
        "specVersion": "1.0",
        "type": kind,
        "headers": headers,
        "data": json.dumps(data, ensure_ascii=False),
    }


def _button_objects(templates: dict[str, Template], card: Card) -> list[dict[str, Any]]:
    """A card's buttons as {"text", "params", "id"?}: the template's, then its variable's."""
    template = templates[card.template_id]
    buttons: list[dict[str, Any]] = [{"text": t, "params": p} for t, p in template.buttons]
    if template.buttons_var:
        try:
            listed = json.loads(card.params.get(template.buttons_var) or "[]")
        except ValueError:
            listed = []  # DingTalk draws what it cannot read as nothing
        if isinstance(listed, list):
            buttons += [
                b
                for b in listed
                if isinstance(b, dict) and isinstance(b.get("params"), dict) and "text" in b
            ]
    return buttons


def _conversation_id(robot: str, userid: str) -> str:
    digest = hashlib.sha256(f"{robot}/{userid}".encode()).digest()
    return "cid" + base64.b64encode(digest[:24]).decode()


def _opaque_id(kind: str, value: str) -> str:
    digest = hashlib.sha256(f"{kind}/{value}".encode()).digest()
    return "$:LWCP_v1:$" + base64.b64encode(digest[:24]).decode()


_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!>|~])")


def plain(markdown: str) -> str:
    """DingTalk markdown as a person reads it: the markup gone, the words left."""
    text = _ESCAPED.sub(lambda m: f"\x00{ord(m[1])}\x00", markdown)
    text = re.sub(r"<br\s*/?>", "\n", text, flags=re.IGNORECASE)
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    lines = []
    for line in text.splitlines():
        if re.fullmatch(r"\s*([-*_])(\s*\1){2,}\s*", line):
            continue  # a rule
        line = re.sub(r"^\s{0,3}#{1,6}\s*", "", line)
        line = re.sub(r"^\s*>\s?", "", line)
        line = re.sub(r"^(\s*)[-*+]\s+", r"\1• ", line)
        lines.append(line.rstrip())
    text = "\n".join(lines)
    text = re.sub(r"\*\*|__|~~|`", "", text)
    text = re.sub(r"(?<![\w*])[*_](?=\S)(.+?)(?<=\S)[*_](?![\w*])", r"\1", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    text = re.sub(r"\x00(\d+)\x00", lambda m: chr(int(m[1])), text)
    return text.strip()


def sdk_patches(base_url: str) -> list[tuple[Any, str, str]]:
    """(object, attribute, value) for each place `dingtalk_stream` keeps its endpoint: it
    reads DINGTALK_OPENAPI_ENDPOINT once, at import, into several modules and a class."""
    import dingtalk_stream.card_replier as card_replier
    import dingtalk_stream.chatbot as chatbot
    import dingtalk_stream.stream as stream
    import dingtalk_stream.utils as utils

    return [
        (utils, "DINGTALK_OPENAPI_ENDPOINT", base_url),
        (stream, "DINGTALK_OPENAPI_ENDPOINT", base_url),
        (chatbot, "DINGTALK_OPENAPI_ENDPOINT", base_url),
        (card_replier, "DINGTALK_OPENAPI_ENDPOINT", base_url),
        (stream.DingTalkStreamClient, "OPEN_CONNECTION_API", base_url + OPEN),
    ]


@contextlib.contextmanager
def pointed_sdk(base_url: str) -> Iterator[None]:
    """`dingtalk_stream` talking to `base_url` inside the block (its media upload excepted:
    that URL is written into the SDK)."""
    patches = sdk_patches(base_url)
    saved = [(target, name, getattr(target, name)) for target, name, _ in patches]
    for target, name, value in patches:
        setattr(target, name, value)
    try:
        yield
    finally:
        for target, name, value in saved:
            setattr(target, name, value)

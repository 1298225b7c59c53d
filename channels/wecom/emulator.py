"""A WeCom (企业微信) emulator on aiohttp: one corp, one self-built app, simulated members.

The bot talks to it as to WeCom: `WECOM_API_BASE_URL` points here (gettoken,
message/send, message/update_template_card, media/upload), and members' messages
and card clicks reach the bot's callback URL as WeCom sends them: XML encrypted
and signed with the app's token and EncodingAESKey (channels.wecom.crypto, which
its own tests check against WeCom's documented examples).

What it enforces, as WeCom does: the access token (expired: 42001; revoked or
unknown: 40014), the agent id, known members (an unknown one is returned in
`invaliduser`, 81013 when no recipient is left), text of at most 2,048 bytes
(WeCom truncates longer text: recorded in `truncated`, for tests to assert
nothing was), cards of at most 6 buttons with keys of at most 1,024 bytes and a
task id used once, a response code used once and within 72 hours, and the
per-member limit of 30 messages a minute (more are dropped silently by WeCom:
recorded in `dropped`). Error codes are WeCom's where its documents give them;
40058 ("invalid parameter") stands for the card checks they do not spell out.

Faults: `expire_tokens`, `revoke_tokens`, `fail_next` (an errcode or an HTTP
status for the next calls), `faults.lose_answers` (a send or an update takes
effect but its answer is lost: a 502), `faults.late_answers` (the bot's answers
to callbacks count as late, so WeCom calls again: up to 3 retries),
`faults.duplicate` (every callback delivered twice) and `faults.in_pieces`
(callback bodies sent in two writes). Time for tokens and response codes comes
from `clock`; callbacks are stamped with the wall clock, as WeCom's servers do.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from channels.wecom.crypto import WeComCrypto

TEXT_BYTES = 2048
MAX_BUTTONS = 6
KEY_BYTES = 1024
CODE_LIFETIME = dt.timedelta(hours=72)
TOKEN_LIFETIME = 7200
PER_MEMBER_MINUTE = 30
ACK_DEADLINE = 5.0  # seconds WeCom waits for a callback's answer
RETRIES = 3


@dataclass(frozen=True)
class Member:
    userid: str
    name: str


@dataclass(frozen=True)
class Message:
    """What a member sees: a text, a file, or a card (its buttons greyed once used)."""

    msgid: str
    kind: str  # text, template_card, file, image
    text: str
    buttons: tuple[tuple[str, str], ...] = ()  # (label, key)
    task_id: str | None = None
    greyed: str | None = None  # what the buttons read once they no longer act
    media: bytes | None = None
    name: str | None = None  # a file's, as uploaded

    @property
    def labels(self) -> list[str]:
        return [label for label, _ in self.buttons]


@dataclass
class Code:
    task_id: str
    userid: str
    issued: dt.datetime
    used: bool = False


@dataclass
class Faults:
    # Errcodes (or HTTP statuses >= 500) for the next calls; 0 lets that call through.
    fail: deque[int] = field(default_factory=deque)
    # Calls (by path: "message/send", "message/update_template_card") that take effect,
    # then answer 502: the answer lost on the way back.
    lose_answers: dict[str, int] = field(default_factory=dict)
    late_answers: int = 0  # callbacks whose answers count as too late
    duplicate: bool = False
    in_pieces: bool = False  # callbacks' bodies sent in two writes, as the network may


class WeComEmulator:
    def __init__(
        self,
        *,
        corp_id: str = "ww0123456789abcdef",
        agent_id: int = 1000002,
        secret: str = "emulated-secret",  # noqa: S107 (the emulator's own)
        token: str = "emulatedtoken",  # noqa: S107
        aes_key: str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        clock: Any = None,
        retry_interval: float = 0.05,
        per_member_minute: int | None = PER_MEMBER_MINUTE,
    ) -> None:
        self.corp_id, self.agent_id, self.secret = corp_id, agent_id, secret
        self.token, self.aes_key = token, aes_key
        self.crypto = WeComCrypto(token, aes_key, corp_id)
        self.clock = clock
        self.retry_interval = retry_interval  # WeCom waits 5 s; tests need not
        # None: no per-member limit, for journeys that click faster than people.
        self.per_member_minute = per_member_minute
        self.callback_url: str | None = None
        self.members: dict[str, Member] = {}
        self.chats: dict[str, list[Message]] = {}
        self.tokens: dict[str, dt.datetime] = {}
        self.codes: dict[str, Code] = {}
        self.tasks: set[str] = set()
        self.media: dict[str, bytes] = {}
        self.media_names: dict[str, str] = {}
        self.menu: list[dict[str, Any]] = []  # the app's menu, as menu/create set it
        self.faults = Faults()
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.token_fetches = 0
        self.truncated: list[str] = []
        self.dropped: list[tuple[str, str]] = []
        self.callbacks: list[int] = []  # HTTP statuses the bot answered callbacks with
        # What each member typed, and after how many of the bot's messages (a chat to draw).
        self.typed: dict[str, list[tuple[int, str]]] = {}
        # Called with ("sent" or "updated", member, message) after every change to a chat.
        self.watchers: list[Callable[[str, str, Message], None]] = []
        self._sent: dict[str, deque[float]] = {}
        self._changed = asyncio.Condition()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self.port = 0

    def now(self) -> dt.datetime:
        return self.clock.now() if self.clock is not None else dt.datetime.now(dt.UTC)

    # --- the server ----------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application()
        app.router.add_get("/cgi-bin/gettoken", self._gettoken)
        app.router.add_post("/cgi-bin/message/send", self._send)
        app.router.add_post("/cgi-bin/message/update_template_card", self._update)
        app.router.add_post("/cgi-bin/media/upload", self._upload)
        app.router.add_post("/cgi-bin/menu/create", self._create_menu)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._http = aiohttp.ClientSession()

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, callback_port: int) -> dict[str, str]:
        """The bot's settings for this corp and app."""
        self.callback_url = f"http://127.0.0.1:{callback_port}/wecom"
        return {
            "WECOM_CORP_ID": self.corp_id,
            "WECOM_AGENT_ID": str(self.agent_id),
            "WECOM_SECRET": self.secret,
            "WECOM_TOKEN": self.token,
            "WECOM_AES_KEY": self.aes_key,
            "WECOM_API_BASE_URL": self.base_url,
        }

    # --- faults ----------------------------------------------------------------------------

    def expire_tokens(self) -> None:
        self.tokens = {token: self.now() - dt.timedelta(seconds=1) for token in self.tokens}

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    def fail_next(self, *codes: int) -> None:
        self.faults.fail.extend(codes)

    # --- members --------------------------------------------------------------------------

    def add_member(self, userid: str, name: str = "成员") -> Member:
        member = Member(userid, name)
        self.members[userid] = member
        self.chats.setdefault(userid, [])
        return member

    def chat(self, userid: str) -> list[Message]:
        return list(self.chats.get(userid, []))

    async def wait_until(self, done: Callable[[], bool], timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Until `done()` holds, checked after every change to any chat."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(done)

    async def _touched(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def last(self, userid: str) -> Message:
        return self.chats[userid][-1]

    async def send_text(self, userid: str, text: str) -> int:
        self.typed.setdefault(userid, []).append((len(self.chats.get(userid, [])), text))
        msgid = str(next(self._ids) + 7_000_000_000_000_000_000)
        return await self._callback(userid, {"MsgType": "text", "Content": text, "MsgId": msgid})

    async def send_media(self, userid: str, kind: str) -> int:
        """A photo ("image"), voice note ("voice"), video or file the member sends."""
        msgid = str(next(self._ids) + 7_000_000_000_000_000_000)
        fields = {"MsgType": kind, "MediaId": f"upload{msgid}", "MsgId": msgid}
        return await self._callback(userid, fields)

    async def click(self, userid: str, label: str) -> int:
        """Press the button `label` on the newest card that still has it working."""
        for message in reversed(self.chats[userid]):
            if message.kind == "template_card" and not message.greyed and label in message.labels:
                key = dict(message.buttons)[label]
                return await self.click_key(userid, message.task_id or "", key)
        raise LookupError(f"no working button {label!r} for {userid}")

    async def click_menu(self, userid: str, group: str, item: str) -> int:
        """Open the app menu's ``group`` and tap ``item``: WeCom sends its key as a click."""
        for button in self.menu:
            if button["name"] == group:
                for sub in button.get("sub_button", []):
                    if sub["name"] == item:
                        fields = {"MsgType": "event", "Event": "click", "EventKey": sub["key"]}
                        return await self._callback(userid, fields)
        raise LookupError(f"no menu item {group!r} › {item!r}")

    async def click_key(self, userid: str, task_id: str, key: str) -> int:
        code = secrets.token_hex(16)
        self.codes[code] = Code(task_id, userid, self.now())
        fields = {
            "MsgType": "event",
            "Event": "template_card_event",
            "EventKey": key,
            "TaskId": task_id,
            "CardType": "button_interaction",
            "ResponseCode": code,
        }
        return await self._callback(userid, fields)

    async def _callback(self, userid: str, fields: dict[str, str]) -> int:
        """Deliver as WeCom does: encrypted, signed; again when the answer is late or not
        200 (three retries), twice when `duplicate` is on. Returns the last status."""
        assert self.callback_url is not None and self._http is not None
        when = str(int(time.time()))  # WeCom's servers' time, not the emulated clock's
        inner = "".join(
            f"<{name}><![CDATA[{_cdata(value)}]]></{name}>"
            for name, value in {
                "ToUserName": self.corp_id,
                "FromUserName": userid,
                "CreateTime": when,
                "AgentID": str(self.agent_id),
                **fields,
            }.items()
        )
        encrypted = self.crypto.encrypt(f"<xml>{inner}</xml>")
        nonce = str(secrets.randbelow(10**9))
        query = {
            "msg_signature": self.crypto.signature(when, nonce, encrypted),
            "timestamp": when,
            "nonce": nonce,
        }
        body = (
            f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName>"
            f"<AgentID><![CDATA[{self.agent_id}]]></AgentID>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        )
        url = f"{self.callback_url}?{urlencode(query)}"
        status = 0
        for attempt in range(1 + RETRIES):
            try:
                data = _in_pieces(body.encode()) if self.faults.in_pieces else body.encode()
                async with self._http.post(
                    url, data=data, timeout=aiohttp.ClientTimeout(total=ACK_DEADLINE)
                ) as response:
                    status = response.status
                    await response.read()
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            self.callbacks.append(status)
            late = self.faults.late_answers > 0
            if late:
                self.faults.late_answers -= 1
            if status == 200 and not late:
                if self.faults.duplicate:
                    async with self._http.post(url, data=body.encode()) as again:
                        self.callbacks.append(again.status)
                return status
            if attempt < RETRIES:
                await asyncio.sleep(self.retry_interval)
        return status

    # --- the API -------------------------------------------------------------------------

    def _error(self, request: web.Request) -> web.Response | None:
        """The next injected fault, or the token's refusal."""
        code = self.faults.fail.popleft() if self.faults.fail else 0
        if code >= 500:
            return web.Response(status=code)
        if code:
            return web.json_response({"errcode": code, "errmsg": "injected"})
        token = request.query.get("access_token", "")
        expires = self.tokens.get(token)
        if expires is None:
            return web.json_response({"errcode": 40014, "errmsg": "invalid access_token"})
        if expires <= self.now():
            return web.json_response({"errcode": 42001, "errmsg": "access_token expired"})
        return None

    async def _gettoken(self, request: web.Request) -> web.Response:
        if request.query.get("corpid") != self.corp_id:
            return web.json_response({"errcode": 40013, "errmsg": "invalid corpid"})
        if request.query.get("corpsecret") != self.secret:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        self.token_fetches += 1
        token = secrets.token_urlsafe(48)
        self.tokens[token] = self.now() + dt.timedelta(seconds=TOKEN_LIFETIME)
        return web.json_response(
            {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": TOKEN_LIFETIME}
        )

    async def _send(self, request: web.Request) -> web.Response:
        refused = self._error(request)
        if refused is not None:
            return refused
        payload = await request.json()
        self.calls.append(("message/send", payload))
        if payload.get("agentid") != self.agent_id:
            return web.json_response({"errcode": 301002, "errmsg": "invalid agentid"})
        userid = str(payload.get("touser", ""))
        if userid not in self.members:
            return web.json_response(
                {
                    "errcode": 81013,
                    "errmsg": "user & party & tag all invalid",
                    "invaliduser": userid,
                }
            )
        kind = payload.get("msgtype")
        content = payload.get(kind) if isinstance(kind, str) else None
        if not isinstance(content, dict):
            return web.json_response({"errcode": 40008, "errmsg": "invalid message type"})
        msgid = f"msg{next(self._ids)}"
        answer: dict[str, Any] = {"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": msgid}
        if kind == "text":
            text = str(content.get("content", ""))
            if len(text.encode()) > TEXT_BYTES:
                self.truncated.append(text)
                text = text.encode()[:TEXT_BYTES].decode(errors="ignore")
            message = Message(msgid, "text", text)
        elif kind == "template_card":
            problem = self._card_problem(content, new=True)
            if problem:
                return web.json_response({"errcode": 40058, "errmsg": problem})
            message = _card(msgid, content)
            self.tasks.add(message.task_id or "")
            code = secrets.token_hex(16)
            self.codes[code] = Code(message.task_id or "", userid, self.now())
            answer["response_code"] = code
        elif kind in ("file", "image"):
            data = self.media.get(str(content.get("media_id")))
            if data is None:
                return web.json_response({"errcode": 40007, "errmsg": "invalid media_id"})
            name = self.media_names.get(str(content.get("media_id")))
            message = Message(msgid, kind, "", media=data, name=name)
        else:
            return web.json_response({"errcode": 40008, "errmsg": "invalid message type"})
        if self._over_limit(userid):
            self.dropped.append((userid, message.text))  # WeCom answers ok and drops it
        else:
            self.chats[userid].append(message)
            self._tell("sent", userid, message)
        await self._touched()
        return self._answer("message/send", answer)

    def _answer(self, path: str, answer: dict[str, Any]) -> web.Response:
        """What the bot hears back: the answer, or a 502 when it is to be lost on the way."""
        if self.faults.lose_answers.get(path, 0) > 0:
            self.faults.lose_answers[path] -= 1
            return web.Response(status=502)
        return web.json_response(answer)

    def _tell(self, change: str, userid: str, message: Message) -> None:
        for watcher in self.watchers:
            watcher(change, userid, message)

    def _over_limit(self, userid: str) -> bool:
        if self.per_member_minute is None:
            return False
        sent = self._sent.setdefault(userid, deque())
        now = time.monotonic()
        while sent and now - sent[0] > 60:
            sent.popleft()
        if len(sent) >= self.per_member_minute:
            return True
        sent.append(now)
        return False

    def _card_problem(self, card: dict[str, Any], *, new: bool) -> str | None:
        if card.get("card_type") != "button_interaction":
            return "only button_interaction cards are emulated"
        buttons = card.get("button_list") or []
        if not 1 <= len(buttons) <= MAX_BUTTONS:
            return f"button_list holds 1 to {MAX_BUTTONS} buttons"
        keys = [str(b.get("key", "")) for b in buttons]
        if any(not key or len(key.encode()) > KEY_BYTES for key in keys):
            return "a button key is 1 to 1024 bytes"
        if len(set(keys)) != len(keys):
            return "button keys repeat"
        task = str(card.get("task_id", ""))
        if not task or len(task.encode()) > 128:
            return "task_id is required, at most 128 bytes"
        if new and task in self.tasks:
            return "task_id already used"
        if not (card.get("main_title") or {}).get("title") and not card.get("sub_title_text"):
            return "a card needs a title or a sub-title"
        return None

    async def _update(self, request: web.Request) -> web.Response:
        refused = self._error(request)
        if refused is not None:
            return refused
        payload = await request.json()
        self.calls.append(("message/update_template_card", payload))
        code = self.codes.get(str(payload.get("response_code", "")))
        if code is None or code.used or self.now() - code.issued > CODE_LIFETIME:
            return web.json_response({"errcode": 40058, "errmsg": "invalid response_code"})
        if payload.get("agentid") != self.agent_id:
            return web.json_response({"errcode": 301002, "errmsg": "invalid agentid"})
        if code.userid not in (payload.get("userids") or []):
            return web.json_response({"errcode": 40058, "errmsg": "userids miss the card's member"})
        chat = self.chats.get(code.userid, [])
        index = next((i for i, m in enumerate(chat) if m.task_id == code.task_id), None)
        if index is None:
            return web.json_response({"errcode": 40058, "errmsg": "no such card"})
        if "button" in payload:
            changed = replace(chat[index], greyed=str(payload["button"].get("replace_name", "")))
        else:
            card = payload.get("template_card") or {}
            problem = self._card_problem({**card, "task_id": code.task_id}, new=False)
            if problem:
                return web.json_response({"errcode": 40058, "errmsg": problem})
            changed = replace(_card(chat[index].msgid, card), task_id=code.task_id)
        code.used = True
        chat[index] = changed
        self._tell("updated", code.userid, changed)
        await self._touched()
        return self._answer("message/update_template_card", {"errcode": 0, "errmsg": "ok"})

    async def _create_menu(self, request: web.Request) -> web.Response:
        refused = self._error(request)
        if refused is not None:
            return refused
        if request.query.get("agentid") != str(self.agent_id):
            return web.json_response({"errcode": 40056, "errmsg": "invalid agentid"})
        body = await request.json()
        problem = _menu_problem(body.get("button"))
        if problem is not None:
            return web.json_response({"errcode": problem[0], "errmsg": problem[1]})
        self.menu = body["button"]
        return self._answer("menu/create", {"errcode": 0, "errmsg": "ok"})

    async def _upload(self, request: web.Request) -> web.Response:
        refused = self._error(request)
        if refused is not None:
            return refused
        reader = await request.multipart()
        part = await reader.next()
        if part is None or not isinstance(part, aiohttp.BodyPartReader):
            return web.json_response({"errcode": 44001, "errmsg": "empty media data"})
        data = await part.read()
        media_id = f"media{next(self._ids)}"
        self.media[media_id] = bytes(data)
        self.media_names[media_id] = part.filename or ""
        kind = request.query.get("type", "file")
        return web.json_response(
            {
                "errcode": 0,
                "errmsg": "ok",
                "type": kind,
                "media_id": media_id,
                "created_at": str(int(self.now().timestamp())),
            }
        )


def _menu_problem(buttons: Any) -> tuple[int, str] | None:
    """WeCom's refusal of a menu: 1-3 buttons of at most 16 bytes, 1-5 sub-buttons of at
    most 40, keys of at most 128 (errcodes 40016-40026)."""
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        return 40016, "invalid button size"
    for button in buttons:
        if not 0 < len(str(button.get("name", "")).encode()) <= 16:
            return 40018, "invalid button name size"
        subs = button.get("sub_button")
        if subs is None:
            if not 0 < len(str(button.get("key", "")).encode()) <= 128:
                return 40019, "invalid button key size"
            continue
        if not 1 <= len(subs) <= 5:
            return 40023, "invalid sub button size"
        for sub in subs:
            if sub.get("type") != "click":
                return 40024, "invalid sub button type"
            if not 0 < len(str(sub.get("name", "")).encode()) <= 40:
                return 40025, "invalid sub button name size"
            if not 0 < len(str(sub.get("key", "")).encode()) <= 128:
                return 40026, "invalid sub button key size"
    return None


def _card(msgid: str, card: dict[str, Any]) -> Message:
    title = (card.get("main_title") or {}).get("title", "")
    sub = card.get("sub_title_text", "")
    text = "\n".join(part for part in (title, sub) if part)
    buttons = tuple((str(b.get("text", "")), str(b.get("key", ""))) for b in card["button_list"])
    return Message(msgid, "template_card", text, buttons, task_id=str(card.get("task_id", "")))


def _cdata(value: str) -> str:
    """A value inside CDATA, even one holding "]]>" (split across two sections)."""
    return value.replace("]]>", "]]]]><![CDATA[>")


async def _in_pieces(body: bytes) -> AsyncIterator[bytes]:
    """The body in two writes with a pause between: a chunked request."""
    half = len(body) // 2
    yield body[:half]
    await asyncio.sleep(0.1)
    yield body[half:]

"""The playground's web page and the small JSON API behind it.

Why a second aiohttp app instead of routes inside the emulator: the page and the
personas are the playground's business, the emulator stays a Bot API server.
The page is served on PLAYGROUND_PORT and the emulator listens on the next port;
both live in this one process, so the API below calls the emulator's user side
directly (no HTTP between them) and the page needs only its own origin. The
WeCom, Feishu and DingTalk emulators keep each person's chat as that app shows
it; the /api/wecom/, /api/feishu/ and /api/dingtalk/ routes read it and act as
the person (a Feishu click answers with the toast the bot gave it; on DingTalk,
whose cards show no toast, the bot's answer is a short message in the chat).

Like the emulator's own API, this one answers loopback Host headers only (a web
page on a hostile domain cannot reach it through DNS rebinding) and takes POSTs
only as application/json (a cross-site form cannot post here). Files the bot
sent are served as downloads, or inline only when they are images, never as
documents the browser would run in this origin. The page itself never parses
the bot's HTML: it builds DOM nodes from the plain text and Telegram's entities
(playground_web/render.js).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import ipaddress
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from aiohttp import web

from bot.demo import DemoPerson
from bot.local import LocalBot
from bot.playground_clock import record_offset
from bot.playground_guests import record_guest
from bot.skip_ahead import skip_ahead
from channels.dingtalk.emulator import DingTalkEmulator
from channels.dingtalk.emulator import Message as DingTalkMessage
from channels.feishu.emulator import FeishuEmulator
from channels.feishu.emulator import Message as FeishuMessage
from channels.telegram.emulator import BotApiEmulator
from channels.wecom.emulator import WeComEmulator
from storage.clock import OffsetClock

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent / "playground_web"
LONG_POLL_SECONDS = 25.0
MAX_SKIP = dt.timedelta(days=366)
# What a bot may download from Telegram; the page sends files base64-encoded in JSON.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_REQUEST_BYTES = MAX_UPLOAD_BYTES * 4 // 3 + 64 * 1024
# What the page sends, as each platform names it.
WECOM_MEDIA = {"photo": "image", "voice": "voice", "document": "file"}
FEISHU_MEDIA = {"photo": "image", "voice": "audio", "document": "file"}
DINGTALK_MEDIA = {"photo": "picture", "voice": "audio", "document": "file"}
# Photos are shown only when their bytes are one of these images, whatever they claim to be.
IMAGE_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Persona:
    """Someone the person at the browser plays; their chat id is their user id."""

    user_id: int
    name: str
    role: str  # enterprise, specialist, coordinator or guest: a label, the bot decides
    phone: str  # what the share-contact button sends
    language_code: str
    detail: str = ""


@dataclass(frozen=True)
class WeComPersona:
    """A member of the WeCom app the playground emulates."""

    userid: str
    name: str
    role: str


@dataclass(frozen=True)
class FeishuPersona:
    """A user in the availability range of the Feishu app the playground emulates."""

    open_id: str
    name: str
    role: str  # enterprise, specialist or guest: a label, the bot decides


@dataclass(frozen=True)
class DingTalkPersona:
    """A member of the DingTalk organisation whose app's robot the playground emulates."""

    userid: str
    name: str
    role: str  # enterprise, specialist or guest: a label, the bot decides


class _Sent:
    """What people on WeCom or Feishu sent, for drawing their chat: the emulators keep the
    texts they typed (and after how many of the bot's messages); files are kept here."""

    def __init__(self) -> None:
        # Per person: (bot messages before, texts typed before, kind, name).
        self.files: dict[str, list[tuple[int, int, str, str]]] = {}

    def file(self, account: str, shown: int, typed: int, kind: str, name: str) -> None:
        self.files.setdefault(account, []).append((shown, typed, kind, name))

    def chat(
        self, account: str, typed: list[tuple[int, str]], bot: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """The bot's messages with what the person sent between them, in order: texts by
        when typed, files between the texts typed before and after them."""
        sent = [
            (at, order, {"from": "member", "text": text}) for order, (at, text) in enumerate(typed)
        ] + [
            (at, texts - 0.5, {"from": "member", "kind": kind, "name": name})
            for at, texts, kind, name in self.files.get(account, [])
        ]
        sent.sort(key=lambda entry: (entry[0], entry[1]))
        shown: list[dict[str, Any]] = []
        for position, message in enumerate([*bot, None]):
            shown += [entry for at, _, entry in sent if at == position]
            if message is not None:
                shown.append(message)
        return shown


class PlaygroundPage:
    """Serves the page, the personas' chats and the clock control."""

    def __init__(
        self,
        *,
        emulator: BotApiEmulator,
        bot: LocalBot,
        clock: OffsetClock,
        timezone: dt.tzinfo,
        personas: list[Persona],
        demo_people: list[DemoPerson] | None = None,
        wecom: WeComEmulator | None = None,
        wecom_personas: list[WeComPersona] | None = None,
        feishu: FeishuEmulator | None = None,
        feishu_personas: list[FeishuPersona] | None = None,
        dingtalk: DingTalkEmulator | None = None,
        dingtalk_personas: list[DingTalkPersona] | None = None,
    ) -> None:
        self.emulator = emulator
        self.wecom = wecom
        self.wecom_personas = {p.userid: p for p in wecom_personas or []}
        self.feishu = feishu
        self.feishu_personas = {p.open_id: p for p in feishu_personas or []}
        self.dingtalk = dingtalk
        self.dingtalk_personas = {p.userid: p for p in dingtalk_personas or []}
        self.bot = bot
        self.clock = clock
        self.timezone = timezone
        self.personas = {p.user_id: p for p in personas}
        self.demo_people = {p.telegram_id: p for p in demo_people or []}
        self._next_guest = max(self.personas, default=1000) + 1
        self._wecom_sent = _Sent()
        self._feishu_sent = _Sent()
        self._dingtalk_sent = _Sent()
        self._skip_lock = asyncio.Lock()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self, port: int = 0) -> str:
        """Serve on 127.0.0.1:port (0 picks a free one); the page's URL."""
        runner = web.AppRunner(
            self.build_app(), handle_signals=False, access_log=None, shutdown_timeout=1.0
        )
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        self._runner = runner
        self.url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[_guard], client_max_size=MAX_REQUEST_BYTES)
        app.router.add_get("/", self.index)
        app.router.add_static("/static/", WEB_DIR, show_index=False, follow_symlinks=False)
        app.router.add_get("/api/state", self.state)
        app.router.add_post("/api/personas", self.add_persona)
        app.router.add_get("/api/events", self.events)
        app.router.add_get("/api/chats/{user_id}", self.chat)
        app.router.add_post("/api/chats/{user_id}/message", self.message)
        app.router.add_post("/api/chats/{user_id}/contact", self.contact)
        app.router.add_post("/api/chats/{user_id}/attachment", self.attachment)
        app.router.add_post("/api/chats/{user_id}/press", self.press)
        app.router.add_get("/api/chats/{user_id}/commands", self.commands)
        app.router.add_get("/api/chats/{user_id}/files/{message_id}", self.file)
        app.router.add_get("/api/wecom/{userid}", self.wecom_chat)
        app.router.add_post("/api/wecom/{userid}/message", self.wecom_message)
        app.router.add_post("/api/wecom/{userid}/attachment", self.wecom_attachment)
        app.router.add_post("/api/wecom/{userid}/click", self.wecom_click)
        app.router.add_get("/api/feishu/{open_id}", self.feishu_chat)
        app.router.add_post("/api/feishu/{open_id}/message", self.feishu_message)
        app.router.add_post("/api/feishu/{open_id}/attachment", self.feishu_attachment)
        app.router.add_post("/api/feishu/{open_id}/click", self.feishu_click)
        app.router.add_get("/api/feishu/{open_id}/files/{message_id}", self.feishu_file)
        app.router.add_get("/api/dingtalk/{userid}", self.dingtalk_chat)
        app.router.add_post("/api/dingtalk/{userid}/message", self.dingtalk_message)
        app.router.add_post("/api/dingtalk/{userid}/attachment", self.dingtalk_attachment)
        app.router.add_post("/api/dingtalk/{userid}/click", self.dingtalk_click)
        app.router.add_get("/api/dingtalk/{userid}/files/{message_id}", self.dingtalk_file)
        app.router.add_get("/api/clock", self.clock_state)
        app.router.add_post("/api/clock/advance", self.advance)
        return app

    # ------------------------------------------------------------------ page and state

    async def index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(WEB_DIR / "index.html")

    async def state(self, request: web.Request) -> web.Response:
        return _ok(
            {
                "personas": [asdict(p) for p in self.personas.values()],
                "demo_people": [
                    asdict(p)
                    for p in self.demo_people.values()
                    if p.telegram_id not in self.personas
                ],
                "wecom_personas": [asdict(p) for p in self.wecom_personas.values()],
                "feishu_personas": [asdict(p) for p in self.feishu_personas.values()],
                "dingtalk_personas": [asdict(p) for p in self.dingtalk_personas.values()],
                "clock": self._clock_json(),
                "timezone": str(self.timezone),
                "emulator_url": self.emulator.url,
            }
        )

    async def add_persona(self, request: web.Request) -> web.Response:
        """A new person, or one of the demo people, gets a column of their own: on Telegram,
        or with `"platform": "feishu"` a new user of the Feishu app, with `"platform":
        "dingtalk"` a new member of the DingTalk organisation."""
        body = await _json(request)
        if body.get("platform") == "feishu":
            return _ok(asdict(await self._add_feishu_guest(body)))
        if body.get("platform") == "dingtalk":
            return _ok(asdict(await self._add_dingtalk_guest(body)))
        demo_id = body.get("demo_id")
        if demo_id is not None:
            person = self.demo_people.get(_int(demo_id, "demo_id"))
            if person is None:
                raise LookupError("no such demo person")
            persona = Persona(
                person.telegram_id,
                person.name,
                person.role,
                person.phone,
                "zh-hans" if person.locale.startswith("zh") else "en",
                person.detail,
            )
        else:
            name = str(body.get("name") or "").strip()[:64]
            if not name:
                raise ValueError("a name is needed")
            language = "en" if body.get("language_code") == "en" else "zh-hans"
            taken = {user.id for user in self.emulator.users}
            user_id = self._next_guest
            while user_id in taken:
                user_id += 1
            self._next_guest = user_id + 1
            self.emulator.add_user(user_id, name, language_code=language)
            persona = Persona(user_id, name, "guest", f"+86137{user_id:08d}", language)
        self.personas[persona.user_id] = persona
        return _ok(asdict(persona))

    async def _add_feishu_guest(self, body: dict[str, Any]) -> FeishuPersona:
        """A new user in the Feishu app's availability range (Feishu tells the bot no name
        or language: the playground keeps the name for its next start)."""
        name = str(body.get("name") or "").strip()[:64]
        if not name:
            raise ValueError("a name is needed")
        if self.feishu is None:
            raise LookupError("this playground has no Feishu app")
        core = self.bot.core
        if core is None:
            raise LookupError("the bot is not running")
        open_id = "ou_" + secrets.token_hex(16)  # shaped like Feishu's
        self.feishu.add_user(open_id, name)
        persona = FeishuPersona(open_id, name, "guest")
        self.feishu_personas[open_id] = persona
        await record_guest(
            db=core.db, now=self.clock.now(), platform="feishu", account=open_id, name=name
        )
        return persona

    async def _add_dingtalk_guest(self, body: dict[str, Any]) -> DingTalkPersona:
        """A new member of the DingTalk organisation (the bot hears their nick with each
        message, but the playground keeps the name for its next start, as for Feishu)."""
        name = str(body.get("name") or "").strip()[:64]
        if not name:
            raise ValueError("a name is needed")
        if self.dingtalk is None:
            raise LookupError("this playground has no DingTalk app")
        core = self.bot.core
        if core is None:
            raise LookupError("the bot is not running")
        userid = "guest" + secrets.token_hex(8)  # a staff id as an organisation may give one
        self.dingtalk.add_user(userid, name)
        persona = DingTalkPersona(userid, name, "guest")
        self.dingtalk_personas[userid] = persona
        await record_guest(
            db=core.db, now=self.clock.now(), platform="dingtalk", account=userid, name=name
        )
        return persona

    # ------------------------------------------------------------------ one persona's chat

    def _persona(self, request: web.Request) -> Persona:
        persona = self.personas.get(_int(request.match_info["user_id"], "user_id"))
        if persona is None:
            raise LookupError("not a persona of this playground")
        return persona

    async def events(self, request: web.Request) -> web.Response:
        """Every persona's events after `since`: one long poll for the whole page.

        One request rather than one per persona, because a browser opens only about
        six connections to a host and parked polls would starve the page's clicks.
        """
        since = max(0, _int(request.query.get("since") or 0, "since"))
        wait = min(LONG_POLL_SECONDS, max(0.0, float(request.query.get("wait") or 0)))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            last_seq = self.emulator.mark()
            found = [e for e in self.emulator.events(None, since) if e.chat_id in self.personas]
            remaining = deadline - loop.time()
            # Answer as soon as anything happened, even in chats not on the page (a round
            # messaging demo specialists), so the page's position keeps up.
            if found or last_seq > since or remaining <= 0:
                break
            await self.emulator.wait_for_events(None, last_seq, remaining)
        return _ok(
            {
                "last_seq": last_seq,
                "events": [e.to_json() for e in found],
                "keyboards": {str(p): self._reply_keyboard(p) for p in self.personas},
                "clock": self._clock_json(),
            }
        )

    async def chat(self, request: web.Request) -> web.Response:
        """One persona's history after `since`, for a column the page has just opened."""
        persona = self._persona(request)
        since = max(0, _int(request.query.get("since") or 0, "since"))
        return _ok(
            {
                "last_seq": self.emulator.mark(),
                "events": [e.to_json() for e in self.emulator.events(persona.user_id, since)],
                "reply_keyboard": self._reply_keyboard(persona.user_id),
            }
        )

    def _reply_keyboard(self, chat_id: int) -> list[list[dict[str, Any]]] | None:
        """The keyboard the user sees now, with which buttons share the contact.

        The emulator knows the labels shown; the newest message that carried a
        keyboard knows what each button does.
        """
        labels = self.emulator.reply_keyboard(chat_id)
        if labels is None:
            return None
        for sent in reversed(self.emulator.chat(chat_id)):
            rows = (sent.reply_markup or {}).get("keyboard")
            if rows and [[str(b["text"]) for b in row] for row in rows] == labels:
                return [
                    [
                        {"text": str(b["text"]), "request_contact": bool(b.get("request_contact"))}
                        for b in row
                    ]
                    for row in rows
                ]
        return [[{"text": label, "request_contact": False} for label in row] for row in labels]

    async def message(self, request: web.Request) -> web.Response:
        persona = self._persona(request)
        body = await _json(request)
        self.emulator.send_message(persona.user_id, str(body.get("text") or ""))
        return _ok({"seq": self.emulator.mark()})

    async def contact(self, request: web.Request) -> web.Response:
        """The share-contact button: Telegram sends the user's own number."""
        persona = self._persona(request)
        await _json(request)
        self.emulator.send_contact(persona.user_id, phone_number=persona.phone)
        return _ok({"seq": self.emulator.mark()})

    async def attachment(self, request: web.Request) -> web.Response:
        """A photo, voice note or document, delivered as Telegram delivers them: file ids the
        bot can fetch, a photo's size, a document's name and type, a voice note's length."""
        persona = self._persona(request)
        body = await _json(request)
        kind = _media_kind(body)
        data = base64.b64decode(str(body.get("data") or ""), validate=True)
        if not data:
            raise ValueError("the file is empty")
        if len(data) > MAX_UPLOAD_BYTES:
            raise ValueError(f"a file is at most {MAX_UPLOAD_BYTES // 1024 // 1024} MB")
        caption = str(body.get("caption") or "").strip()[:1024] or None
        name = str(body.get("name") or "").strip()[:255] or "file"
        if kind == "photo" and _image_type(data) is None:
            kind = "document"  # not a picture whatever its name says: Telegram's apps send a file
        if kind == "photo":
            self.emulator.send_photo(persona.user_id, data, caption=caption)
        elif kind == "voice":
            # The emulator's voice notes carry its own few bytes; the bot reads only the kind.
            seconds = min(3600, max(1, _int(body.get("duration") or 1, "duration")))
            self.emulator.send_voice(persona.user_id, duration=seconds)
        else:
            mime = str(body.get("mime_type") or "") or None
            self.emulator.send_document(
                persona.user_id, name, data, mime_type=mime, caption=caption
            )
        return _ok({"seq": self.emulator.mark()})

    async def press(self, request: web.Request) -> web.Response:
        persona = self._persona(request)
        body = await _json(request)
        message_id = _int(body.get("message_id"), "message_id")
        data = str(body.get("callback_data") or "")
        if not data:
            raise ValueError("callback_data is needed")
        self.emulator.press_callback(persona.user_id, message_id, data)
        return _ok({"seq": self.emulator.mark()})

    # ------------------------------------------------------------------ a WeCom member's chat

    def _member(self, request: web.Request) -> WeComPersona:
        member = self.wecom_personas.get(request.match_info["userid"])
        if member is None or self.wecom is None:
            raise LookupError("not a WeCom persona of this playground")
        return member

    async def wecom_chat(self, request: web.Request) -> web.Response:
        """The member's chat as WeCom shows it: what they typed, texts, files and cards (a
        card's buttons read as their replacement once the bot has answered a click)."""
        member = self._member(request)
        assert self.wecom is not None
        bot = [
            {
                "from": "bot",
                "kind": message.kind,
                "text": message.text,
                "task_id": message.task_id,
                "buttons": [{"label": label, "key": key} for label, key in message.buttons],
                "greyed": message.greyed,
            }
            for message in self.wecom.chat(member.userid)
        ]
        typed = self.wecom.typed.get(member.userid, [])
        return _ok({"messages": self._wecom_sent.chat(member.userid, typed, bot)})

    async def wecom_message(self, request: web.Request) -> web.Response:
        member = self._member(request)
        text = str((await _json(request)).get("text") or "").strip()
        if not text:
            raise ValueError("a message is needed")
        assert self.wecom is not None
        await self.wecom.send_text(member.userid, text)
        return _ok({})

    async def wecom_attachment(self, request: web.Request) -> web.Response:
        """A photo, voice note or file as WeCom delivers them: a media id, no caption."""
        member = self._member(request)
        body = await _json(request)
        kind = _media_kind(body)
        name = str(body.get("name") or "").strip()[:255]
        assert self.wecom is not None
        self._wecom_sent.file(
            member.userid,
            len(self.wecom.chat(member.userid)),
            len(self.wecom.typed.get(member.userid, [])),
            kind,
            name,
        )
        await self.wecom.send_media(member.userid, WECOM_MEDIA[kind])
        return _ok({})

    async def wecom_click(self, request: web.Request) -> web.Response:
        member = self._member(request)
        body = await _json(request)
        task_id, key = str(body.get("task_id") or ""), str(body.get("key") or "")
        assert self.wecom is not None
        card = next((m for m in self.wecom.chat(member.userid) if m.task_id == task_id), None)
        if card is None or card.greyed or key not in dict(card.buttons).values():
            raise ValueError("no such button on a card that still acts")
        await self.wecom.click_key(member.userid, task_id, key)
        return _ok({})

    # ------------------------------------------------------------------ a Feishu user's chat

    def _feishu_user(self, request: web.Request) -> FeishuPersona:
        user = self.feishu_personas.get(request.match_info["open_id"])
        if user is None or self.feishu is None:
            raise LookupError("not a Feishu persona of this playground")
        return user

    async def feishu_chat(self, request: web.Request) -> web.Response:
        """The user's chat as Feishu shows it: what they typed and sent, texts, files,
        images and cards (a card the bot updated reads as it is now, where it was)."""
        user = self._feishu_user(request)
        assert self.feishu is not None
        path = f"/api/feishu/{quote(user.open_id)}/files"
        bot = [_feishu_json(message, path) for message in self.feishu.chat(user.open_id)]
        typed = self.feishu.typed.get(user.open_id, [])
        return _ok({"messages": self._feishu_sent.chat(user.open_id, typed, bot)})

    async def feishu_message(self, request: web.Request) -> web.Response:
        user = self._feishu_user(request)
        text = str((await _json(request)).get("text") or "").strip()
        if not text:
            raise ValueError("a message is needed")
        assert self.feishu is not None
        await self.feishu.send_text(user.open_id, text)
        return _ok({})

    async def feishu_attachment(self, request: web.Request) -> web.Response:
        """A photo, voice note or file as Feishu delivers them: a key of that kind, no
        caption."""
        user = self._feishu_user(request)
        body = await _json(request)
        kind = _media_kind(body)
        name = str(body.get("name") or "").strip()[:255]
        assert self.feishu is not None
        self._feishu_sent.file(
            user.open_id,
            len(self.feishu.chat(user.open_id)),
            len(self.feishu.typed.get(user.open_id, [])),
            kind,
            name,
        )
        await self.feishu.send_media(user.open_id, FEISHU_MEDIA[kind])
        return _ok({})

    async def feishu_click(self, request: web.Request) -> web.Response:
        """A card's button: the toast the bot answered with, if any came in time."""
        user = self._feishu_user(request)
        body = await _json(request)
        message_id, value = str(body.get("message_id") or ""), body.get("value")
        assert self.feishu is not None
        card = next((m for m in self.feishu.chat(user.open_id) if m.message_id == message_id), None)
        if card is None or not any(value == v for _, v in card.buttons):
            raise ValueError("no such button on that card")
        assert isinstance(value, dict)
        answer = await self.feishu.click(user.open_id, message_id, value)
        toast = (answer or {}).get("toast")
        return _ok({"toast": toast if isinstance(toast, dict) else None})

    async def feishu_file(self, request: web.Request) -> web.StreamResponse:
        user = self._feishu_user(request)
        message_id = request.match_info["message_id"]
        assert self.feishu is not None
        sent = next((m for m in self.feishu.chat(user.open_id) if m.message_id == message_id), None)
        if sent is None or sent.media is None:
            raise LookupError("no file in that message")
        image = sent.kind == "image"
        return _file_response(sent.media, sent.name or f"file-{message_id}", image=image)

    # ------------------------------------------------------------------ a DingTalk member's chat

    def _dingtalk_member(self, request: web.Request) -> DingTalkPersona:
        member = self.dingtalk_personas.get(request.match_info["userid"])
        if member is None or self.dingtalk is None:
            raise LookupError("not a DingTalk persona of this playground")
        return member

    async def _dingtalk_acked(self, sent: Awaitable[str]) -> None:
        """Once the bot has the event (DingTalk has its ack), as the Feishu emulator answers;
        an event not acked yet is sent again by DingTalk, and the page goes on meanwhile."""
        assert self.dingtalk is not None
        message_id = await sent
        with contextlib.suppress(TimeoutError):
            await self.dingtalk.wait_acked(message_id, timeout=10.0)

    async def dingtalk_chat(self, request: web.Request) -> web.Response:
        """The member's chat as DingTalk shows it: what they typed and sent, texts, markdown,
        files and cards (a card the bot updated reads as it is now, where it was)."""
        member = self._dingtalk_member(request)
        assert self.dingtalk is not None
        path = f"/api/dingtalk/{quote(member.userid)}/files"
        bot = [_dingtalk_json(message, path) for message in self.dingtalk.chat(member.userid)]
        typed = self.dingtalk.typed.get(member.userid, [])
        return _ok({"messages": self._dingtalk_sent.chat(member.userid, typed, bot)})

    async def dingtalk_message(self, request: web.Request) -> web.Response:
        member = self._dingtalk_member(request)
        text = str((await _json(request)).get("text") or "").strip()
        if not text:
            raise ValueError("a message is needed")
        assert self.dingtalk is not None
        await self._dingtalk_acked(self.dingtalk.send_text(member.userid, text))
        return _ok({})

    async def dingtalk_attachment(self, request: web.Request) -> web.Response:
        """A photo, voice note or file as DingTalk delivers them: a downloadCode, no
        caption."""
        member = self._dingtalk_member(request)
        body = await _json(request)
        kind = _media_kind(body)
        name = str(body.get("name") or "").strip()[:255]
        assert self.dingtalk is not None
        self._dingtalk_sent.file(
            member.userid,
            len(self.dingtalk.chat(member.userid)),
            len(self.dingtalk.typed.get(member.userid, [])),
            kind,
            name,
        )
        await self._dingtalk_acked(self.dingtalk.send_media(member.userid, DINGTALK_MEDIA[kind]))
        return _ok({})

    async def dingtalk_click(self, request: web.Request) -> web.Response:
        """A card's button. DingTalk's cards show no toast: the bot's answer to the click
        comes as a short message in the chat."""
        member = self._dingtalk_member(request)
        body = await _json(request)
        track, params = str(body.get("out_track_id") or ""), body.get("params")
        assert self.dingtalk is not None
        card = next(
            (m for m in self.dingtalk.chat(member.userid) if m.out_track_id == track and track),
            None,
        )
        if card is None or not any(params == p for _, p in card.buttons):
            raise ValueError("no such button on that card")
        assert isinstance(params, dict)
        await self._dingtalk_acked(self.dingtalk.click(member.userid, track, params))
        return _ok({})

    async def dingtalk_file(self, request: web.Request) -> web.StreamResponse:
        member = self._dingtalk_member(request)
        message_id = request.match_info["message_id"]
        assert self.dingtalk is not None
        sent = next((m for m in self.dingtalk.chat(member.userid) if m.id == message_id), None)
        if sent is None or sent.media is None:
            raise LookupError("no file in that message")
        name = sent.name or f"file-{message_id}"
        # DingTalk sends pictures as files too: an image file's bytes are shown.
        image = name.lower().endswith((".png", ".jpg", ".jpeg", ".gif", ".webp"))
        return _file_response(sent.media, name, image=image)

    async def commands(self, request: web.Request) -> web.Response:
        """The command menu this user sees (setMyCommands by scope and language)."""
        persona = self._persona(request)
        found = self.emulator.visible_commands(persona.user_id)
        return _ok([{"command": c, "description": d} for c, d in found])

    async def file(self, request: web.Request) -> web.StreamResponse:
        persona = self._persona(request)
        message_id = _int(request.match_info["message_id"], "message_id")
        sent = next(
            (m for m in self.emulator.chat(persona.user_id) if m.message_id == message_id), None
        )
        if sent is None or sent.file is None or sent.file.url is not None:
            raise LookupError("no file in that message")
        stored = sent.file
        name = stored.filename or f"file-{message_id}"
        return _file_response(stored.data, name, image=sent.kind == "photo")

    # ------------------------------------------------------------------ the clock

    def _clock_json(self) -> dict[str, Any]:
        local = self.clock.now().astimezone(self.timezone)
        return {
            "now": local.isoformat(timespec="seconds"),
            "display": local.strftime("%Y-%m-%d %H:%M"),
            "weekday": local.weekday(),
            "offset_seconds": int(self.clock.offset.total_seconds()),
        }

    async def clock_state(self, request: web.Request) -> web.Response:
        return _ok(self._clock_json())

    async def advance(self, request: web.Request) -> web.Response:
        """Move the clock forward and run the scheduled jobs that became due."""
        body = await _json(request)
        delta = dt.timedelta(seconds=_int(body.get("seconds"), "seconds"))
        if not dt.timedelta(minutes=1) <= delta <= MAX_SKIP:
            raise ValueError("seconds must be between 60 and a year")
        core = self.bot.core
        if core is None:
            raise LookupError("the bot is not running")
        async with self._skip_lock:
            ran = await skip_ahead(core.scheduler, self.clock, delta)
            await record_offset(db=core.db, clock=self.clock)
        return _ok({"clock": self._clock_json(), "ran": ran})


# ---------------------------------------------------------------------- plumbing


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Loopback Host only, JSON-only POSTs, errors as JSON, security headers on everything."""
    if not _is_loopback(urlsplit(f"//{request.host}").hostname):
        response: web.StreamResponse = _error(403, "non-loopback Host header")
    elif request.method == "POST" and request.content_type != "application/json":
        response = _error(415, "send application/json")
    else:
        try:
            response = await handler(request)
        except web.HTTPException:
            raise
        except LookupError as exc:
            response = _error(404, str(exc))
        except (ValueError, TypeError) as exc:
            response = _error(400, str(exc))
    response.headers.update(SECURITY_HEADERS)
    return response


def _file_response(data: bytes, name: str, *, image: bool) -> web.Response:
    """A file the bot sent: shown when it is a picture whose bytes are an image, else a
    download (never a document the browser would run in this origin)."""
    shown = _image_type(data) if image else None
    if shown is not None:
        return web.Response(body=data, content_type=shown)
    return web.Response(
        body=data,
        content_type="application/octet-stream",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


def _feishu_json(message: FeishuMessage, files: str) -> dict[str, Any]:
    """A message the bot sent on Feishu, as the page draws it: a card's texts and rows of
    buttons in the card's order (a column set is a row), or a text, file or image."""
    shown: dict[str, Any] = {
        "from": "bot",
        "kind": message.kind,
        "message_id": message.message_id,
        "text": message.text,
    }
    if message.kind == "interactive" and message.card is not None:
        shown["elements"] = _card_elements(message.card)
    elif message.kind in ("file", "image"):
        shown["name"] = message.name or ""
        shown["size"] = len(message.media or b"")
        shown["url"] = f"{files}/{quote(message.message_id)}"
    return shown


def _dingtalk_json(message: DingTalkMessage, files: str) -> dict[str, Any]:
    """A message the bot sent on DingTalk, as the page draws it: a card's text and its
    buttons (label and the params a click sends), a markdown's title and text, a file."""
    shown: dict[str, Any] = {
        "from": "bot",
        "kind": message.kind,
        "message_id": message.id,
        "text": message.text,
    }
    if message.kind == "card":
        shown["out_track_id"] = message.out_track_id
        shown["buttons"] = [{"label": label, "params": p} for label, p in message.buttons]
    elif message.kind in ("markdown", "link", "action_card"):
        shown["title"] = message.title or ""
    elif message.kind == "file":
        shown["name"] = message.name or ""
        shown["size"] = len(message.media or b"")
        shown["url"] = f"{files}/{quote(message.id)}"
    return shown


def _card_elements(card: dict[str, Any]) -> list[dict[str, Any]]:
    """A card JSON 2.0's title, texts and buttons as the page draws them, top to bottom:
    {"text": ...} and {"buttons": [{"label", "value"}, ...]}, one row per column set (or
    per button standing alone)."""
    title = ((card.get("header") or {}).get("title") or {}).get("content")
    elements: list[dict[str, Any]] = [{"text": title, "title": True}] if title else []

    def button(node: dict[str, Any]) -> dict[str, Any]:
        value: Any = next(
            (
                b["value"]
                for b in node.get("behaviors") or []
                if isinstance(b, dict) and b.get("type") == "callback"
            ),
            {},
        )
        return {"label": str((node.get("text") or {}).get("content", "")), "value": value}

    def walk(nodes: list[Any], row: list[dict[str, Any]] | None) -> None:
        for node in nodes:
            if not isinstance(node, dict):
                continue
            tag = node.get("tag")
            if tag == "button":
                if row is None:
                    elements.append({"buttons": [button(node)]})
                else:
                    row.append(button(node))
            elif tag == "column_set":
                found: list[dict[str, Any]] = []
                for column in node.get("columns") or []:
                    if isinstance(column, dict):
                        walk(column.get("elements") or [], found)
                if found:
                    elements.append({"buttons": found})
            elif tag in ("markdown", "plain_text", "lark_md"):
                if isinstance(node.get("content"), str) and node["content"].strip():
                    elements.append({"text": node["content"]})
            elif isinstance(node.get("text"), dict):
                walk([node["text"]], row)
            else:
                walk(node.get("elements") or [], row)

    walk((card.get("body") or {}).get("elements") or [], None)
    return elements


def _image_type(data: bytes) -> str | None:
    for signature, mime in IMAGE_SIGNATURES:
        if data.startswith(signature):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _media_kind(body: dict[str, Any]) -> str:
    kind = str(body.get("kind") or "")
    if kind not in WECOM_MEDIA:
        raise ValueError("kind must be photo, voice or document")
    return kind


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(status: int, description: str) -> web.Response:
    return web.json_response({"ok": False, "description": description}, status=status)


async def _json(request: web.Request) -> dict[str, Any]:
    body = await request.json() if request.body_exists else {}
    if not isinstance(body, dict):
        raise ValueError("a JSON object is expected")
    return body


def _int(value: object, name: str) -> int:
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{name} must be an integer")
    try:
        return int(str(value))
    except ValueError:
        raise ValueError(f"{name} must be an integer") from None

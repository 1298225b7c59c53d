"""WeCom (企业微信) through a self-built app: encrypted callbacks in, the app's API out.

Receiving: WeCom checks the callback URL with a GET (the bot answers with the
decrypted echostr) and posts each message or click as signed, encrypted XML.
A callback is checked, decrypted, kept by the inbox and only then answered
(an empty 200, within WeCom's 5 s); if it cannot be kept the answer is a 503
and WeCom tries again. A signature that does not match gets 403; a body that
is not a callback, 400.

Sending: the access token is kept in the database, shared by every process (and
in memory, so an API call reads no row), fetched again before it expires or
when WeCom refuses it. Text goes as text
(WeCom counts 2,048 bytes; longer texts are split at line ends). A row may take
several WeCom messages (a long text, a text and its card, a caption and a file):
a retry resumes after the last one WeCom confirmed, and each message counts
against the member's 30 a minute (WeCom drops the rest without saying so), so a
row over that limit is held back and resumed. A view with buttons becomes a
button-interaction template card whose task id is the outbox ref; a click's
response code lets the bot change that card once (the core's edits "on
click"): a view that fits a card replaces it, anything else greys its buttons
out and follows as new messages. WeCom's answers map onto the pipeline's
outcomes: a refused token is fetched again, "too often" and system-busy retry,
a member WeCom does not know is unreachable, anything else is a failure logged
with WeCom's words.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from channels.base import Accept, Delivered, Failed, Outcome, RetryLater, Route, Unreachable
from channels.parts import read_body, split
from channels.tokens import SharedToken
from channels.wecom.crypto import CryptoError, WeComCrypto
from channels.wecom.translate import PLATFORM, NotACallback, button_keys, parse, translate
from handlers.core.capabilities import Capabilities
from handlers.core.views import plain
from handlers.menus import Menus
from storage.db import Database
from storage.outbox import Item

log = logging.getLogger(__name__)

CAPABILITIES = Capabilities(
    edits="click",  # update_template_card, once per click's response code
    max_buttons=6,  # a card's button_list
    max_row=6,
    max_payload=1024,  # a button's key
    max_text=2048,
    text_unit="bytes",
    markup="plain",
    first_contact=True,  # anyone in the app's visible range
    share_contact=False,
    menus=False,  # one menu for the whole app, not per person
    # WeCom drops, silently, more than 30 messages a minute or 1,000 an hour to one member.
    per_address_rate=0.25,
    per_address_burst=10,
    overall_rate=20.0,
)
TEXT_BYTES = 2048
PER_MEMBER_MINUTE = 28  # WeCom drops what is over 30 a minute to one member: some margin
TITLE_CHARS = 36  # a card's main title
SUBTITLE_CHARS = 160  # a card's sub_title_text
DONE = "✓"  # what a card's buttons read once they no longer act
TOKEN_REFUSED = {40001, 40014, 42001}  # invalid credential, invalid or expired token
RETRY = {-1, 45009, 45033}  # system busy, too often, too many at once
UNKNOWN_MEMBER = {60111, 81013}
MAX_BODY = 64 * 1024
# Seconds a callback's signed timestamp may be from now: WeCom's retries come within a
# minute; an hour tolerates a skewed clock and is far inside the inbox's 48 h memory.
REPLAY_WINDOW = 3600
MENU_GROUPS, MENU_ITEMS = 3, 5  # WeCom's app menu: 1-3 groups of 1-5 items
MENU_TITLE_BYTES, MENU_ITEM_BYTES = 16, 40
ANNOUNCE_SECONDS = 10.0


@dataclass
class _Run:
    """One try at delivering a row that may take several WeCom messages."""

    item: Item
    done: int  # messages an earlier try of this row sent
    step: int = 0


class _Later(Exception):
    def __init__(self, after: float) -> None:
        super().__init__(after)
        self.after = after


class WeComError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


@dataclass(frozen=True)
class WeComApp:
    corp_id: str
    agent_id: int
    secret: str
    token: str
    aes_key: str
    api_base: str = "https://qyapi.weixin.qq.com"
    callback_path: str = "/wecom"


class WeComChannel:
    platform = PLATFORM

    def __init__(
        self,
        app: WeComApp,
        db: Database,
        *,
        capabilities: Capabilities = CAPABILITIES,
        body_timeout: float = 4.0,
        per_member_minute: int | None = PER_MEMBER_MINUTE,
    ) -> None:
        self.app = app
        self.db = db
        self.capabilities = capabilities
        # None: no window of its own, for an emulator that enforces no limit (journeys).
        self.per_member_minute = per_member_minute
        self.crypto = WeComCrypto(app.token, app.aes_key, app.corp_id)
        self.body_timeout = body_timeout  # under WeCom's 5 s, so a slow client is cut first
        self._accept: Accept | None = None
        self._http: aiohttp.ClientSession | None = None
        self._tokens = SharedToken(db, PLATFORM, self._fetch_token)
        # Callbacks come concurrently; kept one at a time in the order they reached this
        # point (the lock is fair), so one member's quick messages are applied as typed.
        self._keeping = asyncio.Lock()
        self._progress: dict[int, int] = {}  # outbox row -> messages of it sent so far
        self._sent: dict[str, deque[float]] = {}  # member -> when their last messages went

    # --- receiving ---------------------------------------------------------------------

    def routes(self) -> list[Route]:
        path = self.app.callback_path
        return [Route("GET", path, self._verify_url), Route("POST", path, self._callback)]

    async def start(self, accept: Accept) -> None:
        self._accept = accept
        log.info("wecom: callbacks at %s for app %s", self.app.callback_path, self.app.agent_id)

    async def stop(self) -> None:
        self._accept = None

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    def healthy(self) -> bool:
        return self._accept is not None

    async def _verify_url(self, request: web.Request) -> web.Response:
        query = request.query
        echo = query.get("echostr", "")
        try:
            self.crypto.check(
                query.get("msg_signature", ""),
                query.get("timestamp", ""),
                query.get("nonce", ""),
                echo,
            )
            return web.Response(text=self.crypto.decrypt(echo))
        except CryptoError as error:
            log.warning("wecom: URL check refused (%s)", error)
            return web.Response(status=403)

    async def _callback(self, request: web.Request) -> web.Response:
        """One callback: checked, decrypted, kept, then answered."""
        if self._accept is None:
            return web.Response(status=503)
        try:
            async with asyncio.timeout(self.body_timeout):
                raw = await read_body(request, MAX_BODY)
        except TimeoutError:
            return web.Response(status=408)
        if raw is None:
            return web.Response(status=413)
        query = request.query
        try:
            outer = parse(raw.decode(errors="replace"))  # expat: no entities fetched or bombs
            encrypted = outer.get("Encrypt", "")
            stamp = query.get("timestamp", "")
            self.crypto.check(
                query.get("msg_signature", ""), stamp, query.get("nonce", ""), encrypted
            )
            if not stamp.isdigit() or abs(time.time() - int(stamp)) > REPLAY_WINDOW:
                # Signed but old: a replay once the inbox has forgotten the event's id.
                raise CryptoError("timestamp outside the replay window")
        except NotACallback:
            return web.Response(status=400)
        except CryptoError as error:
            log.warning("wecom: callback refused (%s)", error)
            return web.Response(status=403)
        try:
            event = translate(parse(self.crypto.decrypt(encrypted)))
        except (CryptoError, NotACallback) as error:
            log.warning("wecom: callback unreadable (%s)", error)
            return web.Response(status=400)
        if event is not None:
            try:
                async with self._keeping:
                    await self._accept(event)
            except Exception as error:
                log.warning("wecom: could not keep a callback (%s); WeCom will retry", error)
                return web.Response(status=503)
        return web.Response(text="")

    # --- sending -----------------------------------------------------------------------

    async def announce(self, menus: Menus) -> None:
        """The app's menu: WeCom has one per app, not per person, so each side's commands
        and the common ones, in the default language; a click arrives as its command. If
        WeCom refuses (the app lacks the right) the bot runs on: every command can be typed."""
        try:
            async with asyncio.timeout(ANNOUNCE_SECONDS):
                await self._call(f"menu/create?agentid={self.app.agent_id}", app_menu(menus.app))
        except (WeComError, aiohttp.ClientError, TimeoutError) as error:
            log.warning("wecom: the app menu was not set (%s)", error)

    async def deliver(self, item: Item) -> Outcome:
        outcome = await self._outcome(item)
        if not isinstance(outcome, RetryLater):
            self._progress.pop(item.id, None)
        return outcome

    async def _outcome(self, item: Item) -> Outcome:
        try:
            return await self._deliver(_Run(item, self._progress.get(item.id, 0)))
        except _Later as later:
            return RetryLater("wecom: 30 messages a minute to this member", after=later.after)
        except WeComError as error:
            if error.code in RETRY:
                return RetryLater(f"wecom {error}", after=1.0 if error.code == 45009 else None)
            if error.code in UNKNOWN_MEMBER:
                return Unreachable(str(error))
            log.warning("wecom: %s refused: %s", item.kind, error)
            return Failed(str(error))
        except (aiohttp.ClientError, TimeoutError) as error:
            return RetryLater(f"wecom: {error!r}")

    async def _deliver(self, run: _Run) -> Outcome:
        item = run.item
        body = item.body
        if item.kind == "answer":  # WeCom has no notice on a click: a short message instead
            if body.get("text"):
                await self._text(run, plain(body["text"]))
            return Delivered()
        if item.kind == "menu":
            return Delivered()
        if item.kind == "file":
            await self._file(run)
            return Delivered()
        handle = body.get("handle")
        if item.kind == "strip":
            if item.target_message is not None and handle:
                await self._grey_out(item.address, handle)
            return Delivered()
        if item.kind == "edit" and item.target_message is not None and handle:
            card = card_for(body, item.target_message) if buttons(body) else None
            if card is None:  # not something a card shows: its buttons stop, the rest follows
                await self._grey_out(item.address, handle)
            elif await self._update(item, handle, card):
                return Delivered(item.target_message)
        return Delivered(await self._send(run))

    async def _send(self, run: _Run) -> str | None:
        """A new message (a card where there are buttons); the id a click will name."""
        body = run.item.body
        text = plain(body.get("text", "")).strip()
        if not buttons(body):
            await self._text(run, text)
            return None
        # A retry's card gets a task id of its own: WeCom refuses one used before, and the
        # first try may have reached WeCom though its answer was lost.
        task = run.item.ref if run.item.attempts <= 1 else f"{run.item.ref}-{run.item.attempts}"
        card = card_for(body, task)
        if card is None:  # too long for a card: the text first, then its buttons
            await self._text(run, text)
            card = title_card(body, text, task)
        await self._show(run, "template_card", card)
        return task

    async def _text(self, run: _Run, text: str) -> None:
        for part in split(text or " ", TEXT_BYTES):
            await self._show(run, "text", {"content": part})

    async def _show(self, run: _Run, kind: str, content: dict[str, Any]) -> None:
        """One message to the member, unless an earlier try of this row sent it already;
        held back (the row retried later) when the member had 30 this minute."""
        run.step += 1
        if run.step <= run.done:
            return
        member = run.item.address
        sent = self._sent.setdefault(member, deque())
        now = time.monotonic()
        while sent and now - sent[0] >= 60:
            sent.popleft()
        if self.per_member_minute is not None and len(sent) >= self.per_member_minute:
            raise _Later(60 - (now - sent[0]) + 0.5)
        sent.append(now)
        payload = {"touser": member, "msgtype": kind, "agentid": self.app.agent_id, kind: content}
        await self._call("message/send", payload)
        self._progress[run.item.id] = run.step

    async def _update(self, item: Item, code: str, card: dict[str, Any]) -> bool:
        """Redraw a clicked card; False when its code is used up or expired. On a retry the
        code was the click's, used once: by our first try, whose answer was lost."""
        changed = await self._change_card(item.address, code, {"template_card": card})
        return changed or item.attempts > 1

    async def _grey_out(self, member: str, code: str) -> None:
        """A clicked card's buttons stop acting (a code used up already changes nothing)."""
        await self._change_card(member, code, {"button": {"replace_name": DONE}})

    async def _change_card(self, member: str, code: str, change: dict[str, Any]) -> bool:
        """update_template_card with a click's code; False when WeCom refuses the code (a
        rate limit or a busy WeCom raise, so the row is retried)."""
        payload = {"userids": [member], "agentid": self.app.agent_id, "response_code": code}
        try:
            await self._call("message/update_template_card", {**payload, **change})
        except WeComError as error:
            if error.code in RETRY or error.code in TOKEN_REFUSED:
                raise
            log.info("wecom: a card could not be changed (%s)", error)
            return False
        return True

    async def _file(self, run: _Run) -> None:
        body, kind = run.item.body, "image" if run.item.body.get("image") else "file"
        form = aiohttp.FormData()
        form.add_field("media", run.item.blob or b"", filename=body.get("name") or "file")
        uploaded = await self._call(f"media/upload?type={kind}", form)
        if body.get("caption"):
            await self._text(run, plain(body["caption"]))
        await self._show(run, kind, {"media_id": uploaded["media_id"]})

    # --- the API -----------------------------------------------------------------------

    async def _call(self, path: str, payload: dict[str, Any] | aiohttp.FormData) -> dict[str, Any]:
        """One API call with the shared token; a refused token is fetched anew once."""
        refused: str | None = None
        for _ in range(2):
            token = await self._tokens.get(refused=refused)
            separator = "&" if "?" in path else "?"
            url = f"{self.app.api_base}/cgi-bin/{path}{separator}access_token={token}"
            kwargs = (
                {"data": payload} if isinstance(payload, aiohttp.FormData) else {"json": payload}
            )
            async with self._session().post(url, **kwargs) as response:
                if response.status >= 500:
                    raise WeComError(-1, f"HTTP {response.status}")
                answer = await response.json(content_type=None)
            code = int(answer.get("errcode", 0))
            if code in TOKEN_REFUSED and refused is None:
                refused = token
                continue
            if code != 0:
                raise WeComError(code, str(answer.get("errmsg", "")))
            if path.startswith("message/send") and answer.get("invaliduser"):
                raise WeComError(81013, f"unknown member {answer['invaliduser']}")
            return dict(answer)
        raise AssertionError("unreachable")

    async def _fetch_token(self) -> tuple[str, int]:
        url = f"{self.app.api_base}/cgi-bin/gettoken"
        params = {"corpid": self.app.corp_id, "corpsecret": self.app.secret}
        async with self._session().get(url, params=params) as response:
            if response.status >= 500:
                raise WeComError(-1, f"HTTP {response.status}")
            answer = await response.json(content_type=None)
        if int(answer.get("errcode", 0)) != 0:
            raise WeComError(int(answer["errcode"]), str(answer.get("errmsg", "")))
        return str(answer["access_token"]), int(answer.get("expires_in", 7200))

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        return self._http


def app_menu(groups: list[tuple[str, list[tuple[str, str]]]]) -> dict[str, Any]:
    """menu/create's body: at most 3 groups of 5 click items, names within WeCom's bytes."""
    return {
        "button": [
            {
                "name": _fit(title, MENU_TITLE_BYTES),
                "sub_button": [
                    {"type": "click", "name": _fit(label, MENU_ITEM_BYTES), "key": f"/{command}"}
                    for command, label in items[:MENU_ITEMS]
                ],
            }
            for title, items in groups[:MENU_GROUPS]
        ]
    }


def _fit(name: str, limit: int) -> str:
    """A menu name within ``limit`` UTF-8 bytes: the part before a colon or bracket
    ("可服务时间：暂停、恢复、容量" -> "可服务时间"), else cut."""
    if len(name.encode()) <= limit:
        return name
    head = re.split(r"[:：(（]", name, maxsplit=1)[0].strip()
    if head and len(head.encode()) <= limit:
        return head
    return name.encode()[:limit].decode(errors="ignore")


def buttons(body: dict[str, Any]) -> bool:
    """The view has buttons to draw (numbered choices are typed back, not drawn)."""
    return bool(body.get("keyboard")) and not body.get("numbered")


def card_for(body: dict[str, Any], task_id: str) -> dict[str, Any] | None:
    """A view as a button-interaction card, or None when its text is longer than a card
    shows: the first line as the title and the rest below it, or, where the first line is
    longer than a title, the whole text below no title (WeCom asks for one of the two)."""
    text = plain(body.get("text", "")).strip()
    title, _, rest = text.partition("\n")
    rest = rest.strip()
    if len(title) > TITLE_CHARS:
        title, rest = "", text
    if len(rest) > SUBTITLE_CHARS:
        return None
    pairs = [(label, token) for row in body.get("keyboard", []) for label, token in row]
    keys = button_keys([token for _, token in pairs])
    card: dict[str, Any] = {
        "card_type": "button_interaction",
        "task_id": task_id,
        "button_list": [
            {"text": label, "style": 1, "key": key}
            for (label, _), key in zip(pairs, keys, strict=True)
        ],
    }
    if title:
        card["main_title"] = {"title": title}
    if rest:
        card["sub_title_text"] = rest
    return card


def title_card(body: dict[str, Any], text: str, task_id: str) -> dict[str, Any]:
    """The card after a text longer than a card shows: titled with the text's first line,
    which is plain text (escaped again, as card_for reads markup: "<Q235>" stays)."""
    card = card_for({**body, "text": html.escape(_first_line(text), quote=False)}, task_id)
    assert card is not None
    return card


def _first_line(text: str) -> str:
    line = text.partition("\n")[0]
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1] + "…"

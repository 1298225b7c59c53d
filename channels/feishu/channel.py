"""Feishu (飞书) through a custom app: events over the long connection (or the webhook),
the IM API out.

Receiving: by default the SDK's long connection (channels.feishu.connection), which needs
no public address; with FEISHU_MODE=webhook, Feishu posts events to the bot's server,
encrypted with the encrypt key and signed (a body that fails the signature gets 403, one
that is no event 400), after checking the URL with a `url_verification` challenge. Either
way an event is kept by the inbox before it is acknowledged (if it cannot be kept, Feishu
is told it failed and delivers it again). A click on a card is answered within Feishu's
3 s: the bot waits a moment for the core's answer to the press and shows it as a toast;
an answer that comes later (or from another process) is sent as a short message.

Sending: the tenant access token is kept in the database, shared by every process, and
fetched again before it expires or when Feishu refuses it. Every view is a card (card
JSON 2.0, shared so it can be updated), with the core's tokens in its buttons' values, so
any message the bot sent can be changed later through the message PATCH API (for 14
days); a text longer than a card holds goes as text messages, with its buttons on a card
after it. Each message carries an idempotency key (the outbox row's ref and its part), so
a retry after a lost answer never shows a message twice. Feishu's answers map onto the
pipeline's outcomes: a refused token is fetched again; rate limits, busy and 5xx retry
(after the wait Feishu asks for); a person outside the app's availability range is
unreachable; anything else is a failure logged with Feishu's words.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp
from aiohttp import web

from channels.base import Accept, Delivered, Failed, Outcome, RetryLater, Route, Unreachable
from channels.feishu import crypto
from channels.feishu.connection import LongConnection
from channels.feishu.translate import PLATFORM, NotAnEvent, translate
from channels.parts import read_body, split
from channels.tokens import SharedToken
from handlers.core.capabilities import Capabilities
from handlers.core.events import Press
from handlers.core.views import plain
from handlers.menus import Menus
from storage.db import Database
from storage.outbox import Item

log = logging.getLogger(__name__)

CAPABILITIES = Capabilities(
    edits="any",  # a shared card can be updated for 14 days
    max_buttons=30,
    max_row=3,  # side by side on a phone's card
    max_payload=256,
    max_text=150_000,
    text_unit="bytes",
    markup="plain",
    first_contact=True,  # anyone in the app's availability range
    share_contact=False,
    menus=False,  # the bot's menu is set in the developer console, for everyone
    per_address_rate=4.0,  # Feishu allows about 5 a second to one person
    per_address_burst=5,
    overall_rate=40.0,  # 50 a second for the app
)
CARD_BYTES = 30 * 1024  # Feishu refuses a card request of over 30 KB
TEXT_BYTES = 45 * 1024  # a text request may be 150 KB; a line end counts thrice in it
TOKEN_REFUSED = {99991661, 99991663, 99991668, 99991677}  # missing, invalid, expired
RATE_LIMITED = {99991400, 230020}
BUSY = {1500}  # Feishu's internal error: try again
UNREACHABLE = {230013, 230053}  # outside the availability range; the person left or blocked
TOAST_WAIT = 2.0  # seconds a click's answer waits for the core (Feishu waits 3)
AUTH_WAIT = 60.0  # seconds before sending again when Feishu refuses the app itself
REPLY_GAP = 0.3  # seconds between a click's answer and a PATCH of its card
CARD_GRACE = 0.25  # seconds a click's answer waits, once the toast is there, for its card
MAX_BODY = 1024 * 1024
REPLAY_WINDOW = 3600  # seconds a signed callback's timestamp may be from now


@dataclass
class _Click:
    """A click on a card, being answered: the core's toast for it and its card redrawn."""

    message: str | None
    toast: asyncio.Future[dict[str, Any] | None]
    card: dict[str, Any] | None = None
    redrawn: asyncio.Event = field(default_factory=asyncio.Event)
    answered: float | None = None  # the loop's time the answer went


class FeishuError(Exception):
    def __init__(
        self, code: int, message: str, *, after: float | None = None, auth: bool = False
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.after = after
        self.auth = auth  # the app's credentials or token refused


@dataclass(frozen=True)
class FeishuApp:
    app_id: str
    app_secret: str
    encrypt_key: str | None = None
    verification_token: str | None = None
    domain: str = "https://open.feishu.cn"
    mode: Literal["long_connection", "webhook"] = "long_connection"
    callback_path: str = "/feishu"


class FeishuChannel:
    platform = PLATFORM

    def __init__(
        self,
        app: FeishuApp,
        db: Database,
        *,
        capabilities: Capabilities = CAPABILITIES,
        toast_wait: float = TOAST_WAIT,
        body_timeout: float = 2.0,
    ) -> None:
        self.app = app
        self.db = db
        self.capabilities = capabilities
        self.toast_wait = toast_wait
        self.body_timeout = body_timeout
        self._accept: Accept | None = None
        self._connection: LongConnection | None = None
        self._http: aiohttp.ClientSession | None = None
        self._tokens = SharedToken(db, PLATFORM, self._fetch_token)
        # Clicks being answered: by the event's id, and by the card clicked.
        self._clicks: dict[str, _Click] = {}
        self._answering: dict[str, _Click] = {}
        # Frames come concurrently; kept one at a time, in the order they came (the lock
        # is fair), so what a person typed quickly is applied in the order they typed it.
        self._keeping = asyncio.Lock()

    # --- receiving ---------------------------------------------------------------------

    def routes(self) -> list[Route]:
        if self.app.mode != "webhook":
            return []
        return [Route("POST", self.app.callback_path, self._callback)]

    async def start(self, accept: Accept) -> None:
        self._accept = accept
        if self.app.mode == "webhook":
            log.info("feishu: events at %s for app %s", self.app.callback_path, self.app.app_id)
            return
        self._connection = LongConnection(
            self.app.app_id, self.app.app_secret, self.app.domain, self._receive
        )
        self._connection.start()
        if not await self._connection.wait_connected(10.0):
            log.warning("feishu: not connected yet; the connection keeps trying")
        else:
            log.info("feishu: long connection up for app %s", self.app.app_id)

    async def stop(self) -> None:
        if self._connection is not None:
            await self._connection.stop()
            self._connection = None
        self._accept = None

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    def healthy(self) -> bool:
        if self.app.mode == "webhook":
            return self._accept is not None
        return self._connection is not None and self._connection.connected()

    async def _receive(self, payload: dict[str, Any]) -> dict[str, Any] | None:
        """One event: kept, then answered; a click with the core's toast, and the clicked
        card as the core redraws it, if they come in time. Raises when the event could not
        be kept (Feishu is told, and delivers it again)."""
        accept = self._accept
        if accept is None:
            raise RuntimeError("not receiving")
        try:
            event = translate(payload)
        except NotAnEvent as error:
            log.warning("feishu: an event the bot cannot read (%s)", error)
            return None
        if event is None:
            return None
        if not isinstance(event.body, Press) or event.body.handle is None:
            async with self._keeping:
                await accept(event)
            return None
        loop = asyncio.get_running_loop()
        # Feishu waits 3 s from when it sent the click: the bot's budget counts from now.
        deadline = loop.time() + self.toast_wait
        handle, card = event.body.handle, event.body.message
        if handle in self._clicks:
            return {}  # the same click on another connection: answered there
        click = self._clicks[handle] = _Click(card, loop.create_future())
        if card is not None:
            self._answering[card] = click
        try:
            async with self._keeping:
                new = await accept(event)
            if not new:
                return {}  # the same click again: answered the first time
            async with asyncio.timeout_at(deadline):
                await asyncio.shield(click.toast)  # the wait ends; the future stays open
                # The core redraws the clicked card just before or after its answer: a
                # moment for the redrawn card to go with the answer rather than after it.
                async with asyncio.timeout(CARD_GRACE):
                    await click.redrawn.wait()
        except TimeoutError:
            pass  # no redrawn card (or no answer yet: that follows as a message)
        finally:
            self._clicks.pop(handle, None)
            click.answered = loop.time()
            if card is not None:
                loop.call_later(REPLY_GAP, self._forget, card, click)
        # The answer may have come as the wait ended: it is shown, not lost.
        toast = click.toast.result() if click.toast.done() else None
        answer: dict[str, Any] = {"toast": toast} if toast else {}
        if click.card is not None:
            answer["card"] = {"type": "raw", "data": click.card}
        return answer

    def _forget(self, card: str, click: _Click) -> None:
        """A card's click is answered: later redraws are PATCHes (unless another click on
        it is being answered by then)."""
        if self._answering.get(card) is click:
            del self._answering[card]

    async def _callback(self, request: web.Request) -> web.Response:
        """The webhook: decrypted, checked, kept, then answered."""
        if self._accept is None:
            return web.Response(status=503)
        try:
            async with asyncio.timeout(self.body_timeout):
                raw = await read_body(request, MAX_BODY)
        except TimeoutError:
            return web.Response(status=408)
        if raw is None:
            return web.Response(status=413)
        try:
            payload = self._open(raw, request.headers)
        except (crypto.CryptoError, ValueError) as error:
            # One answer for every refusal: which step failed is not for the sender to learn.
            log.warning("feishu: callback refused (%s)", error)
            return web.Response(status=403)
        if payload.get("type") == "url_verification":
            return web.json_response({"challenge": payload.get("challenge", "")})
        try:
            answer = await self._receive(payload)
        except Exception as error:
            log.warning("feishu: could not keep an event (%s); Feishu will retry", error)
            return web.Response(status=503)
        return web.json_response(answer or {})

    def _open(self, raw: bytes, headers: Any) -> dict[str, Any]:
        """The callback's event. With an encrypt key: its signature checked first (it covers
        the raw body), then decrypted; only Feishu's URL check comes unsigned. The
        verification token is checked last."""
        key = self.app.encrypt_key
        signed = "X-Lark-Signature" in headers
        if key and signed:
            stamp = headers.get("X-Lark-Request-Timestamp", "")
            nonce = headers.get("X-Lark-Request-Nonce", "")
            expected = crypto.signature(stamp, nonce, key, raw).encode()
            given = headers.get("X-Lark-Signature", "").encode("utf-8", "replace")
            if not hmac.compare_digest(expected, given):
                raise crypto.CryptoError("signature does not match")
            if not stamp.isdigit() or abs(time.time() - int(stamp)) > REPLAY_WINDOW:
                raise crypto.CryptoError("timestamp outside the replay window")
        outer = json.loads(raw)
        if not isinstance(outer, dict):
            raise ValueError("not an object")
        if key:
            if not isinstance(outer.get("encrypt"), str):
                raise crypto.CryptoError("not encrypted")
            payload = json.loads(crypto.decrypt(key, outer["encrypt"]))
        else:
            payload = outer
        if not isinstance(payload, dict):
            raise ValueError("not an object")
        verification = payload.get("type") == "url_verification"
        if key and not signed and not verification:
            raise crypto.CryptoError("an event without its signature")
        header = payload.get("header")
        token = payload.get("token") if verification else (header or {}).get("token")
        wanted = self.app.verification_token
        if wanted and not hmac.compare_digest(str(token or "").encode(), wanted.encode()):
            raise crypto.CryptoError("verification token does not match")
        return payload

    # --- sending -----------------------------------------------------------------------

    async def announce(self, menus: Menus) -> None:
        """Feishu's bot menu is set in the developer console, not through the API."""

    async def deliver(self, item: Item) -> Outcome:
        try:
            return await self._deliver(item)
        except FeishuError as error:
            if error.code in RATE_LIMITED or error.code in BUSY or error.code < 0:
                return RetryLater(f"feishu {error}", after=error.after)
            if error.auth:  # the app's credentials or token: the operator's to fix, not a row's
                log.warning("feishu: the app is refused (%s); sending waits", error)
                return RetryLater(f"feishu {error}", after=AUTH_WAIT)
            if error.code in UNREACHABLE:
                return Unreachable(str(error))
            log.warning("feishu: %s refused: %s", item.kind, error)
            return Failed(str(error))
        except (aiohttp.ClientError, TimeoutError) as error:
            return RetryLater(f"feishu: {error!r}")
        except (KeyError, TypeError, ValueError) as error:  # an answer not shaped as Feishu's
            return RetryLater(f"feishu: unexpected answer ({error!r})")

    async def _deliver(self, item: Item) -> Outcome:
        body = item.body
        if item.kind == "answer":
            await self._answer(item)
            return Delivered()
        if item.kind == "menu":
            return Delivered()
        if item.kind == "file":
            await self._file(item)
            return Delivered()
        if item.kind == "strip":
            if item.target_message is not None:
                await self._change(item.target_message, card_for({**body, "keyboard": []}))
            return Delivered(item.target_message)
        if item.kind == "edit" and item.target_message is not None:
            card = card_for(body)
            if card is not None and await self._change(item.target_message, card):
                return Delivered(item.target_message)
            # Too long for a card, or a card Feishu no longer lets the bot change: anew.
        return Delivered(await self._send(item))

    async def _answer(self, item: Item) -> None:
        """A press's answer: the toast its click is waiting for, else a short message."""
        body = item.body
        text = plain(body["text"]) if body.get("text") else None
        kind = "warning" if body.get("alert") else "info"
        toast = {"type": kind, "content": text} if text else None
        click = self._clicks.get(body.get("handle") or "")
        if click is not None and not click.toast.done():
            click.toast.set_result(toast)
        elif text:
            await self._message(item, 0, "text", {"text": text})

    async def _send(self, item: Item) -> str:
        """A new card (or, for a text longer than a card holds, texts and then a card with
        its buttons); the id of the message an edit will change."""
        body = item.body
        card = card_for(body)
        if card is not None:
            return await self._message(item, 0, "interactive", card)
        text = plain(body.get("text", "")).strip()
        parts = split(text, TEXT_BYTES)
        last = ""
        for n, part in enumerate(parts):
            last = await self._message(item, n, "text", {"text": part})
        if body.get("keyboard"):
            title = _first_line(text)
            card = card_for({**body, "text": title})
            assert card is not None
            last = await self._message(item, len(parts), "interactive", card)
        return last

    async def _message(self, item: Item, part: int, kind: str, content: dict[str, Any]) -> str:
        payload = {
            "receive_id": item.address,
            "msg_type": kind,
            "content": json.dumps(content, ensure_ascii=False),
            # Feishu sends a uuid only once an hour: a retry of a row never shows twice.
            "uuid": f"{item.ref}.{part}"[:50],
        }
        answer = await self._call("POST", "im/v1/messages?receive_id_type=open_id", payload)
        return str(answer["data"]["message_id"])

    async def _change(self, message_id: str, card: dict[str, Any] | None) -> bool:
        """Redraw a card: within the answer to its click while that is still to go (as
        Feishu asks: an update racing the answer can be undone by it), else by PATCH, a
        moment after such an answer went."""
        click = self._answering.get(message_id)
        if card is not None and click is not None:
            if click.answered is None:
                click.card = card
                click.redrawn.set()
                return True
            await asyncio.sleep(click.answered + REPLY_GAP - asyncio.get_running_loop().time())
        return await self._patch(message_id, card)

    async def _patch(self, message_id: str, card: dict[str, Any] | None) -> bool:
        """Change a card the bot sent; False when Feishu will not (not a card, too old)."""
        if card is None:
            return False
        content = {"content": json.dumps(card, ensure_ascii=False)}
        try:
            await self._call("PATCH", f"im/v1/messages/{message_id}", content)
        except FeishuError as error:
            if error.code in TOKEN_REFUSED or error.code in RATE_LIMITED or error.code in BUSY:
                raise
            if error.code < 0:
                raise
            log.info("feishu: a card could not be changed (%s)", error)
            return False
        return True

    async def _file(self, item: Item) -> None:
        body = item.body
        form = aiohttp.FormData()
        name = body.get("name") or "file"
        if body.get("image"):
            form.add_field("image_type", "message")
            form.add_field("image", item.blob or b"", filename=name)
            uploaded = await self._call("POST", "im/v1/images", form)
            kind, content = "image", {"image_key": uploaded["data"]["image_key"]}
        else:
            form.add_field("file_type", "stream")
            form.add_field("file_name", name)
            form.add_field("file", item.blob or b"", filename=name)
            uploaded = await self._call("POST", "im/v1/files", form)
            kind, content = "file", {"file_key": uploaded["data"]["file_key"]}
        if body.get("caption"):
            await self._message(item, 0, "text", {"text": plain(body["caption"])})
        await self._message(item, 1, kind, content)

    # --- the API -----------------------------------------------------------------------

    async def _call(
        self, method: str, path: str, payload: dict[str, Any] | aiohttp.FormData
    ) -> dict[str, Any]:
        """One API call with the shared token; a refused token is fetched anew once."""
        refused: str | None = None
        for _ in range(2):
            token = await self._tokens.get(refused=refused)
            url = f"{self.app.domain}/open-apis/{path}"
            kwargs: dict[str, Any] = (
                {"data": payload} if isinstance(payload, aiohttp.FormData) else {"json": payload}
            )
            headers = {"Authorization": f"Bearer {token}"}
            async with self._session().request(method, url, headers=headers, **kwargs) as response:
                if response.status >= 500:
                    raise FeishuError(-1, f"HTTP {response.status}")
                after = _reset(response.headers.get("x-ogw-ratelimit-reset"))
                try:
                    answer = await response.json(content_type=None)
                except ValueError:
                    raise FeishuError(-1, f"HTTP {response.status}: not JSON") from None
            if not isinstance(answer, dict):
                raise FeishuError(-1, f"HTTP {response.status}: not an object")
            code = int(answer.get("code", 0))
            if code in TOKEN_REFUSED and refused is None:
                refused = token
                continue
            if code != 0:
                message = str(answer.get("msg", ""))
                raise FeishuError(code, message, after=after, auth=code in TOKEN_REFUSED)
            return answer
        raise AssertionError("unreachable")

    async def _fetch_token(self) -> tuple[str, int]:
        url = f"{self.app.domain}/open-apis/auth/v3/tenant_access_token/internal"
        body = {"app_id": self.app.app_id, "app_secret": self.app.app_secret}
        async with self._session().post(url, json=body) as response:
            if response.status >= 500:
                raise FeishuError(-1, f"HTTP {response.status}")
            answer = await response.json(content_type=None)
        code = int(answer.get("code", 0))
        if code != 0:  # a wrong app id or secret: the operator's to fix
            raise FeishuError(code, str(answer.get("msg", "")), auth=True)
        return str(answer["tenant_access_token"]), int(answer.get("expire", 7200))

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=15),
                # Chinese as UTF-8, not \uXXXX: Feishu's limits count the request's bytes.
                json_serialize=functools.partial(json.dumps, ensure_ascii=False),
            )
        return self._http


def _reset(value: str | None) -> float | None:
    """Seconds Feishu asks to wait (x-ogw-ratelimit-reset)."""
    try:
        return max(float(value), 0.5) if value else None
    except ValueError:
        return None


def card_for(body: dict[str, Any]) -> dict[str, Any] | None:
    """A view as a card (JSON 2.0, shared so that PATCH can change it), or None when it is
    longer than a card holds. Rows of buttons are column sets; each button's value carries
    the core's token."""
    text = plain(body.get("text", "")).strip()
    elements: list[dict[str, Any]] = []
    if text:
        elements.append({"tag": "div", "text": {"tag": "plain_text", "content": text}})
    for row in body.get("keyboard") or []:
        elements.append(
            {
                "tag": "column_set",
                "flex_mode": "none",
                "horizontal_spacing": "8px",
                "columns": [
                    {
                        "tag": "column",
                        "width": "weighted",
                        "weight": 1,
                        "elements": [_button(label, token)],
                    }
                    for label, token in row
                ],
            }
        )
    card = {
        "schema": "2.0",
        "config": {"update_multi": True, "summary": {"content": _first_line(text)}},
        "body": {"elements": elements or [_blank()]},
    }
    if _request_bytes(card) > CARD_BYTES:
        return None
    return card


def _request_bytes(content: dict[str, Any]) -> int:
    """The bytes of a send or PATCH request carrying `content`, as Feishu counts its limits
    (the content is a JSON string inside the JSON request: its quotes escaped again)."""
    request = {"content": json.dumps(content, ensure_ascii=False), "msg_type": "interactive"}
    return len(json.dumps(request, ensure_ascii=False).encode()) + 200  # receive_id, uuid


def _button(label: str, token: str) -> dict[str, Any]:
    return {
        "tag": "button",
        "text": {"tag": "plain_text", "content": label},
        "type": "default",
        "width": "fill",
        "behaviors": [{"type": "callback", "value": {"t": token}}],
    }


def _blank() -> dict[str, Any]:
    return {"tag": "div", "text": {"tag": "plain_text", "content": " "}}


def _first_line(text: str, limit: int = 60) -> str:
    line = text.partition("\n")[0]
    return line if len(line) <= limit else line[: limit - 1] + "…"

"""DingTalk (钉钉) through an internal app's robot: callbacks over Stream mode, the API out.

Receiving: Stream mode (channels.dingtalk.connection), which needs no public address: the
robot's messages and clicks on its cards arrive as callbacks on one websocket. Each is
kept by the inbox before it is acknowledged (if it cannot be kept, DingTalk is told and
sends it again); DingTalk also sends some again after their ack, and the inbox knows
them by their ids (channels.dingtalk.translate).

Sending, with plain HTTP: the access token is kept in the database, shared by every
process, and fetched again before it expires or when DingTalk refuses it. Texts go as
one-to-one robot messages (oToMessages/batchSend) in DingTalk's markdown, the view's text
with markdown's marks escaped and each line break kept (a text that holds something
markdown would take for HTML goes as plain text); a long text is split at line ends.
With a card template (DINGTALK_CARD_TEMPLATE_ID, deploy/dingtalk/), every view is an
interactive card (card/instances/createAndDeliver, its outTrackId the outbox row's ref),
its buttons carrying the core's tokens, so any message the bot sent can be changed later
(PUT card/instances); a text longer than a card holds goes as robot messages first, its
buttons on a card after it. Without a template there are no buttons: the core draws
numbered choices, typed back, and nothing is edited. A click is answered with a short
message (a card's callback has no notice to show). Files are uploaded (media/upload)
and sent as file messages, a caption as a text before them.

batchSend answers "ok" whatever became of each person: one in invalidStaffIdList is
unreachable, one in flowControlledStaffIdList is tried again later. Only an answer that
accepted the message counts it delivered: a refusal, a rate limit (403 QpsLimit, 429),
a 5xx or a lost answer is retried (DingTalk loses robot messages while its side is
down, so nothing is counted on hope). A row that takes several messages resumes, on a
retry, after the last one DingTalk accepted.
"""

from __future__ import annotations

import functools
import html
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from channels.base import Accept, Delivered, Failed, Outcome, RetryLater, Route, Unreachable
from channels.dingtalk.connection import CARD_TOPIC, StreamConnection
from channels.dingtalk.translate import PLATFORM, NotAnEvent, click, message
from channels.parts import split
from channels.tokens import SharedToken
from handlers.core.capabilities import Capabilities
from handlers.core.views import plain
from handlers.menus import Menus
from storage.db import Database
from storage.outbox import Item

log = logging.getLogger(__name__)

CARD_CAPABILITIES = Capabilities(
    edits="any",  # a card changes through PUT card/instances
    max_buttons=20,
    max_row=3,  # the template draws the buttons three to a row
    max_payload=256,
    max_text=100_000,  # split into messages here
    text_unit="bytes",
    markup="plain",
    first_contact=True,  # anyone in the app's visible range
    share_contact=False,
    menus=False,  # the robot's menu is set in the developer console
    per_address_rate=2.0,
    per_address_burst=5,
    overall_rate=15.0,  # 20 calls a second per API for a standard organisation
)
PLAIN_CAPABILITIES = Capabilities(
    edits="none",  # a robot message cannot be changed once sent
    max_buttons=0,  # no card template: choices are numbered lines, typed back
    max_row=1,
    max_payload=256,
    max_text=100_000,
    text_unit="bytes",
    markup="plain",
    first_contact=True,
    share_contact=False,
    menus=False,
    per_address_rate=2.0,
    per_address_burst=5,
    overall_rate=15.0,
)
MSG_PARAM_BYTES = 15_000  # a robot message's msgParam (JSON)
PART_BYTES = 6_000  # of plain text per robot message (escaped, it stays under the above)
CARD_BYTES = 12_000  # of a card's text; longer texts go as messages before the card
TITLE_CHARS = 30  # a markdown message's title, shown in the chat list and notifications
TOKEN_REFUSED = {"InvalidAuthentication", "invalidAuthentication", "AccessTokenExpired"}
UPLOAD_TOKEN_REFUSED = {40001, 40014, 42001}
RATE_LIMITED = {
    "Forbidden.AccessDenied.QpsLimitForApi",
    "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi",
}
DUPLICATE_CARD = {"param.outTrackIdDuplicated"}
FLOW_CONTROL_WAIT = 30.0  # picked: DingTalk does not say how long a person's limit lasts
_MARKS = re.compile(r"([\\`*_{}\[\]()#+\-!>|~])")
_LOOKS_HTML = re.compile(r"<[^<>\n]*>|&[#\w]+;")
FILE_TYPES = {"jpeg": "jpg"}


class DingTalkError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code = status, code

    @property
    def retry(self) -> bool:
        return self.status >= 500 or self.status == 429 or self.code in RATE_LIMITED


class _NotAccepted(Exception):
    """batchSend answered, but did not take the message for this person."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome)
        self.outcome = outcome


@dataclass(frozen=True)
class DingTalkApp:
    client_id: str
    client_secret: str
    robot_code: str
    card_template_id: str | None = None
    api_base: str = "https://api.dingtalk.com"

    @property
    def oapi_base(self) -> str:
        """The old API's host (media upload): oapi.dingtalk.com beside api.dingtalk.com; any
        other base (a proxy, an emulator) serves both."""
        return self.api_base.replace("://api.", "://oapi.", 1)


@dataclass
class _Run:
    """One try at delivering a row that may take several DingTalk messages."""

    item: Item
    done: int  # messages an earlier try of this row had accepted
    step: int = 0


class DingTalkChannel:
    platform = PLATFORM

    def __init__(
        self, app: DingTalkApp, db: Database, *, capabilities: Capabilities | None = None
    ) -> None:
        self.app = app
        self.db = db
        self.cards = app.card_template_id is not None
        self.capabilities = capabilities or (
            CARD_CAPABILITIES if self.cards else PLAIN_CAPABILITIES
        )
        self._accept: Accept | None = None
        self._connection: StreamConnection | None = None
        self._http: aiohttp.ClientSession | None = None
        self._tokens = SharedToken(db, PLATFORM, self._fetch_token)
        self._progress: dict[int, int] = {}  # outbox row -> its messages accepted so far

    # --- receiving ---------------------------------------------------------------------

    def routes(self) -> list[Route]:
        return []

    async def start(self, accept: Accept) -> None:
        self._accept = accept
        self._connection = StreamConnection(
            self.app.client_id, self.app.client_secret, self.app.api_base, self._receive
        )
        self._connection.start()
        if await self._connection.wait_connected(10.0):
            log.info("dingtalk: stream connected for robot %s", self.app.robot_code)
        else:
            log.warning("dingtalk: not connected yet; the connection keeps trying")

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
        return self._connection is not None and self._connection.connected()

    async def _receive(self, topic: str, message_id: str, data: dict[str, Any]) -> None:
        """One callback, kept by the inbox; raises when it could not be (no ack then)."""
        accept = self._accept
        if accept is None:
            raise RuntimeError("not receiving")
        try:
            event = click(message_id, data) if topic == CARD_TOPIC else message(data)
        except NotAnEvent as error:
            log.warning("dingtalk: a callback the bot cannot read (%s)", error)
            return
        if event is not None:
            await accept(event)

    # --- sending -----------------------------------------------------------------------

    async def announce(self, menus: Menus) -> None:
        """The robot's menu is set in DingTalk's developer console, not through the API."""

    async def deliver(self, item: Item) -> Outcome:
        outcome = await self._outcome(item)
        if not isinstance(outcome, RetryLater):
            self._progress.pop(item.id, None)
        return outcome

    async def _outcome(self, item: Item) -> Outcome:
        try:
            return await self._deliver(_Run(item, self._progress.get(item.id, 0)))
        except _NotAccepted as refused:
            return refused.outcome
        except DingTalkError as error:
            if error.retry:
                after = 1.0 if error.code in RATE_LIMITED else None
                return RetryLater(f"dingtalk {error}", after=after)
            log.warning("dingtalk: %s refused: %s", item.kind, error)
            return Failed(str(error))
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            return RetryLater(f"dingtalk: {error!r}")

    async def _deliver(self, run: _Run) -> Outcome:
        item, body = run.item, run.item.body
        if item.kind == "answer":  # a card's callback shows no notice: a short message
            if body.get("text"):
                await self._texts(run, plain(body["text"]))
            return Delivered()
        if item.kind == "menu":
            return Delivered()
        if item.kind == "file":
            await self._file(run)
            return Delivered()
        target = item.target_message
        if item.kind == "strip":
            if target is not None and self.cards:
                await self._update(target, {"buttons": "[]"})
            return Delivered(target)
        if item.kind == "edit" and target is not None and self.cards:
            params = card_params(body)
            if params is not None:
                await self._update(target, params)
                return Delivered(target)
            # Longer than a card holds: its buttons stop, and the view follows anew.
            await self._update(target, {"buttons": "[]"})
        return Delivered(await self._send(run))

    async def _send(self, run: _Run) -> str | None:
        """A new message: a card where there is a template (its outTrackId is what an edit
        changes), else robot messages."""
        body = run.item.body
        text = plain(body.get("text", "")).strip()
        if not self.cards:
            await self._texts(run, text)
            return None
        params = card_params(body)
        if params is None:  # too long for a card: the text first, its buttons on a card
            await self._texts(run, text)
            title = html.escape(_first_line(text), quote=False)  # plain text, read as markup
            params = card_params({**body, "text": title})
            assert params is not None
        return await self._card(run, params)

    async def _texts(self, run: _Run, text: str) -> None:
        for part in parts(text or " "):
            await self._show(run, functools.partial(self._robot_message, run.item, part))

    async def _show(self, run: _Run, send: Callable[[], Awaitable[None]]) -> None:
        """One message of the row, unless an earlier try had it accepted already."""
        run.step += 1
        if run.step <= run.done:
            return
        await send()
        self._progress[run.item.id] = run.step

    async def _robot_message(self, item: Item, text: str) -> None:
        if _LOOKS_HTML.search(text):  # markdown would read it as HTML: as typed, in plain text
            await self._batch_send(item, "sampleText", {"content": text})
            return
        markdown = {"title": _title(text), "text": to_markdown(text)}
        await self._batch_send(item, "sampleMarkdown", markdown)

    async def _batch_send(self, item: Item, key: str, param: dict[str, Any]) -> None:
        payload = {
            "robotCode": self.app.robot_code,
            "userIds": [item.address],
            "msgKey": key,
            "msgParam": json.dumps(param, ensure_ascii=False),
        }
        answer = await self._call("POST", "/v1.0/robot/oToMessages/batchSend", payload)
        if item.address in (answer.get("invalidStaffIdList") or []):
            raise _NotAccepted(Unreachable(f"dingtalk: {item.address} is not in the organisation"))
        if item.address in (answer.get("flowControlledStaffIdList") or []):
            raise _NotAccepted(
                RetryLater("dingtalk: flow controlled for this person", after=FLOW_CONTROL_WAIT)
            )
        if not answer.get("processQueryKey"):
            raise DingTalkError(502, "noProcessQueryKey", "batchSend accepted nothing")

    async def _card(self, run: _Run, params: dict[str, str]) -> str:
        item = run.item
        track = item.ref
        payload = {
            "cardTemplateId": self.app.card_template_id,
            "outTrackId": track,
            "callbackType": "STREAM",
            "cardData": {"cardParamMap": params},
            "openSpaceId": f"dtv1.card//IM_ROBOT.{item.address}",
            "imRobotOpenDeliverModel": {"spaceType": "IM_ROBOT", "robotCode": self.app.robot_code},
            "imRobotOpenSpaceModel": {"supportForward": False},
        }
        try:
            answer = await self._call("POST", "/v1.0/card/instances/createAndDeliver", payload)
        except DingTalkError as error:
            if error.code in DUPLICATE_CARD and item.attempts > 1:
                # An earlier try made the card and its answer was lost: it is there; make
                # sure it shows this view.
                await self._update(track, params)
                return track
            raise
        results = (answer.get("result") or {}).get("deliverResults") or []
        mine = next((r for r in results if r.get("spaceId") == item.address), None)
        if mine is not None and not mine.get("success", True):
            problem = str(mine.get("errorMsg") or "not delivered")
            if "not found" in problem or "not exist" in problem or "无效" in problem:
                raise _NotAccepted(Unreachable(f"dingtalk: {problem}"))
            raise DingTalkError(400, "deliverFailed", problem)
        return track

    async def _update(self, track: str, params: dict[str, str]) -> None:
        payload = {
            "outTrackId": track,
            "cardData": {"cardParamMap": params},
            "cardUpdateOptions": {"updateCardDataByKey": True},
        }
        await self._call("PUT", "/v1.0/card/instances", payload)

    async def _file(self, run: _Run) -> None:
        item, body = run.item, run.item.body
        name = str(body.get("name") or "file")
        if body.get("caption"):
            await self._texts(run, plain(body["caption"]))

        async def send() -> None:
            media = await self._upload(name, item.blob or b"", str(body.get("mime") or ""))
            extension = name.rpartition(".")[2].lower() if "." in name else "file"
            param = {
                "mediaId": media,
                "fileName": name,
                "fileType": FILE_TYPES.get(extension, extension),
            }
            await self._batch_send(item, "sampleFile", param)

        await self._show(run, send)

    # --- the API -----------------------------------------------------------------------

    async def _call(self, method: str, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """One call to the new API with the shared token; a refused one is fetched anew once."""
        refused: str | None = None
        for _ in range(2):
            token = await self._tokens.get(refused=refused)
            headers = {"x-acs-dingtalk-access-token": token}
            url = self.app.api_base + path
            async with self._session().request(
                method, url, json=payload, headers=headers
            ) as response:
                status = response.status
                text = await response.text()
            try:
                answer = json.loads(text) if text else {}
            except ValueError:
                answer = None
            if not isinstance(answer, dict):
                raise DingTalkError(status if status >= 400 else 502, "notJson", text[:200])
            if status == 200:
                return answer
            code = str(answer.get("code", ""))
            if code in TOKEN_REFUSED and refused is None:
                refused = token
                continue
            raise DingTalkError(status, code, str(answer.get("message", ""))[:300])
        raise AssertionError("unreachable")

    async def _upload(self, name: str, data: bytes, mime: str) -> str:
        """The old API's media upload (what sampleFile names); its media_id."""
        refused: str | None = None
        for _ in range(2):
            token = await self._tokens.get(refused=refused)
            form = aiohttp.FormData()
            form.add_field("media", data, filename=name, content_type=mime or None)
            url = f"{self.app.oapi_base}/media/upload"
            params = {"access_token": token, "type": "file"}
            async with self._session().post(url, params=params, data=form) as response:
                if response.status >= 500 or response.status == 429:
                    raise DingTalkError(response.status, "upload", "media/upload failed")
                answer = await response.json(content_type=None)
            code = int(answer.get("errcode", 0)) if isinstance(answer, dict) else -1
            if code in UPLOAD_TOKEN_REFUSED and refused is None:
                refused = token
                continue
            if code == -1:  # system busy
                raise DingTalkError(503, str(code), str(answer.get("errmsg", "")))
            if code != 0 or not answer.get("media_id"):
                raise DingTalkError(400, str(code), str(answer.get("errmsg", ""))[:300])
            return str(answer["media_id"])
        raise AssertionError("unreachable")

    async def _fetch_token(self) -> tuple[str, int]:
        url = f"{self.app.api_base}/v1.0/oauth2/accessToken"
        body = {"appKey": self.app.client_id, "appSecret": self.app.client_secret}
        async with self._session().post(url, json=body) as response:
            status = response.status
            answer = await response.json(content_type=None)
        if status != 200 or not isinstance(answer, dict) or not answer.get("accessToken"):
            code = str(answer.get("code", "")) if isinstance(answer, dict) else ""
            message = str(answer.get("message", "")) if isinstance(answer, dict) else ""
            raise DingTalkError(status if status != 200 else 502, code, message)
        return str(answer["accessToken"]), int(answer.get("expireIn", 7200))

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        return self._http


def to_markdown(text: str) -> str:
    """Plain text as DingTalk markdown shows it as written: markdown's marks escaped, each
    line break a hard break (two spaces before it), blank lines kept."""
    lines = [_MARKS.sub(r"\\\1", line) for line in text.split("\n")]
    return "\n".join(f"{line}  " if line.strip() else "" for line in lines).rstrip()


def parts(text: str) -> list[str]:
    """A text in pieces each robot message holds (its msgParam within 15,000 bytes)."""
    limit = PART_BYTES
    while True:
        pieces = split(text, limit)
        if all(_param_bytes(piece) <= MSG_PARAM_BYTES for piece in pieces) or limit < 500:
            return pieces
        limit //= 2


def _param_bytes(text: str) -> int:
    param = {"title": _title(text), "text": to_markdown(text)}
    return len(json.dumps(param, ensure_ascii=False).encode())


def card_params(body: dict[str, Any]) -> dict[str, str] | None:
    """A view as the card template's variables (title, markdown, buttons), or None when its
    text is longer than a card holds. The first line is the title, the rest the markdown;
    each button's params carry the core's token."""
    text = plain(body.get("text", "")).strip()
    if len(text.encode()) > CARD_BYTES:
        return None
    title, _, rest = text.partition("\n")
    buttons = [
        {"text": label, "params": {"t": token}}
        for row in (body.get("keyboard") or [])
        for label, token in row
    ]
    if body.get("numbered"):
        buttons = []  # drawn as numbered lines, typed back
    return {
        "title": to_markdown(title),
        "markdown": to_markdown(rest) if rest.strip() else "",
        "buttons": json.dumps(buttons, ensure_ascii=False),
    }


def _title(text: str) -> str:
    line = text.strip().partition("\n")[0].strip() or "…"
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1] + "…"


def _first_line(text: str) -> str:
    line = text.partition("\n")[0]
    return line if len(line) <= 60 else line[:59] + "…"

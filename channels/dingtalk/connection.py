"""DingTalk's Stream mode: the bot's own connection loop around the official SDK's pieces.

What comes from `dingtalk_stream`, and why: its frame classes and `route_message` (it
reads a frame, routes it by type and topic to a handler and writes the handler's ack on
`client.websocket`), its `SystemHandler` (which echoes the gateway's pings), its
`CallbackHandler.raw_process` (which turns a handler's (status, answer) into the ack),
and its `ChatbotMessage` / `CardCallbackMessage` parsing (channels.dingtalk.translate).
What does not: `DingTalkStreamClient.start()`. It registers with blocking `requests`
calls inside the event loop, sleeps a fixed 3 or 10 s between attempts, and catches the
cancellation it would have to obey to stop. So the loop is here, on the bot's own event
loop (nothing in it blocks, so no thread): register through
`POST /v1.0/gateway/connections/open` (aiohttp) for the robot's and the cards' topics,
open the websocket the answer names (`websockets`, with its protocol pings as
keepalive), and route each frame in a task of its own, so a slow one never holds the
frames behind it. On a disconnect notice (the SDK's route closes the socket), a close,
a dropped network or a refused registration, it connects again after a pause that
doubles from 1 s to a minute, back to 1 s after a connection that lasted. Frames from
one person are kept in the order they came (each waits for that person's frame before
it), so "/help" then "hello" never reach the inbox the other way round. `stop()`
cancels the loop and closes the socket; a frame whose event was not kept yet is not
acknowledged, and DingTalk sends it again.

Each handler hands its callback to `receive` and answers STATUS_OK only once that
returned (the event kept by the inbox); if it raises, the answer is a 500 and DingTalk
sends the callback again.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote_plus

import aiohttp
import dingtalk_stream
import websockets
from dingtalk_stream import AckMessage, CallbackHandler, CallbackMessage, ChatbotMessage
from dingtalk_stream.version import VERSION_STRING

log = logging.getLogger(__name__)

BOT_TOPIC = ChatbotMessage.TOPIC  # /v1.0/im/bot/messages/get
CARD_TOPIC = dingtalk_stream.Card_Callback_Router_Topic  # /v1.0/card/instances/callback
OPEN_PATH = "/v1.0/gateway/connections/open"
FIRST_PAUSE, LONGEST_PAUSE = 1.0, 60.0
LASTED = 30.0  # seconds a connection must have stayed up for the pause to start over
PING_INTERVAL, PING_TIMEOUT = 20.0, 20.0  # websocket pings: a dead network within 40 s
STOP_WAIT = 5.0  # seconds stop() lets frames being kept finish

# (topic, frame's messageId, callback's data) -> None once kept; raises when not kept.
Receive = Callable[[str, str, dict[str, Any]], Awaitable[None]]


class _Handler(CallbackHandler):
    """One topic's callbacks handed to the channel; acknowledged once kept."""

    def __init__(self, topic: str, receive: Receive) -> None:
        super().__init__()
        self.logger = logging.getLogger("channels.dingtalk.sdk")
        self.topic, self.receive = topic, receive

    async def process(self, callback: CallbackMessage) -> tuple[int, Any]:
        message_id = str(callback.headers.message_id or "")
        try:
            await self.receive(self.topic, message_id, callback.data)
        except Exception as error:
            log.warning("dingtalk: a callback was not kept (%r); it will come again", error)
            return AckMessage.STATUS_SYSTEM_EXCEPTION, "not kept"
        return AckMessage.STATUS_OK, {} if self.topic == CARD_TOPIC else "OK"


class StreamConnection:
    def __init__(self, client_id: str, client_secret: str, api_base: str, receive: Receive) -> None:
        self.client_id, self.client_secret, self.api_base = client_id, client_secret, api_base
        credential = dingtalk_stream.Credential(client_id, client_secret)
        self.client = dingtalk_stream.DingTalkStreamClient(
            credential, logger=logging.getLogger("channels.dingtalk.sdk")
        )
        self.client.register_callback_handler(BOT_TOPIC, _Handler(BOT_TOPIC, receive))
        self.client.register_callback_handler(CARD_TOPIC, _Handler(CARD_TOPIC, receive))
        self.client.pre_start()
        self._task: asyncio.Task[None] | None = None
        self._frames: set[asyncio.Task[None]] = set()
        self._last: dict[str, asyncio.Task[None]] = {}  # each person's newest frame
        self._connected = asyncio.Event()
        self._http: aiohttp.ClientSession | None = None
        self.connections = 0  # sockets opened so far

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="dingtalk stream")

    def connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self, timeout: float) -> bool:  # noqa: ASYNC109
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._connected.wait()
        return self.connected()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._frames:  # frames being kept: a moment to finish (their acks go nowhere)
            await asyncio.wait(set(self._frames), timeout=STOP_WAIT)
            for frame in list(self._frames):
                frame.cancel()
        if self._http is not None:
            await self._http.close()
            self._http = None
        self._connected.clear()

    async def _run(self) -> None:
        pause = FIRST_PAUSE
        loop = asyncio.get_running_loop()
        while True:
            began = loop.time()
            try:
                await self._connect_once()
                reason = "closed"
            except (OSError, aiohttp.ClientError, websockets.WebSocketException) as error:
                reason = repr(error)
            except ValueError as error:  # an answer that was no JSON
                reason = repr(error)
            finally:
                self._connected.clear()
                self.client.websocket = None
            if loop.time() - began > LASTED:
                pause = FIRST_PAUSE
            log.info("dingtalk: stream connection ended (%s); again in %.0f s", reason, pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE)

    async def _connect_once(self) -> None:
        ticket = await self._open()
        uri = f"{ticket['endpoint']}?ticket={quote_plus(ticket['ticket'])}"
        async with websockets.connect(
            uri, ping_interval=PING_INTERVAL, ping_timeout=PING_TIMEOUT, max_size=2**22
        ) as websocket:
            self.client.websocket = websocket
            self.connections += 1
            self._connected.set()
            log.info("dingtalk: stream connected")
            async for raw in websocket:
                try:
                    frame = json.loads(raw)
                except ValueError:
                    log.warning("dingtalk: a frame that is not JSON")
                    continue
                key = _person(frame)
                task = asyncio.create_task(self._route(websocket, frame, self._last.get(key)))
                self._last[key] = task
                self._frames.add(task)
                task.add_done_callback(self._frames.discard)
                task.add_done_callback(functools.partial(self._forget, key))

    def _forget(self, key: str, done: asyncio.Task[None]) -> None:
        if self._last.get(key) is done:
            del self._last[key]

    async def _route(
        self, websocket: Any, frame: dict[str, Any], after: asyncio.Task[None] | None
    ) -> None:
        """One frame through the SDK's router (which writes its ack), once the same person's
        frame before it was handled; a disconnect notice closes this socket, and the loop
        connects again."""
        if after is not None:
            await asyncio.wait({after})
        try:
            routed = await self.client.route_message(frame)
        except websockets.ConnectionClosed:
            return  # the ack had nowhere to go: DingTalk sends the callback again
        except Exception:
            log.exception("dingtalk: a frame could not be handled")
            return
        if routed == dingtalk_stream.DingTalkStreamClient.TAG_DISCONNECT:
            log.info("dingtalk: the gateway asked to reconnect")
            await websocket.close()

    async def _open(self) -> dict[str, str]:
        """A ticket for one socket, for the robot's and the cards' callbacks."""
        body = {
            "clientId": self.client_id,
            "clientSecret": self.client_secret,
            "subscriptions": [
                {"type": "CALLBACK", "topic": BOT_TOPIC},
                {"type": "CALLBACK", "topic": CARD_TOPIC},
            ],
            "ua": f"techmatch dingtalk-stream/{VERSION_STRING}",
            "localIp": _local_ip(),
        }
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        async with self._http.post(self.api_base + OPEN_PATH, json=body) as response:
            text = await response.text()
            if response.status != 200:
                if response.status in (400, 401, 403):
                    log.error("dingtalk: stream registration refused: %s", text[:300])
                raise aiohttp.ClientResponseError(
                    response.request_info, (), status=response.status, message=text[:200]
                )
            answer = json.loads(text)
        if not isinstance(answer, dict) or not answer.get("endpoint") or not answer.get("ticket"):
            raise ValueError("connections/open answered no endpoint and ticket")
        return {"endpoint": str(answer["endpoint"]), "ticket": str(answer["ticket"])}


def _person(frame: dict[str, Any]) -> str:
    """Whose callback a frame carries (a frame of no one's: its own id)."""
    headers = frame.get("headers") or {}
    fallback = f"frame:{headers.get('messageId', id(frame))}"
    if frame.get("type") != "CALLBACK":
        return fallback
    try:
        data = json.loads(frame.get("data") or "{}")
    except (TypeError, ValueError):
        return fallback
    if not isinstance(data, dict):
        return fallback
    who = data.get("senderStaffId") or data.get("userId")
    return f"person:{who}" if isinstance(who, str) and who else fallback


def _local_ip() -> str:
    """This host's address as DingTalk asks it (a UDP socket sends nothing to connect)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("8.8.8.8", 80))
            return str(probe.getsockname()[0])
    except OSError:
        return ""

"""Feishu's long connection: the official SDK's client, on a thread of its own.

The SDK's client blocks the thread it starts on and binds the event loop it finds at
import (lark-oapi issues 96, 119, 133), so it runs on a thread with a loop of its own and
never touches the bot's. Its handshake, protobuf frames, pings and reconnects are the
SDK's; only what it does with an event frame is the bot's: the SDK would call a
synchronous handler on its own loop, one frame at a time, while the bot's answer to a
click waits for the bot's loop (a toast within Feishu's 3 s). Here each event frame is
handed to the bot's loop and the frame's acknowledgement written once the bot kept the
event, so a slow answer never holds the frames behind it.

When the client gives up (Feishu refused the credentials, or ran out of reconnects) it
is started again after a pause that doubles up to a minute. `stop` closes the
connection: events not yet acknowledged are Feishu's to deliver again.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any

import lark_oapi as lark
from lark_oapi.ws import client as ws_client
from lark_oapi.ws.const import HEADER_BIZ_RT, HEADER_MESSAGE_ID, HEADER_SEQ, HEADER_SUM, HEADER_TYPE
from lark_oapi.ws.enum import MessageType
from lark_oapi.ws.pb.pbbp2_pb2 import Frame

log = logging.getLogger(__name__)

Receive = Callable[[dict[str, Any]], Coroutine[Any, Any, dict[str, Any] | None]]
ANSWER_WAIT = 10.0  # seconds a frame waits for the bot's loop before Feishu is told "failed"
FIRST_PAUSE, LONGEST_PAUSE = 1.0, 60.0


class _ThreadsLoop:
    """Stands for the SDK's module-level loop: each thread's own (set by `_run`), so two
    connections (two apps, or a test's two processes) never schedule on each other's."""

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio.get_event_loop(), name)


THREADS_LOOP = _ThreadsLoop()


class _Client(ws_client.Client):
    """The SDK's client, handing event frames to the bot's loop."""

    def __init__(
        self,
        *args: Any,
        receive: Callable[[bytes], Future[Any]],
        connected: threading.Event,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._hand_over = receive
        self.connected = connected
        self.on_reconnecting = self.connected.clear
        self.on_reconnected = self.connected.set

    async def _connect(self) -> None:
        await super()._connect()
        if self._conn is not None:
            self.connected.set()

    async def _disconnect(self) -> None:
        self.connected.clear()
        await super()._disconnect()

    async def _handle_data_frame(self, frame: Frame) -> None:
        headers = {header.key: header.value for header in frame.headers}
        payload: bytes = frame.payload
        parts = int(headers.get(HEADER_SUM, "1"))
        if parts > 1:  # a long event in pieces: the SDK's own reassembly
            whole = self._combine(
                headers[HEADER_MESSAGE_ID], parts, int(headers.get(HEADER_SEQ, "0")), payload
            )
            if whole is None:
                return
            payload = whole
        if headers.get(HEADER_TYPE) != MessageType.EVENT.value:
            return
        started = time.monotonic()
        try:
            kept = asyncio.wrap_future(self._hand_over(payload))
            result = await asyncio.wait_for(kept, ANSWER_WAIT)
            answer: dict[str, Any] = {"code": 200}
            if result is not None:
                answer["data"] = base64.b64encode(json.dumps(result).encode()).decode()
        except Exception as error:  # not kept: Feishu delivers it again
            log.warning("feishu: an event was not kept (%r); Feishu will send it again", error)
            answer = {"code": 500}
        spent = frame.headers.add()
        spent.key, spent.value = HEADER_BIZ_RT, str(int((time.monotonic() - started) * 1000))
        frame.payload = json.dumps(answer).encode()
        await self._write_message(frame.SerializeToString())


class LongConnection:
    def __init__(self, app_id: str, app_secret: str, domain: str, receive: Receive) -> None:
        self.app_id, self.app_secret, self.domain = app_id, app_secret, domain
        self.receive = receive
        self._bot_loop: asyncio.AbstractEventLoop | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: _Client | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._connected = threading.Event()

    def start(self) -> None:
        self._bot_loop = asyncio.get_running_loop()
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="feishu connection", daemon=True)
        self._thread.start()

    def connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self, timeout: float) -> bool:  # noqa: ASYNC109
        return await asyncio.to_thread(self._connected.wait, timeout)

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    async def stop(self) -> None:
        self._stopping.set()
        loop, thread = self._loop, self._thread
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # closed in between
                loop.call_soon_threadsafe(loop.stop)
        if thread is not None:
            await asyncio.to_thread(thread.join, 10.0)
        self._thread = None

    def _hand_over(self, payload: bytes) -> Future[Any]:
        assert self._bot_loop is not None
        event = json.loads(payload)
        return asyncio.run_coroutine_threadsafe(self.receive(event), self._bot_loop)

    def _run(self) -> None:
        """The SDK's client until stop; started again, after a growing pause, if it ends."""
        pause = FIRST_PAUSE
        while not self._stopping.is_set():
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)  # what the SDK's `loop` stands for on this thread
            ws_client.loop = THREADS_LOOP
            self._loop = loop
            client = _Client(
                self.app_id,
                self.app_secret,
                log_level=lark.LogLevel.WARNING,
                domain=self.domain,
                receive=self._hand_over,
                connected=self._connected,
            )
            self._client = client
            try:
                client.start()
            except RuntimeError:  # stop() stopped the loop under the client
                pass
            except Exception as error:
                log.warning("feishu: the long connection ended (%s); again in %.0f s", error, pause)
            finally:
                client.connected.clear()
                _wind_down(loop, client)
            if self._stopping.wait(pause):
                break
            pause = min(pause * 2, LONGEST_PAUSE)


def _wind_down(loop: asyncio.AbstractEventLoop, client: _Client) -> None:
    """Close the socket and end the client's tasks (its receive loop would reconnect)."""
    client._auto_reconnect = False
    tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in tasks:
        task.cancel()
    with contextlib.suppress(Exception):
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    with contextlib.suppress(Exception):
        loop.run_until_complete(client._disconnect())
    loop.close()

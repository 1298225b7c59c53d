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
STOP_WAIT = 10.0  # seconds stop() keeps stopping the client's loop until its thread ends


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
        stopping: threading.Event,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._hand_over = receive
        self.connected = connected
        self.stopping = stopping
        self.ever_connected = False  # a pause after it ends starts short again
        self.on_reconnecting = self.connected.clear
        self.on_reconnected = self.connected.set

    async def _connect(self) -> None:
        await super()._connect()
        if self._conn is not None:
            self.connected.set()
            self.ever_connected = True

    async def _disconnect(self) -> None:
        self.connected.clear()
        await super()._disconnect()

    async def _reconnect(self) -> None:
        # A stop that interrupts a handshake lands in the SDK's reconnect: not once stopping.
        if self.stopping.is_set():
            raise _Stopped
        await super()._reconnect()

    async def _try_connect(self, cnt: int) -> bool:
        if self.stopping.is_set():
            raise _Stopped
        return bool(await super()._try_connect(cnt))

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
            # Waited for, never cancelled: an event half kept when the wait ends goes on.
            done, _ = await asyncio.wait({kept}, timeout=ANSWER_WAIT)
            if not done:
                raise TimeoutError("the bot's loop did not keep the event in time")
            result = kept.result()
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


class _Stopped(Exception):
    """The connection is being stopped: no reconnecting."""


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
        """Stop the client's loop (again, should it be between two steps of the SDK's)
        until its thread has ended."""
        self._stopping.set()
        thread = self._thread
        deadline = time.monotonic() + STOP_WAIT
        while thread is not None and thread.is_alive() and time.monotonic() < deadline:
            loop = self._loop
            if loop is not None and not loop.is_closed():
                with contextlib.suppress(RuntimeError):  # closed in between
                    loop.call_soon_threadsafe(loop.stop)
            await asyncio.to_thread(thread.join, 0.2)
        self._thread = None

    def _hand_over(self, payload: bytes) -> Future[Any]:
        assert self._bot_loop is not None
        try:
            event = json.loads(payload)
        except ValueError:  # never an event: acknowledged, or Feishu would send it forever
            log.warning("feishu: a frame that is not JSON")
            ignored: Future[Any] = Future()
            ignored.set_result(None)
            return ignored
        return asyncio.run_coroutine_threadsafe(self.receive(event), self._bot_loop)

    def _run(self) -> None:
        """The SDK's client until stop; started again, after a growing pause, if it ends."""
        pause = FIRST_PAUSE
        while not self._stopping.is_set():
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)  # what the SDK's `loop` stands for on this thread
            ws_client.loop = THREADS_LOOP
            self._loop = loop
            if self._stopping.is_set():  # stop() may have looked for the loop just before
                loop.close()
                break
            client = _Client(
                self.app_id,
                self.app_secret,
                log_level=lark.LogLevel.WARNING,
                domain=self.domain,
                receive=self._hand_over,
                connected=self._connected,
                stopping=self._stopping,
            )
            self._client = client
            ended: Exception | None = None
            try:
                client.start()
            except (RuntimeError, _Stopped):  # stop() stopped the loop under the client
                pass
            except Exception as error:
                ended = error
            finally:
                if client.ever_connected:
                    pause = FIRST_PAUSE  # it was up: the next pause starts short again
                client.connected.clear()
                _wind_down(loop, client)
            if ended is not None and not self._stopping.is_set():
                log.warning("feishu: the long connection ended (%s); again in %.0f s", ended, pause)
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

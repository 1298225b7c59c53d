"""The Bot API emulator in a process of its own, driven over a pipe, for bench.throughput.

Telegram is not in the bot's process, so neither is its stand-in here: the bot's
rate and memory are then the bot's alone (the emulator keeps every message, and
its HTML parsing and bookkeeping would be charged to the bot in one process).

    parent (bench.throughput)  --JSON lines on stdin-->   child (this module's main)
                               <--one JSON line each---   BotApiEmulator + load makers
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from channels.telegram.emulator import BotApiEmulator


class RemoteEmulator:
    """The parent's handle: start the child, then ask it to make traffic."""

    def __init__(self) -> None:
        self._child: asyncio.subprocess.Process | None = None
        self.token = ""
        self.base_url = ""

    async def start(self) -> None:
        self._child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.remote_emulator",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=2**24,
        )
        ready = await self._read()
        self.token, self.base_url = ready["token"], ready["base_url"]

    async def call(self, op: str, **arguments: Any) -> dict[str, Any]:
        assert self._child is not None and self._child.stdin is not None
        self._child.stdin.write(json.dumps({"op": op, **arguments}).encode() + b"\n")
        await self._child.stdin.drain()
        return await self._read()

    async def _read(self) -> dict[str, Any]:
        assert self._child is not None and self._child.stdout is not None
        line = await self._child.stdout.readline()
        if not line:
            raise RuntimeError("the emulator process ended")
        answer: dict[str, Any] = json.loads(line)
        return answer

    async def stop(self) -> None:
        if self._child is not None:
            await self.call("stop")
            await self._child.wait()
            self._child = None


class Load:
    """The child's side: users who write and press, on command."""

    def __init__(self, emulator: BotApiEmulator) -> None:
        self.emulator = emulator

    def users(self, first: int, count: int, language: str) -> dict[str, Any]:
        for user_id in range(first, first + count):
            self.emulator.add_user(user_id, f"u{user_id}", language_code=language)
        return {}

    def send(self, first: int, count: int, text: str) -> dict[str, Any]:
        for user_id in range(first, first + count):
            self.emulator.send_message(user_id, text)
        return {}

    def press_first(self, first: int, count: int) -> dict[str, Any]:
        """Each user presses the first button of the newest message the bot sent them."""
        for user_id in range(first, first + count):
            self._press_first(user_id)
        return {}

    def _press_first(self, user_id: int) -> None:
        message = self.emulator.last(user_id)
        self.emulator.press_callback(user_id, message.message_id, message.callback_data[0])

    async def idle(self, timeout: float) -> dict[str, Any]:  # noqa: ASYNC109 (over a pipe)
        """Once every update was confirmed (kept by the bot) and the bot went quiet."""
        await self.emulator.wait_until_idle(timeout=timeout)
        return {}

    def latencies(self, first: int) -> dict[str, Any]:
        """Seconds from each user's update (users from `first` on) to the bot's first answer in
        that chat after it (a message, an edit or a press's answer): what a person waits."""
        waiting: dict[int, float] = {}
        found: list[float] = []
        for event in self.emulator.events():
            chat = event.chat_id
            if chat is None or chat < first:
                continue
            if event.kind in ("user_message", "callback_query"):
                waiting.setdefault(chat, event.at)
            elif chat in waiting and event.kind in ("bot_message", "bot_edit", "callback_answer"):
                found.append(event.at - waiting.pop(chat))
        return {"latencies": found}

    def calls(self) -> dict[str, Any]:
        """Bot API calls answered so far, long polls aside."""
        requests = self.emulator.stats.requests
        return {"calls": sum(n for name, n in requests.items() if name != "getUpdates")}

    async def steady(self, first: int, rate: int, seconds: float) -> dict[str, Any]:
        """New users at `rate` updates per second: each sends /start, and once answered
        presses the consent button, the first (so half the updates are each)."""
        interval, sent, pending = 1 / rate, 0, []
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            answered = [u for u in pending if self.emulator.chat(u)]
            if answered and sent % 2 == 1:
                pending.remove(answered[0])
                self._press_first(answered[0])
            else:
                user_id = first + sent
                self.emulator.add_user(user_id, "u", language_code="en")
                self.emulator.send_message(user_id, "/start")
                pending.append(user_id)
            sent += 1
            await asyncio.sleep(max(0.0, started + sent * interval - time.perf_counter()))
        return {"sent": sent}


async def main() -> None:
    emulator = BotApiEmulator()
    await emulator.start()
    load = Load(emulator)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def answer(value: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(value) + "\n")
        sys.stdout.flush()

    answer({"token": emulator.token, "base_url": emulator.base_url})
    while line := await reader.readline():
        command = json.loads(line)
        op = command.pop("op")
        if op == "stop":
            break
        result = getattr(load, op)(**command)
        answer(await result if asyncio.iscoroutine(result) else result)
    await emulator.stop()
    answer({})


if __name__ == "__main__":
    asyncio.run(main())

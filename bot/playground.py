"""The local playground: the Bot API emulator on 127.0.0.1 with the real bot attached.

`make run` without a token lands here. The terminal becomes a chat client for a
few personas (an enterprise, a specialist, a coordinator); the emulator's HTTP
API under /_emulator/ serves other clients, such as curl.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import re
import signal
import sys
from dataclasses import dataclass

from bot.config import Settings
from bot.emulator import BotApiEmulator
from bot.emulator.models import SentMessage, User
from bot.local import LocalBot
from storage.clock import SystemClock
from storage.migrate import upgrade

COORDINATOR_PERSONA = 1003
HELP = """\
Talk to the bot here as {name} (user {user_id}):
  any text          send it as a message (commands too: /start, /help, ...)
  #N                press button N of the newest message with buttons
  :contact PHONE    share a phone number through Telegram's contact button
  :as ID            play another persona: 1001 enterprise, 1002 specialist, 1003 coordinator
  :quit             stop
Or over HTTP, from another terminal:
  curl -s -X POST {url}/_emulator/users/1001/message \\
       -H 'Content-Type: application/json' -d '{{"text": "/start"}}'
  curl -s {url}/_emulator/chats/1001
"""


@dataclass
class Console:
    """A line-based chat client over the emulator's user side."""

    emulator: BotApiEmulator
    bot: LocalBot
    user: User
    delivered: int = 0

    async def settle(self) -> None:
        await self.bot.processor.wait_processed(self.delivered, timeout=30)
        await self.emulator.wait_until_idle(timeout=30)

    def show(self, since: int) -> None:
        latest: dict[int, SentMessage] = {}
        for event in self.emulator.events(chat_id=self.user.id, since=since):
            if event.message is not None and not event.message.deleted:
                latest[event.message.message_id] = event.message
        for message in latest.values():
            print(f"\n[bot] {plain(message.text)}")
            for number, label in enumerate(message.buttons, 1):
                print(f"   #{number} {label}")

    async def handle(self, line: str) -> bool:
        """One line typed by the person at the terminal; False to stop."""
        mark = self.emulator.mark()
        if line == ":quit":
            return False
        if match := re.fullmatch(r":as\s+(\d+)", line):
            self.user = self.emulator.user(int(match.group(1)))
            print(f"now playing user {self.user.id} ({self.user.first_name})")
            return True
        if match := re.fullmatch(r":contact\s+(\+?[\d\s-]+)", line):
            self.emulator.send_contact(self.user, phone_number=match.group(1).strip())
        elif match := re.fullmatch(r"#(\d+)", line):
            try:
                self.press(int(match.group(1)))
            except LookupError as exc:
                print(exc)
                return True
        else:
            self.emulator.send_message(self.user, line)
        self.delivered += 1
        await self.settle()
        self.show(mark)
        return True

    def press(self, number: int) -> None:
        for message in reversed(self.emulator.chat(self.user.id)):
            if message.buttons and not message.deleted:
                labels = message.buttons
                if not 1 <= number <= len(labels):
                    raise LookupError(f"the newest message has buttons #1-#{len(labels)}")
                data = message.callback_data[number - 1]
                self.emulator.press_callback(self.user, message.message_id, data)
                return
        raise LookupError("no message with buttons yet")


def plain(text: str) -> str:
    """Telegram HTML as terminal text."""
    return html.unescape(re.sub(r"</?[a-z-]+[^>]*>", "", text))


async def serve(settings: Settings) -> None:
    """Run the emulator and the bot until interrupted."""
    upgrade(settings.database_url)
    settings = settings.model_copy(
        update={"coordinator_ids": settings.coordinator_ids | {COORDINATOR_PERSONA}}
    )
    emulator = BotApiEmulator()
    await emulator.start(port=settings.playground_port)
    emulator.add_user(1001, "企业用户", language_code="zh-hans")
    emulator.add_user(1002, "专家", language_code="zh-hans")
    emulator.add_user(COORDINATOR_PERSONA, "Coordinator", language_code="en")
    bot = LocalBot(settings, emulator, SystemClock())
    await bot.start()
    console = Console(emulator, bot, emulator.user(1001))
    print(f"Bot API emulator: {emulator.url}  (no Telegram token needed)")
    print(HELP.format(name=console.user.first_name, user_id=console.user.id, url=emulator.url))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        if sys.stdin.isatty():
            await _chat(console, stop)
        else:
            await stop.wait()
    finally:
        await bot.stop()
        await emulator.stop()


async def _chat(console: Console, stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        reader = loop.run_in_executor(None, sys.stdin.readline)
        stopper = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait({reader, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if reader not in done:
            return
        line = reader.result()
        if not line:  # end of input
            return
        with contextlib.suppress(ValueError):
            if line.strip() and not await console.handle(line.strip()):
                return

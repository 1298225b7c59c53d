"""End-to-end harness: the real Application polling the project's Bot API emulator over HTTP.

A test plays users: `journey.send(user, text)` and `journey.press(user, label)`
return what the bot sent or edited in that user's chat in reaction, after the
bot has finished processing (counted by its update processor, not guessed
with sleeps). `journey.restart()` stops the bot like a process exit and starts
a new one on the same database.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from bot.config import Settings
from bot.emulator import BotApiEmulator
from bot.emulator.models import SentMessage, User
from bot.local import LocalBot
from bot.runner import BotProcess
from storage.clock import ManualClock
from storage.db import Database

COORDINATOR_ID = 900_001
SETTLE_TIMEOUT = 15.0
TOKEN = "123456:" + "T" * 35  # shaped like a real token, so Settings accept it
WEBHOOK_SECRET = "s3cret-" + "x" * 25


@dataclass
class Journey:
    emulator: BotApiEmulator
    bot: LocalBot
    db: Database
    clock: ManualClock
    delivered: int = 0  # updates sent to the current bot process
    users: dict[str, User] = field(default_factory=dict)

    def user(self, user_id: int, name: str = "测试", language_code: str | None = "zh-hans") -> User:
        return self.emulator.add_user(user_id=user_id, first_name=name, language_code=language_code)

    async def settle(self) -> None:
        """Wait until the bot processed everything it was sent and went quiet."""
        await self.bot.processor.wait_processed(self.delivered, SETTLE_TIMEOUT)
        await self.emulator.wait_until_idle(timeout=SETTLE_TIMEOUT)

    def reactions(self, user: User, mark: int) -> list[SentMessage]:
        """Messages the bot sent or edited in the user's chat since mark, newest state, in order."""
        seen: dict[int, SentMessage] = {}
        for event in self.emulator.events(chat_id=user.id, since=mark):
            if event.message is not None:
                seen[event.message.message_id] = event.message
        return list(seen.values())

    async def act(self, user: User, deliver: Callable[[], object]) -> list[SentMessage]:
        """One thing the user does (deliver queues its update); what the bot did in reaction."""
        mark = self.emulator.mark()
        deliver()
        self.delivered += 1
        await self.settle()
        return self.reactions(user, mark)

    async def send(self, user: User, text: str) -> list[SentMessage]:
        return await self.act(user, lambda: self.emulator.send_message(user, text))

    async def share_contact(self, user: User, phone: str) -> list[SentMessage]:
        return await self.act(user, lambda: self.emulator.send_contact(user, phone_number=phone))

    async def send_sticker(self, user: User) -> list[SentMessage]:
        return await self.act(user, lambda: self.emulator.send_sticker(user))

    async def send_photo(self, user: User) -> list[SentMessage]:
        return await self.act(user, lambda: self.emulator.send_photo(user))

    async def send_voice(self, user: User) -> list[SentMessage]:
        return await self.act(user, lambda: self.emulator.send_voice(user))

    async def press(
        self, user: User, label: str, message_id: int | None = None
    ) -> list[SentMessage]:
        return await self.act(user, lambda: self.emulator.press_button(user, label, message_id))

    async def press_data(self, user: User, message_id: int, data: str) -> list[SentMessage]:
        return await self.act(user, lambda: self.emulator.press_callback(user, message_id, data))

    def answers(self, user: User) -> list[str | None]:
        """Texts of the callback answers (toasts) the user got, in order."""
        return [answer.text for answer in self.emulator.callback_answers(chat_id=user.id)]

    async def restart(self) -> None:
        await self.bot.restart()
        self.delivered = 0


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    emulator = BotApiEmulator(token=TOKEN)
    await emulator.start()
    yield emulator
    await emulator.stop()


@pytest.fixture
def flood_limit() -> int:
    """Journeys click faster than people; the flood test sets the production limit."""
    return 10_000


@pytest.fixture
def settings(database_url: str, flood_limit: int) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        coordinator_ids=frozenset({COORDINATOR_ID}),
        default_locale="zh_CN",
        flood_limit=flood_limit,
    )


@pytest.fixture
async def journey(
    settings: Settings, emulator: BotApiEmulator, db: Database, clock: ManualClock
) -> AsyncIterator[Journey]:
    bot = LocalBot(settings, emulator, clock)
    await bot.start()
    yield Journey(emulator=emulator, bot=bot, db=db, clock=clock)
    await bot.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def webhook_env(database_url: str, emulator: BotApiEmulator, port: int) -> dict[str, str]:
    """The environment of a production webhook process talking to the emulator."""
    return {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": emulator.base_url,
        "DATABASE_URL": database_url,
        "WEBHOOK_URL": f"http://127.0.0.1:{port}",
        "WEBHOOK_PORT": str(port),
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "COORDINATOR_IDS": str(COORDINATOR_ID),
    }


@pytest.fixture
def rate_limit() -> bool:
    """PTB's rate limiter, as in production; a test may override this fixture."""
    return True


@pytest.fixture
async def webhook_process(
    database_url: str, emulator: BotApiEmulator, rate_limit: bool
) -> AsyncIterator[BotProcess]:
    """The production process in webhook mode, in this test's event loop."""
    env = webhook_env(database_url, emulator, free_port())
    settings = Settings(_env_file=None, **{k.lower(): v for k, v in env.items()})  # type: ignore[arg-type]
    process = BotProcess(settings, webhook=True, rate_limit=rate_limit)
    await process.start()
    yield process
    await process.stop()

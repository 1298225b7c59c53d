"""Faults survived, not fatal: the bot as its own process (`python -m bot run`, polling the
emulator over HTTP) killed with SIGKILL in a burst and in a round, and its database taken
away for seconds; what people receive is counted afterwards, message by message.

What must hold: every update the bot confirmed to Telegram is answered; every proposal
stored reaches its specialist; nothing the bot had not kept is lost, because Telegram
keeps what was not confirmed. Each is applied exactly once. A message arrives twice only
if it was on its way to Telegram at the very moment of the kill (Telegram has no key to
recognise a repeat, so the next process cannot know it went out): the tests check that
every repeat is such a message, one the outbox shows was handed to Telegram twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import signal
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import aiohttp
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bench.proposals import seed
from channels.telegram.emulator import BotApiEmulator
from storage.db import Database
from storage.models import OutboxMessage
from tests.e2e.conftest import COORDINATOR_ID, TOKEN, free_port, spawn_bot

CONSENT = "What we keep"


def child_env(database_url: str, emulator: BotApiEmulator, **extra: str) -> dict[str, str]:
    """A production process polling the emulator, leases short so a killed process's
    messages are taken over in seconds, the deadline tick (which sends stored proposals)
    every second."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("WEBHOOK_URL", "WEBHOOK_SECRET", "HEALTH_PORT")
    }
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=emulator.base_url,
        DATABASE_URL=database_url,
        COORDINATOR_IDS=str(COORDINATOR_ID),
        LOG_LEVEL="WARNING",
        OUTBOX_LEASE_SECONDS="2",
        DEADLINE_TICK_SECONDS="1",
    )
    env.update(extra)
    return env


async def spawn(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await spawn_bot("run", env)


async def finish(child: asyncio.subprocess.Process) -> str:
    """SIGTERM, and what the process said."""
    if child.returncode is None:
        child.send_signal(signal.SIGTERM)
    output, _ = await asyncio.wait_for(child.communicate(), timeout=60)
    return output.decode()


async def until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 (the emulator's state, changed by another process)
            await asyncio.sleep(0.05)
    assert condition(), what


@pytest.fixture
async def children() -> AsyncIterator[list[asyncio.subprocess.Process]]:
    """Bot processes a test starts; none outlives it."""
    started: list[asyncio.subprocess.Process] = []
    yield started
    for child in started:
        if child.returncode is None:
            child.kill()
            await child.wait()


def counts(emulator: BotApiEmulator, chat_ids: list[int], words: str) -> dict[int, int]:
    """How many messages in each chat hold these words."""
    return {chat: sum(words in m.text for m in emulator.chat(chat)) for chat in chat_ids}


async def test_kill_9_in_a_burst_of_300_updates_answers_each_once(
    database_url: str, emulator: BotApiEmulator, children: list[asyncio.subprocess.Process]
) -> None:
    users = [emulator.add_user(20_000 + i, f"u{i}", language_code="en") for i in range(300)]
    for user in users:
        emulator.send_message(user, "/start")
    env = child_env(database_url, emulator)
    children.append(await spawn(env))
    await until(lambda: emulator.stats.sent["sendMessage"] >= 60, 60, "the burst began")
    children[0].kill()
    await children[0].wait()
    at_kill = emulator.stats.sent["sendMessage"]
    assert at_kill < 300, "the kill came after all work was done: nothing was tested"

    children.append(await spawn(env))
    ids = [user.id for user in users]
    await until(lambda: all(counts(emulator, ids, "").values()), 120, "everyone answered")
    await asyncio.sleep(3)  # a lease running out could still send one twice: wait past it
    output = await finish(children[1])
    answered = counts(emulator, ids, CONSENT)
    assert 0 not in answered.values(), output
    assert repeated(answered) <= await in_flight_at_the_kill(database_url), output


def repeated(received: dict[int, int]) -> set[str]:
    return {str(chat) for chat, n in received.items() if n > 1}


async def in_flight_at_the_kill(database_url: str) -> set[str]:
    """Chats whose message was handed to Telegram twice: held by the killed process when it
    died, then sent again by the next once the hold ran out."""
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            rows = await session.execute(
                select(OutboxMessage.address).where(OutboxMessage.attempts > 1)
            )
            return set(rows.scalars())
    finally:
        await db.dispose()


async def seed_round(db: Database, emulator: BotApiEmulator, count: int) -> list[int]:
    """`count` approved specialists with a proposal each, none sent yet."""
    chats = [41_000 + i for i in range(count)]
    for i, chat in enumerate(chats):
        emulator.add_user(chat, f"专家{i}", language_code="zh-hans", started=True)
    await seed(db, dt.datetime.now(dt.UTC), 40_000, chats)
    return chats


async def test_kill_9_while_a_round_goes_out_every_proposal_arrives_once(
    database_url: str,
    db: Database,
    emulator: BotApiEmulator,
    children: list[asyncio.subprocess.Process],
) -> None:
    chats = await seed_round(db, emulator, 200)
    env = child_env(database_url, emulator)
    children.append(await spawn(env))
    card = "📋"
    await until(lambda: sum(counts(emulator, chats, card).values()) >= 60, 60, "the round began")
    children[0].kill()
    await children[0].wait()
    at_kill = sum(counts(emulator, chats, card).values())
    assert at_kill < 200, "the kill came after all work was done: nothing was tested"

    children.append(await spawn(env))
    await until(lambda: all(counts(emulator, chats, card).values()), 120, "every card sent")
    await asyncio.sleep(3)  # past the lease: a card held by the killed process comes once
    output = await finish(children[1])
    received = counts(emulator, chats, card)
    assert 0 not in received.values(), output
    assert repeated(received) <= await in_flight_at_the_kill(database_url), output


class Cuttable:
    """A TCP proxy in front of PostgreSQL that can refuse connections and break open ones,
    as a database server that restarts or a network that fails."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.cut = False
        self.pipes: set[asyncio.StreamWriter] = set()
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.pipes |= {writer, up_writer}

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
        self.pipes -= {writer, up_writer}

    def down(self) -> None:
        self.cut = True
        for pipe in list(self.pipes):
            pipe.close()

    def up(self) -> None:
        self.cut = False

    async def stop(self) -> None:
        self.down()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


@dataclass
class Outage:
    url: str  # what the bot should use
    take: Callable[[], object]  # the database goes away
    give_back: Callable[[], object]  # and comes back


@contextlib.asynccontextmanager
async def outage_of(database_url: str) -> AsyncIterator[Outage]:
    """A database that can be taken away and given back: PostgreSQL behind a proxy that
    refuses connections and cuts those open, or SQLite's write lock held by another process
    far past the bot's busy timeout."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        holder = sqlite3.connect(str(url.database), isolation_level=None, timeout=30)

        def release() -> None:
            if holder.in_transaction:
                holder.execute("ROLLBACK")

        try:
            yield Outage(database_url, lambda: holder.execute("BEGIN IMMEDIATE"), release)
        finally:
            release()
            holder.close()
        return
    proxy = Cuttable((url.host or "127.0.0.1", url.port or 5432))
    port = await proxy.start()
    try:
        yield Outage(url.set(port=port).render_as_string(hide_password=False), proxy.down, proxy.up)
    finally:
        await proxy.stop()


async def health(port: int) -> int:
    async with aiohttp.ClientSession() as session:
        try:
            async with session.get(
                f"http://127.0.0.1:{port}/healthz", timeout=aiohttp.ClientTimeout(total=10)
            ) as response:
                return response.status
        except (aiohttp.ClientError, TimeoutError):
            return 0


async def test_the_database_away_for_seconds_stops_nothing_for_good(
    database_url: str, emulator: BotApiEmulator, children: list[asyncio.subprocess.Process]
) -> None:
    health_port = free_port()
    async with outage_of(database_url) as outage:
        env = child_env(outage.url, emulator, HEALTH_PORT=str(health_port))
        children.append(await spawn(env))
        early = emulator.add_user(21_000, "early", language_code="en")
        emulator.send_message(early, "/start")
        await until(lambda: bool(emulator.chat(early.id)), 30, "the bot answered")
        assert await health(health_port) == 200

        outage.take()
        users = [emulator.add_user(21_001 + i, f"u{i}", language_code="en") for i in range(10)]
        for user in users:
            emulator.send_message(user, "/start")
        await asyncio.sleep(4)
        status_in_outage = await health(health_port)
        assert not any(emulator.chat(user.id) for user in users)

        outage.give_back()  # everyone is answered, once, and the bot says it is healthy
        ids = [user.id for user in users]
        await until(lambda: all(counts(emulator, ids, CONSENT).values()), 60, "answered after")
        assert status_in_outage == 503
        await until_healthy(health_port)
        output = await finish(children[0])
    assert set(counts(emulator, ids, CONSENT).values()) == {1}, output
    assert children[0].returncode == 0, output


async def until_healthy(port: int) -> None:
    async with asyncio.timeout(30):
        while await health(port) != 200:  # noqa: ASYNC110 (another process)
            await asyncio.sleep(0.2)

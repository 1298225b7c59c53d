"""Two bot processes in webhook mode behind a round-robin proxy, on one database:
no update is processed twice (some are even delivered to both), and each job
slot runs once."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select

from channels.telegram.emulator import BotApiEmulator
from storage.db import Database
from storage.models import Dialogue, InboxEvent, JobRun, User
from tests.e2e.conftest import free_port, spawn_bot, webhook_env

USERS = 60


class RoundRobin:
    """A load balancer stand-in: alternates backends; every fifth update goes to both,
    as a retrying balancer or Telegram's own retry would deliver it twice."""

    def __init__(self, backends: list[int]) -> None:
        self.backends = itertools.cycle(backends)
        self.all = backends
        self.count = 0
        self.app = web.Application()
        self.app.router.add_post("/telegram", self.forward)

    async def forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {
            "X-Telegram-Bot-Api-Secret-Token": request.headers.get(
                "X-Telegram-Bot-Api-Secret-Token", ""
            )
        }
        self.count += 1
        targets = self.all if self.count % 5 == 0 else [next(self.backends)]
        async with aiohttp.ClientSession() as session:
            for port in targets:
                async with session.post(
                    f"http://127.0.0.1:{port}/telegram", data=body, headers=headers
                ) as reply:
                    status = reply.status
        return web.Response(status=status)


@pytest.fixture
async def balancer() -> AsyncIterator[tuple[RoundRobin, int, list[int]]]:
    backends = [free_port(), free_port()]
    proxy = RoundRobin(backends)
    runner = web.AppRunner(proxy.app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield proxy, port, backends
    await runner.cleanup()


async def stop_all(children: list[asyncio.subprocess.Process]) -> list[str]:
    """SIGTERM to each process still running; what each said."""
    for child in children:
        if child.returncode is None:
            child.send_signal(signal.SIGTERM)
    return [
        (await asyncio.wait_for(child.communicate(), timeout=30))[0].decode() for child in children
    ]


async def start_process(
    database_url: str, emulator: BotApiEmulator, proxy_port: int, port: int
) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        **webhook_env(database_url, emulator, port),
        "WEBHOOK_URL": f"http://127.0.0.1:{proxy_port}",  # both register the balancer's address
        "DEADLINE_TICK_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
    }
    return await spawn_bot("webhook", env)


async def test_two_processes_share_the_work_and_do_each_thing_once(
    database_url: str,
    db: Database,
    emulator: BotApiEmulator,
    balancer: tuple[RoundRobin, int, list[int]],
) -> None:
    proxy, proxy_port, backends = balancer
    children = [await start_process(database_url, emulator, proxy_port, port) for port in backends]
    try:
        async with asyncio.timeout(30):
            while emulator.stats.requests["setWebhook"] < 2:  # noqa: ASYNC110 (a child's side effect)
                await asyncio.sleep(0.05)
        users = [emulator.add_user(8000 + i, f"u{i}", language_code="en") for i in range(USERS)]
        for user in users:
            emulator.send_message(user, "/start")
            emulator.send_message(user, "/help")
            emulator.send_message(user, "hello")
        for user in users:
            await emulator.wait_for_message(
                user.id, lambda m: "did not understand" in m.text or "buttons" in m.text, timeout=60
            )
        await asyncio.sleep(2.5)  # let both processes' 1-second deadline ticks fire a few times
    finally:
        outputs = await stop_all(children)
    assert [child.returncode for child in children] == [0, 0], outputs

    assert proxy.count == 3 * USERS and emulator.stats.webhook_deliveries == 3 * USERS
    # Each update answered once although a fifth of them reached both processes. (A user's
    # updates may be handled in either order by the two processes, so "hello" may meet the
    # consent question or nothing; /start and /help are answered exactly once each.)
    for user in users:
        texts = [m.text for m in emulator.chat(user.id)]
        hints = sum(t == "Please use the buttons of the message above." for t in texts)
        assert hints <= 1 and sum("What we keep" in t for t in texts) == 1 + hints, texts
        assert sum(t.startswith("You have not chosen a side yet") for t in texts) == 1, texts
    async with db.transaction() as session:
        processed = (
            await session.execute(
                select(func.count()).select_from(InboxEvent).where(InboxEvent.state == "done")
            )
        ).scalar_one()
        users_stored = (await session.execute(select(func.count()).select_from(User))).scalar_one()
        runs = (await session.execute(select(JobRun.name, JobRun.slot, JobRun.finished_at))).all()
    assert processed == 3 * USERS and users_stored == USERS
    deadline_runs = [r for r in runs if r.name == "proposal_deadlines"]
    assert deadline_runs, "no deadline tick ran: the once-per-slot check proved nothing"
    assert len({r.slot for r in deadline_runs}) == len(deadline_runs)  # one run per slot
    assert all(r.finished_at is not None for r in deadline_runs)


async def test_one_person_typing_fast_across_two_processes_keeps_their_answers_in_order(
    database_url: str,
    db: Database,
    emulator: BotApiEmulator,
    balancer: tuple[RoundRobin, int, list[int]],
) -> None:
    """Two answers typed back to back reach different processes: each is applied in the
    order it arrived, to the question it answers (no name taken for an institution)."""
    _, proxy_port, backends = balancer
    children = [await start_process(database_url, emulator, proxy_port, port) for port in backends]
    people = 20
    try:
        async with asyncio.timeout(30):
            while emulator.stats.requests["setWebhook"] < 2:  # noqa: ASYNC110 (a child's side effect)
                await asyncio.sleep(0.05)
        users = [emulator.add_user(8500 + i, f"p{i}", language_code="en") for i in range(people)]
        for user in users:
            emulator.send_message(user, "/start")
        for label in ("✅ I agree", "English", "🎓 Specialist (offers expertise)"):
            for user in users:
                await emulator.wait_for_message(
                    user.id, lambda m, label=label: label in m.buttons, timeout=60, after=0
                )
                emulator.press_button(user, label)
        for user in users:
            await emulator.wait_for_message(
                user.id, lambda m: m.text == "Your full name:", timeout=60, after=0
            )
        for n, user in enumerate(users):
            emulator.send_message(user, f"Name Number{n}")
            emulator.send_message(user, f"Institute Number{n}")
        for user in users:
            await emulator.wait_for_message(
                user.id, lambda m: m.text.startswith("Type of institution"), timeout=60, after=0
            )
    finally:
        outputs = await stop_all(children)
    assert [child.returncode for child in children] == [0, 0], outputs
    async with db.transaction() as session:
        drafts = {
            row.data["name"]: row.data.get("institution")
            for row in (await session.execute(select(Dialogue))).scalars()
        }
    assert drafts == {f"Name Number{n}": f"Institute Number{n}" for n in range(people)}

"""Telegram may deliver an update again (a lost confirmation, a webhook retry, a crash):
a thousand updates delivered twice, the repeats shuffled, have the effects of one delivery."""

from __future__ import annotations

import asyncio
import random

import aiohttp
from sqlalchemy import func, select

from bot.runner import BotProcess
from channels.telegram.emulator import BotApiEmulator
from storage.models import Dialogue, InboxEvent, User
from tests.e2e.conftest import WEBHOOK_SECRET

USERS = 250


TEXTS = ("/start", "/help", "你好", "/language")  # four updates per user, all with effects


async def counts(process: BotProcess) -> tuple[int, int, int]:
    async with process.db.transaction() as session:
        users = (await session.execute(select(func.count()).select_from(User))).scalar_one()
        dialogues = (await session.execute(select(func.count()).select_from(Dialogue))).scalar_one()
        seen = (await session.execute(select(func.count()).select_from(InboxEvent))).scalar_one()
    return users, dialogues, seen


async def test_a_thousand_updates_delivered_twice_act_once(
    webhook_process: BotProcess, emulator: BotApiEmulator
) -> None:
    updates = []
    for i in range(USERS):
        user = emulator.add_user(6000 + i, f"u{i}", language_code="en")
        updates += [emulator.send_message(user, text) for text in TEXTS]
    assert len(updates) == 1000
    await emulator.wait_until_idle(timeout=120)
    await webhook_process.core.wait_idle(120)
    await emulator.wait_until_idle(timeout=30)
    sent_once = emulator.stats.sent["sendMessage"]
    after_once = await counts(webhook_process)
    # /start, /help and /language answer once each; 你好 mid-dialogue gets a hint and the question again.
    assert sent_once == 5 * USERS and after_once == (USERS, USERS, 1000)

    replay = updates[:]
    random.Random(7).shuffle(replay)
    url = f"http://127.0.0.1:{webhook_process.port}/telegram"
    headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
    async with aiohttp.ClientSession() as session:
        for update in replay:
            async with session.post(url, json=update, headers=headers) as response:
                assert response.status == 200
    await webhook_process.core.wait_idle(120)
    await emulator.wait_until_idle(timeout=30)
    await asyncio.sleep(0)
    assert emulator.stats.sent["sendMessage"] == sent_once
    assert await counts(webhook_process) == after_once

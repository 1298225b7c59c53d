"""Webhook mode, health and metrics, and a graceful stop: the production process shape."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import aiohttp

from bot.emulator import BotApiEmulator
from bot.runner import BotProcess
from tests.e2e.conftest import WEBHOOK_SECRET, free_port, webhook_env

ROOT = Path(__file__).resolve().parents[2]


async def test_updates_arrive_by_webhook_with_the_secret(
    webhook_process: BotProcess, emulator: BotApiEmulator
) -> None:
    user = emulator.add_user(4001, "Webhook", language_code="en")
    emulator.send_message(user, "/start")
    await webhook_process.processor.wait_processed(1, timeout=10)
    await emulator.wait_until_idle()
    assert "What we keep" in emulator.last(user.id).text
    assert emulator.stats.webhook_deliveries == 1


async def test_a_wrong_secret_is_refused_and_nothing_is_queued(webhook_process: BotProcess) -> None:
    url = f"http://127.0.0.1:{webhook_process.port}/telegram"
    update = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 5, "type": "private"},
            "text": "/start",
        },
    }
    async with aiohttp.ClientSession() as session:
        for headers in (
            {},
            {"X-Telegram-Bot-Api-Secret-Token": "wrong"},
            {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET[:-1]},
        ):
            async with session.post(url, json=update, headers=headers) as response:
                assert response.status == 403
    await asyncio.sleep(0)  # let anything wrongly queued start
    assert (
        webhook_process.application.update_queue.qsize() == 0
        and webhook_process.processor.processed == 0
    )


async def test_health_and_metrics(webhook_process: BotProcess, emulator: BotApiEmulator) -> None:
    base = f"http://127.0.0.1:{webhook_process.port}"
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/healthz") as response:
            health = await response.json()
        assert response.status == 200
        assert (
            health["database"] == "ok"
            and health["scheduler"] == "running"
            and health["last_update_at"] is None
        )

        user = emulator.add_user(4002, "Metrics", language_code="zh-hans")
        emulator.send_message(user, "/start")
        await webhook_process.processor.wait_processed(1, timeout=10)
        await emulator.wait_until_idle()

        async with session.get(f"{base}/healthz") as response:
            assert (await response.json())["last_update_at"] is not None
        async with session.get(f"{base}/metrics") as response:
            text = await response.text()
    assert 'techmatch_updates_total{type="message"} 1.0' in text
    assert 'techmatch_bot_requests_total{method="sendMessage"} 1.0' in text
    assert 'techmatch_proposals{state="proposed"} 0.0' in text
    assert "techmatch_handler_seconds_bucket" in text and "techmatch_telegram_429_total 0.0" in text


async def test_sigterm_during_a_load_finishes_what_was_received(
    database_url: str, emulator: BotApiEmulator
) -> None:
    port = free_port()
    env = {**os.environ, **webhook_env(database_url, emulator, port), "LOG_LEVEL": "WARNING"}
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "webhook",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with asyncio.timeout(30):
            # The child process gives no other sign that it registered its webhook.
            while emulator.stats.requests["setWebhook"] == 0:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        users = [emulator.add_user(4100 + i, f"u{i}", language_code="en") for i in range(40)]
        for user in users:
            emulator.send_message(user, "/start")
        await emulator.wait_for_message(users[4].id, timeout=30)  # a few answered, most queued
        stopped_at = time.monotonic()
        child.send_signal(signal.SIGTERM)
        answered_at_signal = emulator.stats.sent["sendMessage"]
        output, _ = await asyncio.wait_for(child.communicate(), timeout=30)
    finally:
        if child.returncode is None:
            child.kill()
    assert child.returncode == 0, output.decode()
    assert time.monotonic() - stopped_at < 30
    # Every update the process accepted was answered; the rest stay with Telegram for later.
    delivered = emulator.stats.webhook_deliveries
    assert 5 <= delivered <= 40
    assert answered_at_signal < delivered, (
        "the stop came after all work was done: nothing was tested"
    )
    assert emulator.stats.sent["sendMessage"] == delivered

"""Webhook mode, health and metrics, and a graceful stop: the production process shape."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import aiohttp
from sqlalchemy import text

from bot.runner import BotProcess
from channels.telegram.emulator import BotApiEmulator
from storage.inbox import inbox_depth
from storage.migrate import head_revision
from tests.e2e.conftest import WEBHOOK_SECRET, free_port, spawn_bot, webhook_env


async def test_updates_arrive_by_webhook_with_the_secret(
    webhook_process: BotProcess, emulator: BotApiEmulator
) -> None:
    user = emulator.add_user(4001, "Webhook", language_code="en")
    emulator.send_message(user, "/start")
    await emulator.wait_until_idle()
    await webhook_process.core.wait_idle(10)
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
    await asyncio.sleep(0)  # let anything wrongly kept start
    assert webhook_process.core.inbox.stats.accepted == 0
    assert (await inbox_depth(db=webhook_process.db)).waiting == 0


async def test_health_and_metrics(webhook_process: BotProcess, emulator: BotApiEmulator) -> None:
    base = f"http://127.0.0.1:{webhook_process.port}"
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/healthz") as response:
            health = await response.json()
        assert response.status == 200
        assert health == {
            "database": "ok",
            "schema": "current",
            "oldest_event_wait_seconds": 0.0,
            "inbox": "running",
            "delivery": "running",
            "scheduler": "running",
            "channel_telegram": "receiving",
            "events_applied": 0,
            "last_event_at": None,
        }

        user = emulator.add_user(4002, "Metrics", language_code="zh-hans")
        emulator.send_message(user, "/start")
        await emulator.wait_until_idle()
        await webhook_process.core.wait_idle(10)
        await emulator.wait_until_idle()

        async with session.get(f"{base}/healthz") as response:
            health = await response.json()
        assert health["last_event_at"] is not None and health["events_applied"] == 1
        async with session.get(f"{base}/metrics") as response:
            text = await response.text()
    assert 'techmatch_events_total{kind="command",platform="telegram"} 1.0' in text
    assert (
        'techmatch_deliveries_total{kind="send",outcome="delivered",platform="telegram"} 1.0'
        in text
    )
    assert 'techmatch_proposals{state="proposed"} 0.0' in text
    assert "techmatch_event_seconds_bucket" in text
    assert "techmatch_inbox_waiting 0.0" in text and "techmatch_outbox_waiting 0.0" in text
    assert "techmatch_outbox_failed 0.0" in text


async def test_sigterm_during_a_load_finishes_what_was_received(
    database_url: str, emulator: BotApiEmulator
) -> None:
    port = free_port()
    env = {**os.environ, **webhook_env(database_url, emulator, port), "LOG_LEVEL": "WARNING"}
    child = await spawn_bot("webhook", env)
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


async def post(port: int, body: bytes) -> int:
    headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"http://127.0.0.1:{port}/telegram", data=body, headers=headers) as reply,
    ):
        return reply.status


async def test_bodies_that_are_no_update_get_400_and_a_message_without_a_chat_is_ignored(
    webhook_process: BotProcess,
) -> None:
    port = webhook_process.port
    assert port is not None
    for body in (b"[1, 2]", b"42", b'"text"', b"null", b"{not json", b"\xff\xfe"):
        assert await post(port, body) == 400, body
    orphan = b'{"update_id": 5, "message": {"message_id": 1, "date": 0, "text": "hi"}}'
    assert await post(port, orphan) == 200
    assert await post(port, b'{"update_id": 6}') == 200  # a kind of update the bot ignores
    assert webhook_process.core.inbox.stats.accepted == 0


async def test_a_client_that_stalls_its_body_is_cut_off(webhook_process: BotProcess) -> None:
    webhook_process.core.channels["telegram"].body_timeout = 0.5  # type: ignore[attr-defined]
    reader, writer = await asyncio.open_connection("127.0.0.1", webhook_process.port)
    writer.write(
        b"POST /telegram HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"X-Telegram-Bot-Api-Secret-Token: " + WEBHOOK_SECRET.encode() + b"\r\n"
        b'Content-Length: 100\r\n\r\n{"update_id": '
    )
    await writer.drain()
    status = await asyncio.wait_for(reader.readline(), timeout=5)
    writer.close()
    assert status.startswith(b"HTTP/1.1 408")


async def test_health_turns_503_when_the_schema_is_behind(
    webhook_process: BotProcess,
) -> None:
    base = f"http://127.0.0.1:{webhook_process.port}"
    async with webhook_process.db.transaction() as session:
        await session.execute(text("UPDATE alembic_version SET version_num = '0007'"))
    async with aiohttp.ClientSession() as session, session.get(f"{base}/healthz") as response:
        body = await response.json()
    assert response.status == 503 and body["schema"] == "outdated (0007)"


async def test_an_unmigrated_database_stops_start_up_with_one_clear_line(
    tmp_path: Path, emulator: BotApiEmulator
) -> None:
    env = {
        **os.environ,
        **webhook_env(f"sqlite:///{tmp_path / 'empty.db'}", emulator, free_port()),
    }
    child = await spawn_bot("webhook", env, stderr=asyncio.subprocess.PIPE)
    _, errors = await asyncio.wait_for(child.communicate(), timeout=30)
    assert child.returncode == 2
    assert errors.decode().strip() == (
        f"database error: the database is at migration none, this code needs {head_revision()}:"
        " run `python -m bot migrate` first"
    )
    assert emulator.stats.requests["setWebhook"] == 0  # it never told Telegram it was there

"""When a flow fails, nothing it did is kept or sent, the person hears about it in their
language and coordinators get a short report; a platform that is busy delays a message,
one that refuses it for good gets it reported, never silently dropped."""

from __future__ import annotations

import asyncio

import pytest

from handlers.core.chat import Chat
from tests.e2e.conftest import COORDINATOR_ID, Journey


def attach_failing_command(journey: Journey) -> None:
    async def fails_half_way(chat: Chat) -> None:
        await chat.reply("half of an answer")
        raise RuntimeError("the flow broke")

    async def bad_markup(chat: Chat) -> None:
        await chat.reply("<b>never closed")

    assert journey.bot.core is not None
    journey.bot.core.router.command("boom", fails_half_way)
    journey.bot.core.router.command("badmarkup", bad_markup)


async def test_a_failing_flow_sends_nothing_of_its_own_and_is_reported(journey: Journey) -> None:
    attach_failing_command(journey)
    user = journey.user(3001, "Ann", "en")
    coordinator = journey.user(COORDINATOR_ID, "Coordinator", "zh-hans")
    await journey.send(coordinator, "/start")  # Telegram lets a bot write only to people who wrote
    [apology] = await journey.send(user, "/boom")
    assert (
        apology.text
        == "Sorry, something went wrong and the coordinators have been told. Please try again later."
    )
    report = journey.emulator.last(COORDINATOR_ID)
    assert report.text == "⚠️ 处理消息时出错：RuntimeError: the flow broke"
    assert "half of an answer" not in [m.text for m in journey.emulator.chat(user.id)]
    # The person carries on as if nothing happened.
    [help_text] = await journey.send(user, "/help")
    assert "/language" in help_text.text


@pytest.mark.telegram_only
async def test_a_busy_platform_delays_a_reply_and_nobody_is_troubled(journey: Journey) -> None:
    user = journey.user(3002, "Bo", "en")
    sent_before = journey.emulator.stats.sent["sendMessage"]
    journey.emulator.inject_429(count=4, retry_after=0.01, method="sendMessage")
    [help_text] = await journey.send(user, "/help")
    assert "/language" in help_text.text
    assert journey.emulator.stats.sent["sendMessage"] - sent_before == 1  # once, no apology


@pytest.mark.telegram_only
async def test_a_message_the_platform_refuses_is_reported_to_coordinators(
    journey: Journey,
) -> None:
    attach_failing_command(journey)
    user = journey.user(3003, "Cy", "en")
    coordinator = journey.user(COORDINATOR_ID, "Coordinator", "en")
    await journey.send(coordinator, "/start")
    await journey.send(coordinator, "/language")
    await journey.press(coordinator, "English")
    assert await journey.send(user, "/badmarkup") == []
    report = journey.emulator.last(COORDINATOR_ID)
    assert report.text.startswith(
        "⚠️ A message could not be delivered and was given up (telegram, send):"
    )
    assert "Can't parse entities" in report.text


@pytest.mark.telegram_only
async def test_one_person_s_429_delays_nobody_else(journey: Journey) -> None:
    """Telegram tells the bot to wait before writing to one chat again: that chat waits,
    the others are answered as fast as ever."""
    j = journey
    slow = j.user(3010, "Slow", "en")
    others = [j.user(3011 + n, f"u{n}", "en") for n in range(10)]
    j.emulator.inject_429(count=1, retry_after=3, method="sendMessage", chat_id=slow.id)
    mark = j.emulator.mark()
    j.emulator.send_message(slow, "/start")
    for user in others:
        j.emulator.send_message(user, "/start")
    await j.settle()

    def waited(user: object) -> float:
        events = j.emulator.events(chat_id=user.id, since=mark)  # type: ignore[attr-defined]
        asked = next(e.at for e in events if e.kind == "user_message")
        answered = next(e.at for e in events if e.kind == "bot_message")
        return float(answered - asked)

    assert waited(slow) >= 3
    assert max(waited(user) for user in others) < 1.0, [round(waited(u), 2) for u in others]
    assert all(len(j.emulator.chat(user.id)) == 1 for user in [slow, *others])


@pytest.mark.telegram_only
async def test_a_connection_pool_held_empty_past_its_timeout_delays_replies_and_loses_none(
    journey: Journey,
) -> None:
    """Every pooled connection taken (a slow report, a leak) for longer than the pool's
    10 s timeout: events wait, then each person gets their one answer."""
    j = journey
    if j.bot.db.is_sqlite:
        pytest.skip("SQLite has no pool: one lock per file, covered by the kill and lock tests")
    engine = j.bot.db.engine
    held = [await engine.connect() for _ in range(20)]  # pool_size 10 + max_overflow 10
    users = [j.user(3100 + n, f"p{n}", "en") for n in range(5)]
    try:
        for user in users:
            j.emulator.send_message(user, "/help")
        await asyncio.sleep(11)  # past pool_timeout: the inbox's writes time out and retry
        assert all(j.emulator.chat(user.id) == [] for user in users)
    finally:
        for connection in held:
            await connection.close()
    await j.settle()
    for user in users:
        [reply] = j.emulator.chat(user.id)
        assert "/language" in reply.text

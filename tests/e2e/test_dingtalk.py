"""Journeys on DingTalk: the production bot process (BotProcess, as `python -m bot run`
builds it) against the DingTalk emulator, through the channel's Stream connection (the
`dingtalk_stream` SDK's frames, router and handlers) and its HTTP calls; faults injected
where DingTalk has them (a callback sent again after its ack, a disconnect notice, a
dropped network, an API that refuses or fails, expired and revoked tokens, the QPS limit,
a person not in the organisation, the database away), and what people see asserted."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from bot.config import Settings
from bot.runner import BotProcess
from channels.dingtalk.channel import DingTalkChannel
from channels.dingtalk.emulator import BATCH_SEND, CARD_DELIVER, CARD_UPDATE, DingTalkEmulator
from channels.telegram.emulator.server import BotApiEmulator
from handlers import rounds
from storage.identities import find_user, reachable_identity
from tests.e2e.conftest import (
    DINGTALK_PLAIN_QUICK,
    DINGTALK_QUICK,
    DINGTALK_TEMPLATE,
    TOKEN,
    spawn_bot,
)
from tests.e2e.cross_platform import LI, proposed
from tests.e2e.enterprise_steps import WANG_STEEL
from tests.e2e.test_faults import outage_of

WELCOME = "欢迎使用科技特派员对接服务"


@pytest.fixture
async def dingtalk() -> AsyncIterator[DingTalkEmulator]:
    emulator = DingTalkEmulator(ack_timeout=1.0, disconnect_grace=0.3)
    emulator.add_template(DINGTALK_TEMPLATE)
    await emulator.start()
    yield emulator
    await emulator.stop()


@asynccontextmanager
async def bot_process(
    database_url: str,
    dingtalk: DingTalkEmulator,
    telegram: BotApiEmulator | None = None,
    *,
    cards: bool = True,
) -> AsyncIterator[BotProcess]:
    """The production process for the DingTalk emulator's robot (and Telegram's, if given),
    with the card template or without one."""
    env = {**dingtalk.env(DINGTALK_TEMPLATE if cards else None), "DATABASE_URL": database_url}
    if telegram is not None:
        env |= {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": telegram.base_url}
    settings = Settings(_env_file=None, **{k.lower(): v for k, v in env.items()})  # type: ignore[arg-type]
    process = BotProcess(settings, webhook=False)
    channel = process.core.channels["dingtalk"]
    assert isinstance(channel, DingTalkChannel)
    channel.capabilities = DINGTALK_QUICK if cards else DINGTALK_PLAIN_QUICK
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


@pytest.fixture
async def bot(database_url: str, dingtalk: DingTalkEmulator) -> AsyncIterator[BotProcess]:
    async with bot_process(database_url, dingtalk) as process:
        yield process


async def said(bot: BotProcess, dingtalk: DingTalkEmulator, who: str, text: str) -> list[str]:
    """What the user sees after writing `text`, once the bot has delivered everything."""
    before = len(dingtalk.chat(who))
    await dingtalk.wait_acked(await dingtalk.send_text(who, text))
    await bot.core.wait_idle(10)
    return [m.text for m in dingtalk.chat(who)[before:]]


async def pressed(bot: BotProcess, dingtalk: DingTalkEmulator, who: str, label: str) -> None:
    await dingtalk.wait_acked(await dingtalk.press(who, label))
    await bot.core.wait_idle(10)


async def test_a_user_agrees_on_a_card_is_answered_by_a_message_and_the_card_changes(
    bot: BotProcess, dingtalk: DingTalkEmulator
) -> None:
    dingtalk.add_user("zhangsan", "张三")
    [notice] = await said(bot, dingtalk, "zhangsan", "/start")
    assert notice.startswith(WELCOME) and "我们保存什么" in notice
    card = dingtalk.last("zhangsan")
    assert card.kind == "card" and card.labels == ["✅ 同意", "不同意", "English"]

    await pressed(bot, dingtalk, "zhangsan", "✅ 同意")
    consent, thanks, language = dingtalk.chat("zhangsan")
    assert consent.id == card.id and consent.buttons == ()  # the same card, changed
    assert consent.text == notice
    assert [path for path, _ in dingtalk.calls].count(CARD_UPDATE) == 1
    assert thanks.kind == "markdown" and thanks.text == "谢谢！"  # a card shows no notice
    assert language.text == "请选择语言：" and language.labels == ["中文", "English"]

    await pressed(bot, dingtalk, "zhangsan", "English")
    texts = [m.text for m in dingtalk.chat("zhangsan")]
    assert "Language set to English." in texts and texts[-1] == "Which side are you on?"
    assert all(ack.code == 200 for ack in dingtalk.acks)


async def test_without_a_card_template_choices_are_numbered_and_typed_back(
    database_url: str, dingtalk: DingTalkEmulator
) -> None:
    async with bot_process(database_url, dingtalk, cards=False) as process:
        dingtalk.add_user("wangwu", "王五")
        [notice] = await said(process, dingtalk, "wangwu", "/start")
        assert notice.startswith(WELCOME) and notice.endswith("1. ✅ 同意\n2. 不同意\n3. English")
        assert dingtalk.last("wangwu").kind == "markdown"
        shown = await said(process, dingtalk, "wangwu", "1")
        assert shown[-1].startswith("请选择语言：\n\n1. 中文\n2. English")
        assert not [path for path, _ in dingtalk.calls if path in (CARD_DELIVER, CARD_UPDATE)]


async def test_a_callback_sent_again_after_its_ack_is_applied_once(
    bot: BotProcess, dingtalk: DingTalkEmulator
) -> None:
    dingtalk.add_user("lisi", "李四")
    await said(bot, dingtalk, "lisi", "/start")
    dingtalk.faults.redeliver_after_ack = 2  # DingTalk sends these once more, acked or not
    shown = await said(bot, dingtalk, "lisi", "/help")
    await pressed(bot, dingtalk, "lisi", "✅ 同意")
    await asyncio.sleep(0.3)  # the second sends, handled
    await bot.core.wait_idle(10)
    assert len(shown) == 1
    texts = [m.text for m in dingtalk.chat("lisi")]
    assert texts.count("谢谢！") == 1 and texts.count("请选择语言：") == 1
    again = [e for e in dingtalk.events.values() if e.topic != "ping" and e.attempts == 2]
    assert len(again) == 2 and all(e.acked for e in again)


async def test_what_is_said_while_the_connection_is_down_arrives_once_it_is_back(
    bot: BotProcess, dingtalk: DingTalkEmulator
) -> None:
    dingtalk.add_user("wuqi", "吴七")
    await said(bot, dingtalk, "wuqi", "/help")
    opened = len(dingtalk.opens)
    await dingtalk.disconnect(notice=True)  # DingTalk moves the connection
    assert "隐私" in (await said(bot, dingtalk, "wuqi", "/privacy"))[-1]
    await dingtalk.drop()  # the network cut: no close frame
    started = time.monotonic()
    shown = await said(bot, dingtalk, "wuqi", "/privacy")
    assert len(shown) == 1 and "隐私" in shown[0]
    assert time.monotonic() - started < 10
    assert len(dingtalk.opens) >= opened + 2  # registered again each time, with aiohttp
    assert {s["topic"] for s in dingtalk.opens[-1]["subscriptions"]} == {
        "/v1.0/im/bot/messages/get",
        "/v1.0/card/instances/callback",
    }
    assert await dingtalk.ping()  # the SDK's system handler echoes the gateway's ping
    assert bot.core.channels["dingtalk"].healthy()


async def test_a_message_dingtalk_refuses_or_fails_is_sent_again_not_counted_delivered(
    database_url: str, dingtalk: DingTalkEmulator
) -> None:
    """An outage on DingTalk's side: robot messages refused with a 5xx, the QPS limit and a
    429 are each retried until DingTalk accepts one, which then arrives."""
    async with bot_process(database_url, dingtalk, cards=False) as process:
        dingtalk.add_user("zhaoliu", "赵六")
        await said(process, dingtalk, "zhaoliu", "/help")
        sends = [path for path, _ in dingtalk.calls].count(BATCH_SEND)
        dingtalk.fail_next(503, "Forbidden.AccessDenied.QpsLimitForApi", 429)
        shown = await said(process, dingtalk, "zhaoliu", "/privacy")
        assert len(shown) == 1 and "隐私" in shown[0]
        # Refused calls take no message (the emulator records a call it accepted): one.
        assert [path for path, _ in dingtalk.calls].count(BATCH_SEND) == sends + 1


async def test_expired_and_revoked_tokens_are_fetched_again(
    bot: BotProcess, dingtalk: DingTalkEmulator
) -> None:
    dingtalk.add_user("qianba", "钱八")
    await said(bot, dingtalk, "qianba", "/help")
    fetched = dingtalk.token_fetches
    dingtalk.revoke_tokens()
    assert await said(bot, dingtalk, "qianba", "/help")
    dingtalk.expire_tokens()
    assert await said(bot, dingtalk, "qianba", "/help")
    assert dingtalk.token_fetches == fetched + 2


async def test_past_the_qps_limit_messages_wait_and_all_arrive(
    database_url: str, dingtalk: DingTalkEmulator
) -> None:
    dingtalk.qps = 2
    async with bot_process(database_url, dingtalk, cards=False) as process:
        for n in range(4):
            dingtalk.add_user(f"u{n}", f"用户{n}")
        for n in range(4):
            await dingtalk.send_text(f"u{n}", "/help")
        await dingtalk.wait_until(lambda: all(len(dingtalk.chat(f"u{n}")) == 1 for n in range(4)))
        await process.core.wait_idle(10)
        assert all(len(dingtalk.chat(f"u{n}")) == 1 for n in range(4))


@pytest.mark.parametrize("cards", [True, False], ids=["card", "robot_message"])
async def test_someone_not_in_the_organisation_is_marked_unreachable(
    database_url: str, dingtalk: DingTalkEmulator, cards: bool
) -> None:
    async with bot_process(database_url, dingtalk, cards=cards) as process:
        db = process.db
        await proposed(db, ("dingtalk", "owner"), ("dingtalk", "gone"))
        await rounds.deliver(process.core.services)  # "gone" left the organisation
        await process.core.wait_idle(10)
        tries = [
            body
            for path, body in dingtalk.calls
            if "gone" in body.get("userIds", []) or "gone" in str(body.get("openSpaceId", ""))
        ]
        assert len(tries) == 1  # refused once, not tried again
        gone = await find_user(db=db, platform="dingtalk", account="gone")
        assert gone is not None and gone.id is not None
        identity = await reachable_identity(db=db, user_id=gone.id)
        assert identity is not None and identity.unreachable_at is not None


async def test_a_callback_that_cannot_be_kept_is_refused_and_kept_when_sent_again(
    database_url: str, dingtalk: DingTalkEmulator
) -> None:
    """The database away when DingTalk delivers: the ack says 500, not 200, and DingTalk's
    next send, once the database is back, is applied once."""
    dingtalk.max_attempts = 10_000  # the emulator sends again at once after a refusal
    async with outage_of(database_url) as outage, bot_process(outage.url, dingtalk) as process:
        dingtalk.add_user("zhoujiu")
        await said(process, dingtalk, "zhoujiu", "/help")
        before = len(dingtalk.chat("zhoujiu"))
        outage.take()
        message_id = await dingtalk.send_text("zhoujiu", "/privacy")

        def refused() -> bool:
            return any(a.message_id == message_id and a.code != 200 for a in dingtalk.acks)

        await dingtalk.wait_until(refused, timeout=30)
        outage.give_back()
        await dingtalk.wait_acked(message_id, timeout=20)
        await dingtalk.wait_until(lambda: len(dingtalk.chat("zhoujiu")) > before, timeout=20)
        await process.core.wait_idle(10)
        event = dingtalk.events[message_id]
        assert event.attempts > 1
        [reply] = dingtalk.chat("zhoujiu")[before:]  # applied once
        assert "隐私" in reply.text


async def test_a_telegram_enterprise_engages_a_dingtalk_specialist_in_one_process(
    database_url: str, dingtalk: DingTalkEmulator, emulator: BotApiEmulator
) -> None:
    async with bot_process(database_url, dingtalk, emulator) as process:
        assert sorted(process.core.channels) == ["dingtalk", "telegram"]
        db = process.db
        dingtalk.add_user("liprof", "李教授")
        emulator.add_user(user_id=8401, first_name="王工", language_code="zh-hans", started=True)
        await proposed(
            db, ("telegram", "8401"), ("dingtalk", "liprof"), approver=("telegram", "8499")
        )
        await rounds.deliver(process.core.services)
        await process.core.wait_idle(10)
        card = dingtalk.last("liprof")
        assert card.kind == "card" and card.text.startswith("📋 对接邀请 #1\n铸件气孔问题")
        await pressed(process, dingtalk, "liprof", card.labels[0])
        accepted = dingtalk.chat("liprof")[0]
        assert accepted.id == card.id and accepted.buttons == ()
        assert accepted.text.endswith("✅ 您已接受。企业选择后会通知您。")  # the card, changed

        candidate = await emulator.wait_for_message(8401, timeout=10)
        assert candidate.text.startswith("👤 专家接受了您的需求“铸件气孔问题”\n李教授")
        emulator.press_button(8401, "✅ 选择这位专家")
        await emulator.wait_until_idle()
        await process.core.wait_idle(10)
        chosen = emulator.last(8401).text
        assert chosen.startswith("🤝 对接成功：您选择了 李教授（大连理工大学）。")
        assert LI.phone in chosen and WANG_STEEL.phone not in chosen
        matched = dingtalk.last("liprof").text
        assert matched.startswith(
            "🤝 对接成功：鞍山精工钢构有限公司 选择了您，需求“铸件气孔问题”。"
        )
        assert WANG_STEEL.phone in matched and LI.phone not in matched


async def test_the_production_process_stops_cleanly_on_sigterm(
    database_url: str, dingtalk: DingTalkEmulator
) -> None:
    """`python -m bot run` with only DingTalk configured: it connects, answers, and on
    SIGTERM closes its connection and exits at once."""
    env = {
        **os.environ,
        **dingtalk.env(DINGTALK_TEMPLATE),
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "INFO",
    }
    env.pop("TELEGRAM_BOT_TOKEN", None)
    migrate = await spawn_bot("migrate", env)
    assert await migrate.wait() == 0
    process = await spawn_bot("run", env)
    try:
        await dingtalk.wait_until(lambda: len(dingtalk.connections) == 1, timeout=30)
        dingtalk.add_user("zheng", "郑工")
        await dingtalk.send_text("zheng", "/start")
        await dingtalk.wait_until(lambda: len(dingtalk.chat("zheng")) == 1, timeout=30)
        assert dingtalk.last("zheng").labels == ["✅ 同意", "不同意", "English"]
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        assert await asyncio.wait_for(process.wait(), 20) == 0
        assert time.monotonic() - started < 10
        await dingtalk.wait_until(lambda: not dingtalk.connections, timeout=5)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

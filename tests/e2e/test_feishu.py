"""Journeys on Feishu: the production bot process (BotProcess, as `python -m bot run` builds
it) against the Feishu emulator, through the real `lark-oapi` long connection (or the
webhook, encrypted and signed); faults injected where Feishu has them (an event not
acknowledged and sent again, the same event on two connections, a dropped connection,
expired and revoked tokens, rate limits, the database away), and what people see
asserted."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from bot.config import Settings
from bot.runner import BotProcess
from channels.feishu import crypto
from channels.feishu.channel import FeishuChannel
from channels.feishu.emulator import FeishuEmulator
from channels.telegram.emulator.server import BotApiEmulator
from handlers import rounds
from storage.identities import find_user, reachable_identity
from tests.e2e.conftest import FEISHU_QUICK, TOKEN, free_port, spawn_bot
from tests.e2e.cross_platform import LI, proposed
from tests.e2e.enterprise_steps import WANG_STEEL
from tests.e2e.test_faults import outage_of

WELCOME = "欢迎使用科技特派员对接服务"


@pytest.fixture
async def feishu() -> AsyncIterator[FeishuEmulator]:
    emulator = FeishuEmulator(per_user_qps=None)
    await emulator.start()
    yield emulator
    await emulator.stop()


@asynccontextmanager
async def bot_process(
    database_url: str,
    feishu: FeishuEmulator,
    telegram: BotApiEmulator | None = None,
    **env: str,
) -> AsyncIterator[BotProcess]:
    """The production process for the Feishu emulator's app (and Telegram's, if given)."""
    port = free_port()
    env = {**feishu.env(), "DATABASE_URL": database_url, "WEBHOOK_PORT": str(port), **env}
    if telegram is not None:
        env |= {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": telegram.base_url}
    settings = Settings(_env_file=None, **{k.lower(): v for k, v in env.items()})  # type: ignore[arg-type]
    process = BotProcess(settings, webhook=False)
    channel = process.core.channels["feishu"]
    assert isinstance(channel, FeishuChannel)
    channel.capabilities = FEISHU_QUICK
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


@pytest.fixture
async def bot(database_url: str, feishu: FeishuEmulator) -> AsyncIterator[BotProcess]:
    async with bot_process(database_url, feishu) as process:
        yield process


async def said(bot: BotProcess, feishu: FeishuEmulator, who: str, text: str) -> list[str]:
    """What the user sees after writing `text`, once the bot has delivered everything."""
    before = len(feishu.chat(who))
    await feishu.send_text(who, text)
    await bot.core.wait_idle(10)
    return [m.text for m in feishu.chat(who)[before:]]


async def test_a_user_agrees_on_a_card_told_by_a_toast_and_the_card_changes_in_place(
    bot: BotProcess, feishu: FeishuEmulator
) -> None:
    feishu.add_user("ou_zhang", "张三")
    [notice] = await said(bot, feishu, "ou_zhang", "/start")
    assert notice.startswith(WELCOME) and "我们保存什么" in notice
    card = feishu.last("ou_zhang")
    assert card.kind == "interactive" and card.labels == ["✅ 同意", "不同意", "English"]

    answer = await feishu.click_label("ou_zhang", "✅ 同意")
    await bot.core.wait_idle(10)
    # Within the 3 s: the toast, and the card redrawn without its buttons, as Feishu asks
    # (an update racing the click's answer could be undone by it).
    assert answer is not None and answer["toast"] == {"type": "info", "content": "谢谢！"}
    assert answer["card"]["type"] == "raw"
    consent, language = feishu.chat("ou_zhang")
    assert consent.message_id == card.message_id and consent.buttons == ()  # updated in place
    assert consent.text == notice
    assert not [path for path, _ in feishu.calls if path.startswith("patch")]
    assert language.text == "请选择语言：" and language.labels == ["中文", "English"]

    await feishu.click_label("ou_zhang", "English")
    await bot.core.wait_idle(10)
    texts = [m.text for m in feishu.chat("ou_zhang")]
    assert "Language set to English." in texts and texts[-1] == "Which side are you on?"
    assert all(status == "acked" for status in (d.status for d in feishu.deliveries))


async def test_an_event_feishu_sends_again_or_on_two_connections_is_applied_once(
    database_url: str, feishu: FeishuEmulator
) -> None:
    """Feishu delivers again what was not acknowledged in time, and the same message may come
    on another connection: each is kept once and answered once."""
    async with (
        bot_process(database_url, feishu) as first,
        bot_process(database_url, feishu) as second,
    ):
        assert feishu.connected == 2
        feishu.add_user("ou_li", "李工")
        feishu.faults.unacked = 1  # the first delivery's ack is lost: sent again
        await said(first, feishu, "ou_li", "/help")
        feishu.faults.both_connections = True
        await said(first, feishu, "ou_li", "/privacy")
        feishu.faults.duplicate = True
        await said(first, feishu, "ou_li", "/language")
        await second.core.wait_idle(10)  # the other process's share of the work
        await first.core.wait_idle(10)
        texts = [m.text for m in feishu.chat("ou_li")]
        assert len(texts) == 3, texts  # one answer each
        assert sum(d.attempts for d in feishu.deliveries) > len(feishu.deliveries)


async def test_what_is_said_while_the_connection_is_down_arrives_once_it_is_back(
    bot: BotProcess, feishu: FeishuEmulator
) -> None:
    feishu.add_user("ou_wu", "吴工")
    await said(bot, feishu, "ou_wu", "/help")
    endpoint_calls = feishu.endpoint_calls
    await feishu.drop_connections()
    started = time.monotonic()
    sending = asyncio.create_task(feishu.send_text("ou_wu", "/privacy"))
    await feishu.wait_until(lambda: feishu.connected == 1, timeout=15)
    reconnect = time.monotonic() - started
    await sending
    await bot.core.wait_idle(10)
    assert feishu.endpoint_calls == endpoint_calls + 1  # a new handshake, through the SDK
    assert reconnect < 10
    assert "隐私" in feishu.last("ou_wu").text
    assert bot.core.channels["feishu"].healthy()


async def test_expired_and_revoked_tokens_are_fetched_again_and_limits_waited_out(
    bot: BotProcess, feishu: FeishuEmulator
) -> None:
    feishu.add_user("ou_qian", "钱工")
    await said(bot, feishu, "ou_qian", "/help")
    fetched = feishu.token_fetches
    feishu.revoke_tokens()
    assert await said(bot, feishu, "ou_qian", "/help")
    feishu.expire_tokens()
    assert await said(bot, feishu, "ou_qian", "/help")
    assert feishu.token_fetches == fetched + 2
    feishu.fail_next(429, 502, 230020)  # the app's limit, a bad gateway, the user's limit
    shown = await said(bot, feishu, "ou_qian", "/privacy")
    assert len(shown) == 1 and "隐私" in shown[0]


async def test_someone_outside_the_availability_range_is_marked_unreachable(
    bot: BotProcess, feishu: FeishuEmulator
) -> None:
    db = bot.db
    await proposed(db, ("feishu", "ou_owner"), ("feishu", "ou_gone"))
    await rounds.deliver(bot.core.services)  # the specialist is not in the app's range
    await bot.core.wait_idle(10)
    sends = [p for path, p in feishu.calls if p.get("receive_id") == "ou_gone"]
    assert len(sends) == 1  # refused once, not tried again
    gone = await find_user(db=db, platform="feishu", account="ou_gone")
    assert gone is not None and gone.id is not None
    identity = await reachable_identity(db=db, user_id=gone.id)
    assert identity is not None and identity.unreachable_at is not None


async def test_an_answer_too_slow_for_the_toast_comes_as_a_message(
    bot: BotProcess, feishu: FeishuEmulator
) -> None:
    channel = bot.core.channels["feishu"]
    assert isinstance(channel, FeishuChannel)
    channel.toast_wait = 0.0  # the core never answers in time
    feishu.add_user("ou_sun", "孙工")
    await said(bot, feishu, "ou_sun", "/start")
    answer = await feishu.click_label("ou_sun", "✅ 同意")
    await bot.core.wait_idle(10)
    assert answer == {}  # acknowledged in time, with nothing to show yet
    texts = [m.text for m in feishu.chat("ou_sun")]
    assert "谢谢！" in texts and texts[-1] == "请选择语言："


async def test_an_event_that_cannot_be_kept_is_refused_and_kept_when_sent_again(
    database_url: str, feishu: FeishuEmulator
) -> None:
    """The database away when Feishu delivers: the frame is answered "failed" rather than
    acknowledged, and Feishu's next try, once the database is back, is applied once."""
    feishu.retry_intervals = (1.0, 1.0, 1.0)
    async with outage_of(database_url) as outage, bot_process(outage.url, feishu) as process:
        feishu.add_user("ou_zhou")
        await said(process, feishu, "ou_zhou", "/help")
        before = len(feishu.chat("ou_zhou"))
        outage.take()
        sending = asyncio.create_task(feishu.send_text("ou_zhou", "/privacy"))
        await asyncio.sleep(1.5)
        outage.give_back()
        await sending
        await process.core.wait_idle(10)
        delivery = feishu.deliveries[-1]
        assert delivery.status == "acked" and delivery.attempts > 1
        [reply] = feishu.chat("ou_zhou")[before:]  # applied once
        assert "隐私" in reply.text


async def test_the_webhook_answers_the_challenge_and_refuses_what_is_not_feishu_s(
    database_url: str, feishu: FeishuEmulator
) -> None:
    port = free_port()
    feishu.callback_url = f"http://127.0.0.1:{port}/feishu"
    async with bot_process(database_url, feishu, WEBHOOK_PORT=str(port)) as process:
        assert feishu.connected == 0 and feishu.endpoint_calls == 0  # no long connection
        assert await feishu.verify_url()
        feishu.add_user("ou_he", "何工")
        [notice] = await said(process, feishu, "ou_he", "/start")
        assert notice.startswith(WELCOME)
        answer = await feishu.click_label("ou_he", "✅ 同意")
        assert answer is not None and answer["toast"]["content"] == "谢谢！"

        event = {"schema": "2.0", "header": {"event_type": "im.message.receive_v1"}}
        body = json.dumps({"encrypt": crypto.encrypt(feishu.encrypt_key, json.dumps(event))})
        stamp, nonce = str(int(time.time())), "n1"
        good = crypto.signature(stamp, nonce, feishu.encrypt_key, body.encode())
        async with aiohttp.ClientSession() as session:

            async def post(data: str, signature: str, when: str = stamp) -> int:
                headers = {
                    "X-Lark-Request-Timestamp": when,
                    "X-Lark-Request-Nonce": nonce,
                    "X-Lark-Signature": signature,
                }
                async with session.post(feishu.callback_url, data=data, headers=headers) as r:
                    return r.status

            assert await post(body, "0" * 64) == 403  # forged
            assert await post(json.dumps(event), good) == 403  # not encrypted
            old = str(int(time.time()) - 7200)
            replayed = crypto.signature(old, nonce, feishu.encrypt_key, body.encode())
            assert await post(body, replayed, old) == 403  # signed, but two hours old
            assert await post("not json", good) == 403  # one answer for every refusal


async def test_a_telegram_enterprise_engages_a_feishu_specialist_in_one_process(
    database_url: str, feishu: FeishuEmulator, emulator: BotApiEmulator
) -> None:
    async with bot_process(database_url, feishu, emulator) as process:
        assert sorted(process.core.channels) == ["feishu", "telegram"]
        db = process.db
        feishu.add_user("ou_liprof", "李教授")
        emulator.add_user(user_id=8301, first_name="王工", language_code="zh-hans", started=True)
        await proposed(
            db, ("telegram", "8301"), ("feishu", "ou_liprof"), approver=("telegram", "8399")
        )
        await rounds.deliver(process.core.services)
        await process.core.wait_idle(10)
        card = feishu.last("ou_liprof")
        assert card.kind == "interactive" and card.text.startswith("📋 对接邀请 #1\n铸件气孔问题")
        await feishu.click_label("ou_liprof", card.labels[0])
        await process.core.wait_idle(10)
        accepted = feishu.chat("ou_liprof")[0]
        assert accepted.message_id == card.message_id and accepted.buttons == ()
        assert accepted.text.endswith("✅ 您已接受。企业选择后会通知您。")  # the card, changed

        candidate = await emulator.wait_for_message(8301, timeout=10)
        assert candidate.text.startswith("👤 专家接受了您的需求“铸件气孔问题”\n李教授")
        emulator.press_button(8301, "✅ 选择这位专家")
        await emulator.wait_until_idle()
        await process.core.wait_idle(10)
        chosen = emulator.last(8301).text
        assert chosen.startswith("🤝 对接成功：您选择了 李教授（大连理工大学）。")
        assert LI.phone in chosen and WANG_STEEL.phone not in chosen
        matched = feishu.last("ou_liprof").text
        assert matched.startswith(
            "🤝 对接成功：鞍山精工钢构有限公司 选择了您，需求“铸件气孔问题”。"
        )
        assert WANG_STEEL.phone in matched and LI.phone not in matched


async def test_a_stop_during_the_handshake_stops_the_connection(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM while the SDK is still connecting: the connection is not made afterwards, and
    the process does not wait for it."""
    endpoint = FeishuEmulator._endpoint

    async def slow(self: FeishuEmulator, request: Any) -> Any:
        await asyncio.sleep(1.0)
        return await endpoint(self, request)

    monkeypatch.setattr(FeishuEmulator, "_endpoint", slow)
    feishu = FeishuEmulator()
    await feishu.start()
    try:
        env = {**feishu.env(), "DATABASE_URL": database_url}
        settings = Settings(_env_file=None, **{k.lower(): v for k, v in env.items()})  # type: ignore[arg-type]
        process = BotProcess(settings, webhook=False)
        channel = process.core.channels["feishu"]
        assert isinstance(channel, FeishuChannel)
        starting = asyncio.create_task(process.start())
        await feishu.wait_until(lambda: feishu.endpoint_calls == 1, timeout=10)
        started = time.monotonic()
        await process.stop()
        assert time.monotonic() - started < 3
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
        await asyncio.sleep(1.5)  # the handshake's answer comes, and nothing connects
        assert feishu.connected == 0 and not channel.healthy()
    finally:
        await feishu.stop()


async def test_the_webhook_refuses_wrong_tokens_odd_signatures_and_unsigned_events(
    database_url: str, feishu: FeishuEmulator
) -> None:
    port = free_port()
    feishu.callback_url = f"http://127.0.0.1:{port}/feishu"
    async with bot_process(database_url, feishu, WEBHOOK_PORT=str(port)):
        key = feishu.encrypt_key

        def sealed(payload: dict[str, Any]) -> str:
            return json.dumps({"encrypt": crypto.encrypt(key, json.dumps(payload))})

        event = {
            "schema": "2.0",
            "header": {"event_type": "im.message.receive_v1", "token": "not-the-app's"},
            "event": {},
        }
        async with aiohttp.ClientSession() as session:

            async def post(body: str, signature: str | None) -> int:
                stamp = str(int(time.time()))
                headers = {"X-Lark-Request-Timestamp": stamp, "X-Lark-Request-Nonce": "n"}
                if signature is not None:
                    headers["X-Lark-Signature"] = signature or crypto.signature(
                        stamp, "n", key, body.encode()
                    )
                async with session.post(feishu.callback_url, data=body, headers=headers) as r:
                    return r.status

            assert await post(sealed(event), "") == 403  # signed, but not the app's token
            assert await post(sealed(event), "签名") == 403  # not even hex
            good = {**event, "header": {**event["header"], "token": feishu.verification_token}}
            assert await post(sealed(good), None) == 403  # an event without its signature
            challenge = {"type": "url_verification", "challenge": "c1", "token": "wrong"}
            assert await post(sealed(challenge), None) == 403
            assert await post("x" * (2 * 1024 * 1024), "") == 413


async def test_the_production_process_stops_cleanly_on_sigterm(
    database_url: str, feishu: FeishuEmulator
) -> None:
    """`python -m bot run` with only Feishu configured: it connects, answers, and on SIGTERM
    closes its connection and exits at once, though the SDK's client blocks its thread."""
    env = {**os.environ, **feishu.env(), "DATABASE_URL": database_url, "LOG_LEVEL": "INFO"}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    migrate = await spawn_bot("migrate", env)
    assert await migrate.wait() == 0
    process = await spawn_bot("run", env)
    try:
        await feishu.wait_until(lambda: feishu.connected == 1, timeout=30)
        feishu.add_user("ou_zheng", "郑工")
        await feishu.send_text("ou_zheng", "/start")
        await feishu.wait_until(lambda: len(feishu.chat("ou_zheng")) == 1, timeout=30)
        assert feishu.last("ou_zheng").labels == ["✅ 同意", "不同意", "English"]
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        assert await asyncio.wait_for(process.wait(), 20) == 0
        assert time.monotonic() - started < 10
        await feishu.wait_until(lambda: feishu.connected == 0, timeout=5)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

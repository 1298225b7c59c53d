"""Journeys on WeCom: the production bot process (BotProcess, as `python -m bot run` builds
it) against the WeCom emulator, over HTTP both ways, with real encryption and signatures;
faults injected where WeCom has them (late answers and retries, duplicates, expired and
revoked tokens, a busy API), and what the member sees asserted."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlencode

import aiohttp
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlmodel import col

from bot.config import Settings
from bot.runner import BotProcess
from channels.telegram.emulator.server import BotApiEmulator
from channels.wecom.channel import WeComChannel
from channels.wecom.emulator import WeComEmulator
from handlers import rounds
from storage.enterprises import get_enterprise
from storage.identities import find_user, reachable_identity
from storage.models import OutboxMessage
from tests.e2e.conftest import TOKEN, WECOM_QUICK, free_port
from tests.e2e.cross_platform import LI, proposed
from tests.e2e.enterprise_steps import WANG_STEEL
from tests.e2e.test_faults import outage_of

WELCOME = "欢迎使用科技特派员对接服务"


@pytest.fixture
async def wecom() -> AsyncIterator[WeComEmulator]:
    emulator = WeComEmulator()
    await emulator.start()
    yield emulator
    await emulator.stop()


@asynccontextmanager
async def bot_process(
    database_url: str,
    wecom: WeComEmulator,
    telegram: BotApiEmulator | None = None,
    *,
    paced: bool = False,
    **env: str,
) -> AsyncIterator[BotProcess]:
    """The production process for the WeCom emulator's app (and Telegram's, if given);
    paced at WeCom's figures only where the test is about pacing (`paced`)."""
    port = free_port()
    env = {**wecom.env(port), "DATABASE_URL": database_url, "WEBHOOK_PORT": str(port), **env}
    if telegram is not None:
        env |= {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": telegram.base_url}
    settings = Settings(_env_file=None, **{k.lower(): v for k, v in env.items()})  # type: ignore[arg-type]
    process = BotProcess(settings, webhook=False)
    if not paced:
        channel = process.core.channels["wecom"]
        assert isinstance(channel, WeComChannel)
        channel.capabilities, channel.per_member_minute = WECOM_QUICK, None
    await process.start()
    try:
        yield process
    finally:
        await process.stop()


@pytest.fixture
async def bot(database_url: str, wecom: WeComEmulator) -> AsyncIterator[BotProcess]:
    async with bot_process(database_url, wecom) as process:
        yield process


async def said(bot: BotProcess, wecom: WeComEmulator, member: str, text: str) -> list[str]:
    """What the member sees after writing `text`, once the bot has delivered everything."""
    before = len(wecom.chat(member))
    assert await wecom.send_text(member, text) == 200
    await bot.core.wait_idle(10)
    return [m.text for m in wecom.chat(member)[before:]]


async def click(bot: BotProcess, wecom: WeComEmulator, member: str, label: str) -> None:
    await wecom.click(member, label)
    await bot.core.wait_idle(10)


async def test_a_member_agrees_and_chooses_a_language_with_card_buttons(
    bot: BotProcess, wecom: WeComEmulator
) -> None:
    wecom.add_member("zhangsan", "张三")
    shown = await said(bot, wecom, "zhangsan", "/start")
    # The notice is longer than a card shows: the text first, then a card with its buttons.
    assert shown[0].startswith(WELCOME) and "我们保存什么" in shown[0]
    card = wecom.last("zhangsan")
    assert card.kind == "template_card" and card.labels == ["✅ 同意", "不同意", "English"]

    await click(bot, wecom, "zhangsan", "✅ 同意")
    assert wecom.chat("zhangsan")[1].greyed == "✓"  # the clicked card stops acting
    language = wecom.last("zhangsan")
    assert language.text == "请选择语言：" and language.labels == ["中文", "English"]

    await click(bot, wecom, "zhangsan", "English")
    texts = [m.text for m in wecom.chat("zhangsan")]
    assert "Language set to English." in texts
    assert wecom.last("zhangsan").labels[0].startswith("🏭")
    assert not wecom.truncated and not wecom.dropped


async def test_the_apps_menu_is_set_at_start_and_a_tap_runs_its_command(
    bot: BotProcess, wecom: WeComEmulator
) -> None:
    """WeCom has one menu per app: each side's commands and the common ones, in Chinese,
    within WeCom's sizes (the emulator refuses a menu over them); a tap is the command."""
    assert [button["name"] for button in wecom.menu] == ["企业", "专家", "更多"]
    items = {b["name"]: [sub["name"] for sub in b["sub_button"]] for b in wecom.menu}
    assert items["企业"] == ["发布技术需求", "我的需求", "我的服务对接"]
    assert items["专家"][:2] == ["我的资料", "可服务时间"]  # "…：暂停、恢复、容量" is over 40 bytes
    assert items["更多"] == ["开始或继续", "帮助", "切换语言", "隐私说明与同意", "导出我的数据"]
    wecom.add_member("menuuser", "钱工")
    before = len(wecom.chat("menuuser"))
    await wecom.click_menu("menuuser", "更多", "帮助")
    await bot.core.wait_idle(10)
    [shown] = [m.text for m in wecom.chat("menuuser")[before:]]
    assert shown == (await said(bot, wecom, "menuuser", "/help"))[0]


async def test_a_menu_wecom_refuses_leaves_the_bot_running(
    database_url: str, wecom: WeComEmulator
) -> None:
    wecom.fail_next(60011)  # the app lacks the right to set its menu
    async with bot_process(database_url, wecom) as bot:
        assert wecom.menu == []
        wecom.add_member("nomenu")
        assert len(await said(bot, wecom, "nomenu", "/help")) == 1


async def test_an_enterprise_registers_where_cards_hold_six_buttons_and_phones_are_typed(
    bot: BotProcess, wecom: WeComEmulator
) -> None:
    """The enterprise form on WeCom: more choices than a card holds come as numbered lines
    answered by typing the number, the phone is typed (no share button), and the summary
    is confirmed by its number."""
    wecom.add_member("qian", "钱工")
    await said(bot, wecom, "qian", "/start")
    for label in ("✅ 同意", "中文", "🏭 企业（提出技术需求）"):
        await click(bot, wecom, "qian", label)
    assert wecom.last("qian").text == "企业名称是什么？（2–100 个字）"
    await said(bot, wecom, "qian", "沈阳精密机械有限公司")
    [city] = await said(bot, wecom, "qian", WANG_STEEL.credit_code)
    assert wecom.last("qian").kind == "text"  # 14 cities: numbered, not a card
    assert "\n1. 沈阳\n2. 大连\n" in city
    assert (await said(bot, wecom, "qian", "1"))[0] == "→ 沈阳"
    [pick] = await said(bot, wecom, "qian", "钢铁")  # the industry found by what it makes
    assert pick == "您是指下面哪一项？"
    await click(bot, wecom, "qian", "黑色金属冶炼和压延加工业")
    await click(bot, wecom, "qian", "小型")
    await said(bot, wecom, "qian", "钱工")
    phone = wecom.last("qian")
    assert phone.text.startswith("联系人手机号？") and phone.labels == ["◀ 上一步", "✖ 取消"]
    recorded, summary = await said(bot, wecom, "qian", "13912345678")
    assert recorded == "已记录：+8613912345678"
    assert "城市：沈阳" in summary and "\n8. ✅ 确认提交" in summary
    await said(bot, wecom, "qian", "8")
    user = await find_user(db=bot.db, platform="wecom", account="qian")
    assert user is not None and user.id is not None
    saved = await get_enterprise(db=bot.db, owner_user_id=user.id)
    assert saved is not None
    assert (saved.name, saved.city, saved.phone) == (
        "沈阳精密机械有限公司",
        "shenyang",
        "+8613912345678",
    )
    assert not wecom.truncated and not wecom.dropped


async def test_a_member_who_types_first_is_welcomed(bot: BotProcess, wecom: WeComEmulator) -> None:
    """WeCom has no start button: a member's first words get the welcome and its card."""
    wecom.add_member("zhou", "周工")
    notice, card = await said(bot, wecom, "zhou", "你好")
    assert notice.startswith(WELCOME) and "我们保存什么" in notice
    assert card == WELCOME and wecom.last("zhou").labels == ["✅ 同意", "不同意", "English"]


async def test_a_late_answer_is_retried_by_wecom_and_applied_once(
    bot: BotProcess, wecom: WeComEmulator
) -> None:
    wecom.add_member("lisi")
    wecom.faults.late_answers = 2  # WeCom counts the first two answers as too late
    await said(bot, wecom, "lisi", "/start")
    assert wecom.callbacks == [200, 200, 200]
    # The notice and its card once, not thrice.
    assert [m.kind for m in wecom.chat("lisi")] == ["text", "template_card"]


async def test_a_callback_delivered_twice_is_applied_once(
    bot: BotProcess, wecom: WeComEmulator
) -> None:
    wecom.add_member("wangwu")
    wecom.faults.duplicate = True
    shown = await said(bot, wecom, "wangwu", "/help")
    assert wecom.callbacks == [200, 200]
    assert len(shown) == 1


async def test_an_expired_or_revoked_token_is_fetched_again_and_nothing_is_lost(
    bot: BotProcess, wecom: WeComEmulator
) -> None:
    wecom.add_member("zhaoliu")
    assert len(await said(bot, wecom, "zhaoliu", "/help")) == 1
    assert wecom.token_fetches == 1  # shared through the database, not fetched per message
    assert len(await said(bot, wecom, "zhaoliu", "/help")) == 1
    assert wecom.token_fetches == 1
    wecom.expire_tokens()
    assert len(await said(bot, wecom, "zhaoliu", "/help")) == 1
    wecom.revoke_tokens()
    assert len(await said(bot, wecom, "zhaoliu", "/help")) == 1
    assert wecom.token_fetches == 3


async def test_a_busy_or_failing_api_is_retried_until_the_message_arrives_once(
    bot: BotProcess, wecom: WeComEmulator
) -> None:
    wecom.add_member("sunqi")
    wecom.fail_next(45009, 502, -1)  # too often, a 502, system busy
    shown = await said(bot, wecom, "sunqi", "/help")
    assert len(shown) == 1 and "/start" in shown[0]


async def test_forged_or_replayed_callbacks_are_refused_and_nobody_is_answered(
    bot: BotProcess, wecom: WeComEmulator
) -> None:
    wecom.add_member("victim")
    assert wecom.callback_url is not None
    encrypted = wecom.crypto.encrypt(
        "<xml><FromUserName>victim</FromUserName><MsgType>text</MsgType>"
        "<Content>/help</Content><MsgId>1</MsgId></xml>"
    )
    body = f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"

    def signed(stamp: int, text: str = encrypted) -> str:
        query = {"timestamp": str(stamp), "nonce": "2"}
        query["msg_signature"] = wecom.crypto.signature(str(stamp), "2", text)
        return f"{wecom.callback_url}?{urlencode(query)}"

    now = int(time.time())
    async with aiohttp.ClientSession() as http:
        forged = f"{wecom.callback_url}?timestamp={now}&nonce=2&msg_signature={'0' * 40}"
        async with http.post(forged, data=body) as answer:
            assert answer.status == 403
        async with http.post(signed(now - 2 * 3600), data=body) as answer:
            assert answer.status == 403  # signed, but two hours old: a replay
        async with http.post(signed(now), data="not xml") as answer:
            assert answer.status == 400
        async with http.post(signed(now), data=b"x" * 70_000) as answer:
            assert answer.status == 413
        # The URL check: the decrypted echostr when signed, 403 when not.
        echo = wecom.crypto.encrypt("8315609120147393")
        check = {"timestamp": "1", "nonce": "2", "echostr": echo}
        good = {**check, "msg_signature": wecom.crypto.signature("1", "2", echo)}
        async with http.get(f"{wecom.callback_url}?{urlencode(good)}") as answer:
            assert (answer.status, await answer.text()) == (200, "8315609120147393")
        bad = {**check, "msg_signature": "x"}
        async with http.get(f"{wecom.callback_url}?{urlencode(bad)}") as answer:
            assert answer.status == 403
        # The signed, current one is a real callback: answered once.
        async with http.post(signed(now), data=body) as answer:
            assert answer.status == 200
    await bot.core.wait_idle(10)
    assert len(wecom.chat("victim")) == 1


async def test_a_callback_whose_body_comes_in_pieces_is_read_whole(
    bot: BotProcess, wecom: WeComEmulator
) -> None:
    wecom.add_member("slow")
    wecom.faults.in_pieces = True
    text = "铸件气孔" * 300  # a long message, as the network splits them
    assert await wecom.send_text("slow", text) == 200
    assert wecom.callbacks == [200]


async def test_a_row_of_several_messages_resumes_after_the_last_one_wecom_took(
    bot: BotProcess, wecom: WeComEmulator
) -> None:
    """The welcome is a text and a card. Refused at the card (too often), the retry sends
    the card only. When WeCom took the text but its answer was lost, only that text may
    come twice. When it took a card's update (greying its buttons) but the answer was
    lost, the retry does not change it again and what follows comes once."""
    wecom.add_member("sun")
    await said(bot, wecom, "sun", "/help")  # the token is fetched; one message through
    wecom.fail_next(0, 45009)  # the text goes through, the card is refused: too often
    await said(bot, wecom, "sun", "/start")
    assert [m.kind for m in wecom.chat("sun")[1:]] == ["text", "template_card"]

    wecom.add_member("zhou")
    await said(bot, wecom, "zhou", "/help")
    wecom.faults.lose_answers["message/send"] = 1
    await said(bot, wecom, "zhou", "/start")
    assert [m.kind for m in wecom.chat("zhou")[1:]] == ["text", "text", "template_card"]

    wecom.faults.lose_answers["message/update_template_card"] = 1  # greying the clicked card
    await click(bot, wecom, "zhou", "✅ 同意")
    after = wecom.chat("zhou")[4:]
    assert wecom.chat("zhou")[3].greyed == "✓"
    assert [m.text for m in after] == ["谢谢！", "请选择语言："]


async def test_a_member_is_never_sent_more_than_wecom_keeps_in_a_minute(
    database_url: str, wecom: WeComEmulator
) -> None:
    """Every message counts, notices too (the outbox paces rows, and a notice is not paced
    on platforms where it is a toast): the bot holds back what would go over 30 a minute
    to one member, where WeCom would drop it without a word."""
    async with bot_process(database_url, wecom, paced=True, FLOOD_LIMIT="1000") as process:
        wecom.add_member("busy")
        await said(process, wecom, "busy", "/start")
        card = wecom.last("busy")
        assert card.task_id is not None
        for n in range(40):  # a button no flow knows: each press answered with a notice
            await wecom.click_key("busy", card.task_id, f"forged-{n}")
        await process.core.inbox.wait_idle(10)

        def notices() -> int:
            return sum(m.text == "无法识别的按钮。" for m in wecom.chat("busy"))

        # 28 in the minute, the welcome's text and card among them; the rest held back.
        await wecom.wait_until(lambda: notices() >= 26)
        async with process.db.connection() as connection:
            held = await connection.scalar(
                select(func.count()).where(
                    col(OutboxMessage.state).in_(["pending", "sending"])  # not sent yet
                )
            )
        assert notices() == 26 and held == 40 - 26 and not wecom.dropped


async def test_one_process_serves_telegram_and_wecom_side_by_side(
    database_url: str, wecom: WeComEmulator, emulator: BotApiEmulator
) -> None:
    """A coordinator on WeCom, a person on Telegram: one process, one database, both answered,
    and the coordinator recognised by their WeCom account."""
    async with bot_process(
        database_url, wecom, emulator, COORDINATOR_IDS="wecom:coordinator"
    ) as process:
        assert sorted(process.core.channels) == ["telegram", "wecom"]
        wecom.add_member("coordinator", "协调员")
        telegram_user = emulator.add_user(8101, "王工", language_code="zh-hans")
        emulator.send_message(telegram_user, "/help")
        coordinator_help = await said(process, wecom, "coordinator", "/help")
        await emulator.wait_for_message(8101, timeout=10)
        assert "/pending" in coordinator_help[0]  # the coordinators' commands are listed
        assert "/pending" not in emulator.last(8101).text
        await process.core.wait_idle(10)
        assert await find_user(db=process.db, platform="wecom", account="coordinator")


async def test_a_telegram_enterprise_engages_a_wecom_specialist(
    database_url: str, wecom: WeComEmulator, emulator: BotApiEmulator
) -> None:
    async with bot_process(database_url, wecom, emulator) as process:
        db = process.db
        wecom.add_member("liprof", "李教授")
        emulator.add_user(user_id=8201, first_name="王工", language_code="zh-hans", started=True)
        await proposed(db, ("telegram", "8201"), ("wecom", "liprof"), approver=("telegram", "8299"))
        await rounds.deliver(process.core.services)  # as a round sends what it planned
        await process.core.wait_idle(10)
        card = wecom.last("liprof")
        assert card.kind == "template_card" and card.text.startswith("📋 对接邀请 #1\n铸件气孔问题")
        await wecom.click("liprof", card.labels[0])
        await process.core.wait_idle(10)
        assert wecom.chat("liprof")[0].greyed == "✓"  # the invitation's buttons stop acting
        assert wecom.last("liprof").text.endswith("✅ 您已接受。企业选择后会通知您。")

        candidate = await emulator.wait_for_message(8201, timeout=10)
        assert candidate.text.startswith("👤 专家接受了您的需求“铸件气孔问题”\n李教授")
        emulator.press_button(8201, "✅ 选择这位专家")
        await emulator.wait_until_idle()
        await process.core.wait_idle(10)
        # Both had agreed to share contacts: each side gets the other's, on their own platform.
        chosen = emulator.last(8201).text
        assert chosen.startswith("🤝 对接成功：您选择了 李教授（大连理工大学）。")
        assert LI.phone in chosen and WANG_STEEL.phone not in chosen
        matched = wecom.last("liprof").text
        assert matched.startswith(
            "🤝 对接成功：鞍山精工钢构有限公司 选择了您，需求“铸件气孔问题”。"
        )
        assert WANG_STEEL.phone in matched and LI.phone not in matched
        assert not wecom.truncated and not wecom.dropped


async def test_a_coordinator_on_wecom_gets_the_export_as_uploaded_files(
    database_url: str, wecom: WeComEmulator
) -> None:
    async with bot_process(database_url, wecom, COORDINATOR_IDS="wecom:boss") as process:
        wecom.add_member("boss", "协调员")
        await said(process, wecom, "boss", "/start")
        await click(process, wecom, "boss", "✅ 同意")
        before = len(wecom.chat("boss"))
        await said(process, wecom, "boss", "/export")
        files = [m for m in wecom.chat("boss")[before:] if m.kind == "file"]
        [book, *tables] = files  # the workbook, then demands, enterprises, specialists, ...
        assert book.media is not None
        sheets = load_workbook(io.BytesIO(book.media))
        assert sheets.sheetnames[:7] == ["需求", "企业", "专家", "推荐", "对接", "工作记录", "评价"]
        assert all(sheet.freeze_panes == "A2" for sheet in sheets)
        assert len(tables) == 9
        assert all(m.media and m.media.startswith(b"\xef\xbb\xbf") for m in tables)  # CSV, BOM
        assert len(wecom.media) == len(files)  # each uploaded once, then sent by media id


async def test_a_member_who_left_the_app_is_marked_unreachable_not_retried(
    database_url: str, wecom: WeComEmulator
) -> None:
    async with bot_process(database_url, wecom) as process:
        db = process.db
        await proposed(db, ("wecom", "owner"), ("wecom", "gone"))
        # The specialist was never added to the app's visible range (or has left it).
        await rounds.deliver(process.core.services)
        await process.core.wait_idle(10)
        sends = [payload for path, payload in wecom.calls if payload.get("touser") == "gone"]
        assert len(sends) == 1  # refused once, not tried again
        gone = await find_user(db=db, platform="wecom", account="gone")
        assert gone is not None and gone.id is not None
        identity = await reachable_identity(db=db, user_id=gone.id)
        assert identity is not None and identity.unreachable_at is not None  # rounds skip them


async def test_a_callback_that_cannot_be_kept_is_refused_and_kept_on_wecom_s_retry(
    database_url: str, wecom: WeComEmulator
) -> None:
    """The database away when WeCom calls: the bot answers 503 rather than acknowledge what
    it could not keep, and WeCom's next try, once the database is back, is applied once."""
    wecom.retry_interval = 1.0
    async with outage_of(database_url) as outage, bot_process(outage.url, wecom) as process:
        wecom.add_member("wu")
        await said(process, wecom, "wu", "/help")
        outage.take()
        sending = asyncio.create_task(wecom.send_text("wu", "/start"))
        await asyncio.sleep(1.5)  # WeCom's first tries meet the outage
        outage.give_back()
        assert await sending == 200
        assert wecom.callbacks[1] != 200 and wecom.callbacks[-1] == 200
        await process.core.wait_idle(10)
        assert [m.kind for m in wecom.chat("wu")[1:]] == ["text", "template_card"]

"""The same conversation where a platform can show less: no buttons at all (choices come as
numbered lines, answered by typing the number or the label), at most six buttons, edits
only in answer to a click, no edits at all, no share-phone button. Played on the stub
platform with those capabilities; no flow knows which one it talks to."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from bot.config import Settings
from bot.local import LocalBot
from handlers.core.capabilities import Capabilities
from storage.clock import ManualClock
from storage.db import Database
from tests.e2e.conftest import Journey
from tests.e2e.stub import TELEGRAM_LIKE, StubChannel, StubPlatform
from tests.people import get_user, playing

NO_BUTTONS = dataclasses.replace(
    TELEGRAM_LIKE, edits="none", max_buttons=0, share_contact=False, menus=False
)
CLICK_EDITS = dataclasses.replace(TELEGRAM_LIKE, edits="click", max_buttons=6, max_row=3)
NO_EDITS = dataclasses.replace(TELEGRAM_LIKE, edits="none")

Start = Callable[[Capabilities], Awaitable[Journey]]


@pytest.fixture
async def on_platform(settings: Settings, db: Database, clock: ManualClock) -> AsyncIterator[Start]:
    """Start the bot on a stub platform with the given capabilities."""
    bots: list[LocalBot] = []
    playing("stub")

    async def start(capabilities: Capabilities) -> Journey:
        stub = StubPlatform(capabilities)
        bot = LocalBot(settings, lambda _db: [StubChannel(stub)], clock)
        await bot.start()
        bots.append(bot)
        return Journey(emulator=stub, bot=bot, db=db, clock=clock)

    yield start
    for bot in bots:
        await bot.stop()
    playing("telegram")


async def test_without_buttons_choices_are_numbered_and_typed_back(on_platform: Start) -> None:
    j = await on_platform(NO_BUTTONS)
    wang = j.user(6001, "王工", "zh-hans")
    [consent] = await j.send(wang, "/start")
    assert consent.buttons == []
    assert consent.text.endswith("1. ✅ 同意\n2. 不同意\n3. English")
    thanks, language = await j.send(wang, "1")  # the first choice, by its number
    assert thanks.text == "谢谢！"
    assert language.text == "请选择语言：\n\n1. 中文\n2. English"
    [_, role] = await j.send(wang, "中文")  # or by its label
    assert (
        role.text == "您是哪一方？\n\n1. 🏭 企业（提出技术需求）\n2. 🎓 科技特派员（提供技术服务）"
    )
    reactions = await j.send(wang, "1")
    assert reactions[-1].text.startswith("企业名称是什么？") and reactions[-1].text.endswith(
        "1. ✖ 取消"
    )
    # A number where a name is asked for is a name only when no choice has that number.
    [error, _] = await j.send(wang, "7")
    assert error.text == "太短了：至少 2 个字（现在 1 个）。"
    await j.send(wang, "鞍山精工钢构有限公司")
    [city] = await j.send(wang, "跳过")  # a choice's label, typed
    assert city.text.startswith("企业在哪个城市？") and "\n3. 鞍山\n" in city.text
    [chosen, industry] = await j.send(wang, "3")
    # No edits here: the answer comes as a short message of its own, not the question again.
    assert chosen.text == "→ 鞍山"
    assert industry.text.startswith("企业属于哪个行业？")
    user = await get_user(db=j.db, telegram_id=6001)
    assert user is not None and user.role == "enterprise"


async def test_without_a_share_button_the_phone_is_typed(on_platform: Start) -> None:
    j = await on_platform(NO_BUTTONS)
    li = j.user(6002, "李工", "zh-hans")
    await j.send(li, "/start")
    await j.send(li, "1")
    await j.send(li, "中文")
    await j.send(li, "1")
    await j.send(li, "辽阳石化机械有限公司")
    await j.send(li, "跳过")
    await j.send(li, "辽阳")
    await j.send(li, "3")  # manufacturing
    [_, size] = await j.send(li, "1")
    assert size.text.startswith("企业规模？")
    [_, contact] = await j.send(li, "小型")
    assert contact.text.startswith("联系人姓名？")
    # No "press the button below to share your number" hint: there is no such button here.
    [phone] = await j.send(li, "李建国")
    assert phone.text.startswith("联系人手机号？")
    [noted, summary] = await j.send(li, "13800138000")
    assert noted.text == "已记录：+8613800138000"
    assert "手机号：+8613800138000" in summary.text


async def test_edits_only_in_answer_to_a_click_and_at_most_six_buttons(on_platform: Start) -> None:
    j = await on_platform(CLICK_EDITS)
    wang = j.user(6003, "王工", "zh-hans")
    [consent] = await j.send(wang, "/start")
    assert consent.buttons == ["✅ 同意", "不同意", "English"]  # three fit
    reactions = await j.press(wang, "✅ 同意")
    # Answering the click, the message can change: its buttons go.
    assert reactions[0].message_id == consent.message_id and reactions[0].buttons == []
    [_, role] = await j.press(wang, "中文")
    await j.press(wang, role.buttons[0])
    [name_question] = j.emulator.chat(wang.id)[-1:]
    await j.send(wang, "鞍山精工钢构有限公司")
    [*_, city] = await j.press(wang, "跳过")
    # Thirteen buttons do not fit in six: numbered lines, typed back.
    assert city.buttons == [] and "\n1. 沈阳\n" in city.text
    [chosen, _] = await j.send(wang, "3")
    assert chosen.text == "→ 鞍山" and chosen.message_id != city.message_id
    assert name_question.buttons == ["✖ 取消"]  # not changed outside a click: left as it was


async def test_without_edits_a_change_is_a_new_message(on_platform: Start) -> None:
    j = await on_platform(NO_EDITS)
    ann = j.user(6004, "Ann", "en")
    [consent] = await j.send(ann, "/start")
    [switched] = await j.press(ann, "中文")  # the notice in the other language
    assert switched.message_id != consent.message_id
    assert switched.text.startswith("欢迎使用科技特派员对接服务")
    assert j.emulator.chat(ann.id)[0].text.startswith("Welcome")  # the first stays as it was

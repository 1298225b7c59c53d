"""A new user's first contact: consent, language, role, help; restarts; refusals."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import COORDINATOR_ID, Journey
from tests.people import get_user


async def test_new_user_consents_chooses_language_and_role(journey: Journey, platform: str) -> None:
    wang = journey.user(1001, "王工", "zh-hans")
    [consent] = await journey.send(wang, "/start")
    assert "我们保存什么" in consent.text
    assert consent.buttons == ["✅ 同意", "不同意", "English"]
    stored = await get_user(db=journey.db, telegram_id=1001)
    assert stored is not None and stored.consent_at is None and stored.first_name is None

    reactions = await journey.press(wang, "✅ 同意")
    assert reactions[-1].text == "请选择语言："
    assert journey.answers(wang)[-1] == "谢谢！"
    stored = await get_user(db=journey.db, telegram_id=1001)
    assert stored is not None and stored.consent_at is not None
    # WeCom's callbacks, Feishu's events and DingTalk's card clicks name the person by id
    # only: no name there (a DingTalk message names them, a typed choice among them).
    assert stored.first_name == ("王工" if journey.named_on_press else None)

    reactions = journey.shown(await journey.press(wang, "English"))
    assert reactions[0].text == "Language set to English."
    assert reactions[-1].text == "Which side are you on?"

    reactions = await journey.press(wang, "🏭 Enterprise (has a technical problem)")
    texts = [m.text for m in reactions]
    assert any(
        t.startswith("Enterprise:") and "/language" in t for t in texts
    )  # what this side can do
    assert texts[-1] == "What is the enterprise's name? (2–100 characters)"  # registration begins
    stored = await get_user(db=journey.db, telegram_id=1001)
    assert stored is not None and (stored.role, stored.locale) == ("enterprise", "en")
    # The chat's own command menu is now in English (WeCom, Feishu and DingTalk have one
    # menu for the whole app: the commands reach the person in the text above).
    if journey.menus:
        menu = dict(journey.emulator.visible_commands(wang))
        assert menu["help"] == "Help"

    [again] = await journey.send(wang, "/start")
    assert again.text.startswith("Welcome back!")


async def test_deep_link_skips_the_role_question(journey: Journey) -> None:
    li = journey.user(1002, "Li", "en-US")
    [consent] = await journey.send(li, "/start specialist")
    assert "What we keep" in consent.text
    await journey.press(li, "✅ I agree")
    reactions = await journey.press(li, "中文")
    assert any(m.text.startswith("科技特派员：") for m in reactions)
    assert reactions[-1].text == "请输入您的姓名："  # specialist registration begins
    stored = await get_user(db=journey.db, telegram_id=1002)
    assert stored is not None and (stored.role, stored.locale) == ("specialist", "zh_CN")


async def test_notice_can_be_read_in_the_other_language(journey: Journey) -> None:
    user = journey.user(1003, "Zhao", "zh-hans")
    [consent] = await journey.send(user, "/start")
    [edited] = journey.shown(await journey.press(user, "English"))
    assert journey.replaces(edited, consent)
    assert "What we keep" in edited.text and edited.buttons == [
        "✅ I agree",
        "I do not agree",
        "中文",
    ]


async def test_declining_keeps_nothing(journey: Journey) -> None:
    user = journey.user(1004, "Sun")
    [consent] = await journey.send(user, "/start")
    [edited] = journey.shown(await journey.press(user, "不同意"))
    assert journey.replaces(edited, consent)
    assert "不会保存" in edited.text
    stored = await get_user(db=journey.db, telegram_id=1004)
    assert stored is not None and stored.consent_at is None and stored.first_name is None


async def test_restart_in_the_middle_of_first_contact(journey: Journey) -> None:
    user = journey.user(1005, "钱工")
    await journey.send(user, "/start")
    await journey.press(user, "✅ 同意")
    await journey.restart()
    # The language buttons sent by the old process still work in the new one.
    reactions = await journey.press(user, "中文")
    assert reactions[-1].text == "您是哪一方？"
    await journey.restart()
    # Typing instead of pressing: pointed back to the buttons, same question again.
    reactions = await journey.send(user, "我是企业")
    assert [m.text for m in reactions] == ["请点击上面消息中的按钮。", "您是哪一方？"]
    # /start after a restart resumes the step rather than starting over.
    [resumed] = await journey.send(user, "/start")
    assert resumed.text == "您是哪一方？"
    await journey.press(user, "🎓 科技特派员（提供技术服务）")
    stored = await get_user(db=journey.db, telegram_id=1005)
    assert stored is not None and stored.role == "specialist"


async def test_a_stale_button_changes_nothing(journey: Journey) -> None:
    user = journey.user(1006, "周工")
    [consent] = await journey.send(user, "/start")
    await journey.press(user, "✅ 同意")
    # The consent message's old "decline" button, pressed after consent moved on.
    await journey.press_data(user, consent.message_id, "start:decline")
    assert journey.answers(user)[-1] == "这个按钮已失效。"
    stored = await get_user(db=journey.db, telegram_id=1006)
    assert stored is not None and stored.consent_at is not None


async def test_forged_button_data_is_answered_and_ignored(journey: Journey) -> None:
    user = journey.user(1007, "吴工")
    [consent] = await journey.send(user, "/start")
    await journey.press_data(user, consent.message_id, "start:role:coordinator")
    await journey.press_data(user, consent.message_id, "admin:drop_tables")
    assert journey.answers(user)[-2:] == ["无法识别的按钮。", "无法识别的按钮。"]
    stored = await get_user(db=journey.db, telegram_id=1007)
    assert stored is not None and stored.role is None


async def test_a_newcomers_first_words_open_the_conversation(journey: Journey) -> None:
    """On platforms without a start button people begin by typing: their first message
    gets the welcome and the notice, as /start would; later text outside a dialogue does
    not bring it back."""
    zhou = journey.user(1009, "周工", "zh-hans")
    [consent] = await journey.send(zhou, "你好，想咨询技术问题")
    assert "我们保存什么" in consent.text
    assert consent.buttons == ["✅ 同意", "不同意", "English"]
    await journey.send(zhou, "/cancel")
    [reply] = await journey.send(zhou, "你好")
    assert reply.text.startswith("我没有理解")


async def test_unknown_command_and_cancel(journey: Journey, platform: str) -> None:
    user = journey.user(1008, "郑工")
    [reply] = await journey.send(user, "/frobnicate")
    assert reply.text == "没有这个命令。发送 /help 查看可用命令。"
    [reply] = await journey.send(user, "/cancel")
    assert reply.text == "当前没有进行中的对话。"
    [*_, consent] = await journey.send(user, "/start")
    reactions = await journey.send(user, "/cancel")
    assert reactions[-1].text.startswith("已取消")
    # The question's buttons are stale now: gone where the platform can change it, and typed
    # words are not taken for them.
    shown = {m.message_id: m for m in journey.emulator.chat(user.id)}
    if platform != "wecom":  # WeCom changes a card only in answer to its click
        assert shown[consent.message_id].buttons == []
    [reply] = await journey.send(user, "hello")
    assert reply.text.startswith("我没有理解")


async def test_coordinator_command_refused_politely_for_others(journey: Journey) -> None:
    user = journey.user(1009, "冯工", "en")
    [reply] = await journey.send(user, "/stats")
    assert reply.text == "Sorry, this command is for programme coordinators only."
    coordinator = journey.user(COORDINATOR_ID, "Coordinator", "en")
    [reply] = await journey.send(coordinator, "/stats")
    assert reply.text.startswith("📊 Programme figures")
    assert "🏭 Enterprises 0 · demands 0 (0 open)" in reply.text


async def test_language_command_switches_at_any_time(journey: Journey) -> None:
    user = journey.user(1010, "陈工", "zh-hans")
    [question] = await journey.send(user, "/language")
    [edited] = journey.shown(await journey.press(user, "English"))
    assert edited.text == "Language set to English." and journey.replaces(edited, question)
    [reply] = await journey.send(user, "/help")
    assert "/language change language" in reply.text


@pytest.mark.telegram_only
async def test_a_press_answered_too_late_still_does_what_it_asked(journey: Journey) -> None:
    """The bot was down or busy past Telegram's window for answering a press: the answer
    fails, but the consent is kept and the conversation moves on."""
    wang = journey.user(1021, "王工", "zh-hans")
    await journey.send(wang, "/start")
    journey.emulator.callback_query_timeout = -1  # every answer is now too late
    reactions = await journey.press(wang, "✅ 同意")
    assert reactions[-1].text == "请选择语言："
    assert journey.answers(wang) == []
    stored = await get_user(db=journey.db, telegram_id=1021)
    assert stored is not None and stored.consent_at is not None


async def test_a_specialist_reaches_the_enterprise_side_from_start_and_back(
    journey: Journey,
) -> None:
    """No dead end: /new_demand tells a specialist where to go, /start offers the side
    question, and each side keeps its own registration when the person switches back."""
    j = journey
    li = j.user(1021, "李工", "zh-hans")
    await j.send(li, "/start specialist")
    await j.press(li, "✅ 同意")
    await j.press(li, "中文")
    [told] = await j.send(li, "/new_demand")
    assert told.text == "这个命令供企业使用。如果您代表企业，请发送 /start 并点“🔄 切换身份”。"

    welcome = await j.send(li, "/start")  # on WeCom, the text and then its card
    assert welcome[0].text.startswith("欢迎回来！") and welcome[-1].buttons == ["🔄 切换身份"]
    [*_, sides] = await j.press(li, "🔄 切换身份")
    assert sides.text == "您是哪一方？"
    reactions = await j.press(li, "🏭 企业（提出技术需求）")
    assert reactions[-1].text == "企业名称是什么？（2–100 个字）"
    stored = await get_user(db=j.db, telegram_id=1021)
    assert stored is not None and stored.role == "enterprise"

    await j.send(li, "/cancel")
    await j.send(li, "/start")
    await j.press(li, "🔄 切换身份")
    reactions = await j.press(li, "🎓 科技特派员（提供技术服务）")
    assert reactions[-1].text == "请输入您的姓名："  # the specialist form, where it was left
    stored = await get_user(db=j.db, telegram_id=1021)
    assert stored is not None and stored.role == "specialist"


async def test_a_coordinator_needs_no_side(journey: Journey) -> None:
    j = journey
    boss = j.user(COORDINATOR_ID, "协调员", "zh-hans")
    await j.send(boss, "/start")
    await j.press(boss, "✅ 同意")
    reactions = await j.press(boss, "English")
    texts = "\n".join(m.text for m in reactions)
    assert "/pending" in texts and "not chosen a side" not in texts
    welcome = await j.send(boss, "/start")  # on WeCom, the text and then its card
    assert welcome[0].text.startswith("Welcome back!") and "/pending" in welcome[0].text
    assert "not chosen a side" not in welcome[0].text


async def test_language_in_the_middle_of_a_form_asks_its_question_again(
    journey: Journey,
) -> None:
    j = journey
    wang = j.user(1031, "王工", "zh-hans")
    await j.send(wang, "/start enterprise")
    await j.press(wang, "✅ 同意")
    reactions = await j.press(wang, "中文")
    assert reactions[-1].text == "企业名称是什么？（2–100 个字）"
    await j.send(wang, "/language")
    reactions = await j.press(wang, "English")
    assert reactions[-1].text == "What is the enterprise's name? (2–100 characters)"
    [*_, asked] = await j.send(wang, "Anshan Precision Steel Co.")
    assert asked.text.startswith("Unified social credit code")

"""A specialist keeps availability current in one tap (/availability), and the monthly
check asks each approved specialist once, marks the silent after a week and never
deletes anything; the clock is moved, the daily job is run as the JobQueue would."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from storage.dialogues import load_dialogue
from storage.models import SpecialistStatus
from tests.e2e.conftest import COORDINATOR_ID, Journey
from tests.e2e.specialist_helpers import (
    local,
    registered,
    run_monthly_check,
    specialist_user,
    stored,
    user_id,
)

QUESTION = "月度确认\n这个月您仍然可以为企业提供服务吗？点一下即可回复。"


async def test_pause_resume_and_change_capacity_and_days(journey: Journey) -> None:
    j = journey
    wu = await specialist_user(j, 6001, "吴工", "zh-hans")
    [reply] = await j.send(wu, "/availability")
    assert reply.text == "您还没有专家资料。发送 /profile 登记。"
    await registered(j, wu, approve=True)

    [view] = await j.send(wu, "/availability")
    assert view.text.startswith(
        "您的可服务情况\n状态：✅ 已通过\n🗓 每月 4 天\n👥 同时服务企业：最多 2 家"
    )
    assert j.choices(view)[:4] == ["⏸ 1 周", "⏸ 2 周", "⏸ 1 个月", "📅 暂停到某天…"]
    assert "▶ 现在恢复" not in j.choices(view) and "✅ 2" in j.choices(view)

    told, [paused] = j.answered(wu, await j.press(wu, "⏸ 1 周"))
    assert told == "已保存"
    assert j.replaces(paused, view)
    assert "⏸ 暂停至 2026-03-09" in paused.text and "▶ 现在恢复" in j.choices(paused)
    assert (await stored(j, 6001)).paused_until == dt.date(2026, 3, 9)
    await j.press(wu, "⏸ 1 个月")
    assert (await stored(j, 6001)).paused_until == dt.date(2026, 4, 2)

    _, [resumed] = j.answered(wu, await j.press(wu, "▶ 现在恢复"))
    assert "暂停至" not in resumed.text and "▶ 现在恢复" not in j.choices(resumed)
    _, [changed] = j.answered(wu, await j.press(wu, "👥 4"))
    assert "👥 同时服务企业：最多 4 家" in changed.text and "✅ 4" in j.choices(changed)
    await j.press(wu, "🗓 8")
    specialist = await stored(j, 6001)
    assert (specialist.paused_until, specialist.capacity, specialist.days_per_month) == (None, 4, 8)

    # Forged values are refused and change nothing.
    await j.press_data(wu, view.message_id, "avl:cap:9")
    assert j.answers(wu)[-1] == "无法识别的按钮。"
    assert (await stored(j, 6001)).capacity == 4


async def test_pause_until_a_typed_date_survives_a_restart(journey: Journey) -> None:
    j = journey
    zheng = await specialist_user(j, 6010, "Zheng", "en")
    await registered(j, zheng, approve=True)
    await j.send(zheng, "/availability")
    [ask] = j.shown(await j.press(zheng, "📅 Pause until a date…"))
    assert ask.text.startswith("Pause until which day? Type a date like 2026-04-02 ")
    assert ask.buttons == ["✖ Cancel"]
    await j.restart()

    [error, again] = await j.send(zheng, "next Friday")
    assert error.text == "Please type the date like 2026-03-03."  # the earliest accepted
    assert again.text == ask.text
    [error, _] = await j.send(zheng, "2026-03-02")  # today: a pause ends tomorrow at the earliest
    assert error.text == "The date cannot be before 2026-03-03."
    [view] = await j.send(zheng, "2026-04-15")
    assert "⏸ paused until 2026-04-15" in view.text
    assert (await stored(j, 6010)).paused_until == dt.date(2026, 4, 15)
    assert await load_dialogue(db=j.db, user_id=await user_id(j, 6010)) is None

    await j.press(zheng, "📅 Pause until a date…")
    [cancelled] = j.shown(await j.press(zheng, "✖ Cancel"))
    assert cancelled.text == "OK, nothing was changed."
    assert (await stored(j, 6010)).paused_until == dt.date(2026, 4, 15)


async def test_the_check_runs_daily_at_ten_in_the_bot_timezone(journey: Journey) -> None:
    next_run = journey.next_fire("monthly_check")
    shanghai = next_run.astimezone(ZoneInfo("Asia/Shanghai"))
    assert (shanghai.hour, shanghai.minute) == (10, 0)


async def test_monthly_check_asks_once_and_marks_the_silent_after_a_week(
    journey: Journey,
) -> None:
    j = journey
    boss = j.user(COORDINATOR_ID, "协调员")
    await j.send(boss, "/help")
    chen = await specialist_user(j, 6020, "陈工", "zh-hans")
    lee = await specialist_user(j, 6021, "Lee", "en")
    await registered(j, chen, approve=True, name="陈明")
    silent = await registered(
        j, lee, approve=True, name="Lee Ray", institution="Dalian Maritime University"
    )

    # Registered on March's check day (Monday 2 March): their first check is in April.
    j.clock.set(local(2026, 3, 2))
    await run_monthly_check(j)
    assert QUESTION not in [m.text for m in j.emulator.chat(chen.id)]

    # 1 April 2026 is a Wednesday: the month's first working day.
    j.clock.set(local(2026, 4, 1))
    mark = j.emulator.mark()
    await run_monthly_check(j)
    await run_monthly_check(j)  # the job running twice asks nobody twice
    await j.restart()
    await run_monthly_check(j)  # nor does a restart
    [question] = j.reactions(chen, mark)
    assert question.text == QUESTION
    assert question.buttons == ["✅ 是的，仍可服务", "⏸ 暂停一个月", "🚪 不再参与"]
    [english] = j.reactions(lee, mark)
    assert english.buttons == [
        "✅ Yes, still available",
        "⏸ Pause for a month",
        "🚪 No longer available",
    ]

    [answered] = j.shown(await j.press(chen, "✅ 是的，仍可服务"))
    assert answered.text.endswith("✅ 已记录：仍可服务。谢谢！") and answered.buttons == []
    await j.press_data(chen, question.message_id, question.callback_data[1])
    assert j.answers(chen)[-1] == "您已经回复过了。"
    # Someone else's check id is not theirs to answer.
    await j.press_data(chen, question.message_id, english.callback_data[2])
    assert j.answers(chen)[-1] == "这个按钮是发给别人的，您不能使用。"

    # Six days on, nobody is marked; after seven, the silent one is, once.
    j.clock.set(local(2026, 4, 7))
    await run_monthly_check(j)
    assert (await stored(j, 6021)).not_responding_since is None
    j.clock.set(local(2026, 4, 8))
    mark = j.emulator.mark()
    await run_monthly_check(j)
    await run_monthly_check(j)
    [notice] = j.reactions(boss, mark)
    assert notice.text.startswith("🔕 1 位专家 7 天内没有回复月度确认")
    assert f"• #{silent.id} Lee Ray，Dalian Maritime University" in notice.text
    lee_now = await stored(j, 6021)
    assert lee_now.not_responding_since == local(2026, 4, 8)
    assert lee_now.status == SpecialistStatus.APPROVED  # marked, nothing deleted
    assert (await stored(j, 6020)).not_responding_since is None

    [heading, card] = await j.send(boss, "/pending")
    assert heading.text.startswith("未回复月度确认：1 位")
    assert "🔕 自 2026-04-08 起未回复月度确认" in card.text and card.buttons == ["⛔ 暂停资格"]

    # A late answer still counts: paused for a month from today, no longer marked.
    [answered] = j.shown(await j.press(lee, "⏸ Pause for a month"))
    assert answered.text.endswith(
        "⏸ Noted: paused until 2026-05-08, then you are available again by itself."
    )
    lee_now = await stored(j, 6021)
    assert (lee_now.paused_until, lee_now.not_responding_since) == (dt.date(2026, 5, 8), None)


async def test_no_longer_available_then_coming_back(journey: Journey) -> None:
    j = journey
    boss = j.user(COORDINATOR_ID, "协调员")
    await j.send(boss, "/help")
    he = await specialist_user(j, 6030, "何工", "zh-hans")
    specialist = await registered(j, he, approve=True, name="何平")
    # August 2026 starts on a Saturday: nothing is asked before Monday the 3rd.
    j.clock.set(local(2026, 8, 1))
    await run_monthly_check(j)
    assert j.emulator.last(he.id).text != QUESTION
    j.clock.set(local(2026, 8, 3))
    await run_monthly_check(j)
    assert j.emulator.last(he.id).text == QUESTION

    [answered] = j.shown(await j.press(he, "🚪 不再参与"))
    assert answered.text.endswith("想回来时发送 /availability。")
    assert (await stored(j, 6030)).status == SpecialistStatus.WITHDRAWN
    assert j.emulator.last(COORDINATOR_ID).text == (
        f"🚪 专家 #{specialist.id} 何平 在月度确认中表示不再参与服务。"
    )

    [view] = await j.send(he, "/availability")
    assert view.text.startswith("您在月度确认中表示不再参与服务") and view.buttons == [
        "✅ 我又可以服务了"
    ]
    [back] = j.shown(await j.press(he, "✅ 我又可以服务了"))
    assert back.text.startswith("您的可服务情况\n状态：✅ 已通过")
    assert (await stored(j, 6030)).status == SpecialistStatus.APPROVED
    assert j.emulator.last(COORDINATOR_ID).text == (
        f"✅ 专家 #{specialist.id} 何平 表示又可以服务了（恢复为已通过）。"
    )

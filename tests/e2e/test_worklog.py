"""A specialist logs work with /log and the enterprise confirms or disputes each entry in one
tap: only confirmed work counts; bad input is asked again; forged buttons change nothing."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlmodel import col

from channels.telegram.emulator.models import SentMessage, User
from storage.dialogues import load_dialogue
from storage.models import WorkLog
from tests.e2e.conftest import COORDINATOR_ID, Journey
from tests.e2e.engagement_steps import (
    approved_specialist,
    card,
    engage,
    enterprise,
    forge,
    last,
)
from tests.e2e.enterprise_steps import texts, user_id


async def logs_of(j: Journey, engagement_id: int) -> list[WorkLog]:
    async with j.db.transaction() as session:
        found = await session.execute(
            select(WorkLog)
            .where(col(WorkLog.engagement_id) == engagement_id)
            .order_by(col(WorkLog.id))
        )
        return list(found.scalars())


async def submitted(
    j: Journey, expert: User, company: User, mode: str, hours: str, summary: str
) -> SentMessage:
    """The rest of a log after its day, confirmed: what the enterprise is asked to confirm."""
    await j.press(expert, mode)
    await j.press(expert, hours)
    await j.send(expert, summary)
    mark = j.emulator.mark()
    await j.press(expert, "✅ 确认提交")
    [to_confirm] = j.reactions(company, mark)
    return to_confirm


async def test_a_log_confirmed_and_one_disputed(journey: Journey) -> None:
    j = journey
    company = await enterprise(j, 7001, "王经理")
    expert = await approved_specialist(j, 7002, "陈明")
    pair = await engage(j, company, expert)
    boss = j.emulator.add_user(user_id=COORDINATOR_ID, first_name="协调员", started=True)

    # Monday 2 March, the engagement's first day: "yesterday" is not offered.
    [ask_date] = await j.send(expert, "/log")
    assert ask_date.text == (
        "“铸件气孔问题”的工作记录\n哪一天的工作？点按钮，或输入日期，如 2026-03-02。"
    )  # the example is a day the log accepts: the first day, today
    assert ask_date.buttons == ["今天（2026-03-02）", "✖ 取消"]
    [error, again] = await j.send(expert, "2026-03-01")
    assert error.text == "日期不能早于 2026-03-02。"
    assert again.text == ask_date.text
    await j.press(expert, "今天（2026-03-02）")
    [_, ask_hours] = j.shown(await j.press(expert, "🏭 现场"))
    assert ask_hours.buttons[:4] == ["1 小时", "2 小时", "4 小时", "8 小时"]
    [error, _] = await j.send(expert, "25")
    assert error.text == "请输入 0.5 到 24 之间的小时数，以半小时为单位，如 3 或 2.5。"
    [error, _] = await j.send(expert, "2.3")
    assert error.text.startswith("请输入 0.5 到 24")
    await j.send(expert, "３,5小时")  # full-width digit, decimal comma, unit: 3.5 hours
    [error, _] = await j.send(expert, "看了")
    assert error.text == "太短了：至少 5 个字（现在 2 个）。"
    summary = last(await j.send(expert, "现场检查熔炼与浇注工艺，取样分析气孔成因"))
    assert summary.text.splitlines() == [
        "请核对工作记录",
        "日期：2026-03-02",
        "方式：🏭 现场",
        "时长：3.5 小时",
        "工作内容：现场检查熔炼与浇注工艺，取样分析气孔成因",
    ]
    mark = j.emulator.mark()
    sent = await j.press(expert, "✅ 确认提交")
    assert (
        last(sent).text == "📝 已记录，已请 鞍山精工钢构有限公司 确认：只有经企业确认的工作才计入。"
    )
    [to_confirm] = j.reactions(company, mark)
    assert to_confirm.text.startswith("📝 “铸件气孔问题”有新的工作记录\n👤 陈明（大连理工大学）\n")
    assert "• 2026-03-02 · 🏭 现场 · 3.5 小时 · ⏳ 待确认" in to_confirm.text
    assert to_confirm.buttons == ["✅ 确认", "❌ 有异议"]
    [entry] = await logs_of(j, pair.engagement_id)
    assert (entry.work_date, entry.mode, entry.hours, entry.status) == (
        dt.date(2026, 3, 2),
        "onsite",
        3.5,
        "pending",
    )

    # The specialist cannot confirm their own entry with a forged button.
    await j.press_data(expert, to_confirm.message_id, to_confirm.callback_data[0])
    assert j.answers(expert)[-1] == "这个按钮是发给别人的，您不能使用。"
    raw = await j.data_behind(to_confirm.callback_data[0])
    await j.press_data(expert, to_confirm.message_id, raw)
    assert j.answers(expert)[-1] == "无法识别的按钮。"
    assert (await logs_of(j, pair.engagement_id))[0].status == "pending"

    mark = j.emulator.mark()
    [confirmed] = j.shown(await j.press(company, "✅ 确认"))
    assert confirmed.text.endswith("已记录：✅ 已确认") and confirmed.buttons == []
    [told] = j.reactions(expert, mark)
    assert told.text.startswith("✅ 鞍山精工钢构有限公司 确认了您在“铸件气孔问题”的工作：")
    await j.press_data(company, to_confirm.message_id, to_confirm.callback_data[1])
    assert j.answers(company)[-1] == "该记录已处理过。"  # a second tap changes nothing
    assert (await logs_of(j, pair.engagement_id))[0].status == "confirmed"

    # Two days on, a remote entry for a typed day, which the enterprise disputes.
    j.clock.advance(dt.timedelta(days=2))
    [ask_date] = await j.send(expert, "/log")
    assert ask_date.buttons == ["今天（2026-03-04）", "昨天（2026-03-03）", "✖ 取消"]
    assert ask_date.text.endswith("或输入日期，如 2026-03-03。")
    [error, _] = await j.send(expert, "2026-03-05")
    assert error.text == "日期不能晚于今天。"
    await j.send(expert, "2026年3月3日")
    to_confirm = await submitted(
        j, expert, company, "💻 远程", "2 小时", "远程讨论浇注系统改进方案"
    )
    mark = j.emulator.mark()
    [disputed, why] = j.shown(await j.press(company, "❌ 有异议", to_confirm.message_id))
    assert disputed.text.endswith("已记录：❌ 有异议")
    assert why.text.startswith("哪里不对？") and why.buttons == ["跳过"]
    # The specialist and the coordinators know at once, whether or not a reason follows.
    [told] = j.reactions(expert, mark)
    assert told.text.startswith("❌ 鞍山精工钢构有限公司 对您在“铸件气孔问题”的工作记录有异议。")
    [alerted] = j.reactions(boss, mark)
    assert alerted.text.startswith(
        f"❌ 工作记录有异议：对接 #{pair.engagement_id}“铸件气孔问题”，鞍山精工钢构有限公司"
    )
    assert "2026-03-03 · 💻 远程 · 2 小时" in alerted.text
    mark = j.emulator.mark()
    reactions = await j.send(company, "那天我们没有开会")
    if j.platform == "wecom":  # a card changes only in answer to its click: Skip stays drawn
        [thanks] = reactions
    else:
        [asked, thanks] = reactions
        assert asked.message_id == why.message_id and asked.buttons == []  # no Skip left
    assert thanks.text == "已转告专家和项目协调员。"
    [reason] = j.reactions(expert, mark)
    assert reason.text == "企业说明的原因：那天我们没有开会"
    [reason] = j.reactions(boss, mark)
    assert reason.text == f"对接 #{pair.engagement_id} 工作记录异议的原因：那天我们没有开会"
    if j.platform == "wecom":  # ... and does nothing any more
        assert j.shown(await j.press(company, "跳过", why.message_id)) == []
        assert j.answers(company)[-1] == "这个按钮已失效。"
    [reply] = await j.send(company, "还有一句")  # the reason is taken once
    assert reply.text.startswith("我没有理解")
    first, second = await logs_of(j, pair.engagement_id)
    assert second.dispute_reason == "那天我们没有开会"
    assert first.status == "confirmed"
    assert (second.work_date, second.mode, second.hours, second.status) == (
        dt.date(2026, 3, 3),
        "remote",
        2.0,
        "disputed",
    )
    # Only the confirmed entry counts.
    stored = await card(j, pair.engagement_id)
    assert (stored.confirmed_hours, stored.pending_logs) == (3.5, 0)
    [view] = await j.send(company, "/engagements")
    assert "🗓 已确认 3.5 小时，折合 0.44 个服务日 · 待企业确认 0 条" in view.text

    # A third entry disputed without a reason: Skip ends the question, once.
    await j.send(expert, "/log")
    await j.press(expert, "今天（2026-03-04）")
    to_confirm = await submitted(j, expert, company, "🏭 现场", "1 小时", "现场查看新模具试模情况")
    [*_, why] = await j.press(company, "❌ 有异议", to_confirm.message_id)
    [skipped] = j.shown(await j.press(company, "跳过", why.message_id))
    assert skipped.text.endswith("好的。需要时可以直接联系项目协调员。") and skipped.buttons == []
    await j.press_data(company, why.message_id, why.callback_data[0])
    assert j.answers(company)[-1] == "这个按钮已失效。"
    [reply] = await j.send(company, "补充一句")
    assert reply.text.startswith("我没有理解")
    assert (await logs_of(j, pair.engagement_id))[2].dispute_reason is None


async def test_several_engagements_are_chosen_from_and_a_restart_loses_nothing(
    journey: Journey,
) -> None:
    j = journey
    expert = await approved_specialist(j, 7011, "Li Wei", "en")
    first = await engage(j, await enterprise(j, 7012, "王经理"), expert)
    other = await enterprise(j, 7013, "刘经理", name="大连海工装备有限公司")
    second = await engage(j, other, expert)
    stranger = await approved_specialist(j, 7014, "赵强")

    [which] = await j.send(expert, "/log")
    assert which.text == "Which engagement was the work for?"
    assert which.buttons == ["铸件气孔问题", "铸件气孔问题"]
    # Someone else's engagement id in a forged button opens nothing.
    assert await forge(j, stranger, which.callback_data[0]) == "这个按钮是发给别人的，您不能使用。"
    assert (
        await forge(j, stranger, await j.data_behind(which.callback_data[0])) == "无法识别的按钮。"
    )
    assert await load_dialogue(db=j.db, user_id=await user_id(j, 7014)) is None

    await j.press_data(expert, which.message_id, f"wlf:for:{second.engagement_id}")
    await j.press(expert, "Today (2026-03-02)")
    await j.restart()
    await j.press(expert, "💻 Remote")
    [error, again] = await j.send(expert, "a while")
    assert error.text == "Please type hours from 0.5 to 24 in half hours, like 3 or 2.5."
    assert again.text.startswith("How many hours?")
    await j.send(expert, "1.5 h")
    await j.send(expert, "Reviewed the gating design by video call")
    mark = j.emulator.mark()
    [*_, done] = await j.press(expert, "✅ Confirm")
    assert (
        done.text
        == "📝 Logged. 大连海工装备有限公司 is asked to confirm it: only confirmed work counts."
    )
    assert texts(j.reactions(other, mark))[0].startswith("📝 “铸件气孔问题”有新的工作记录")
    assert [log.hours for log in await logs_of(j, second.engagement_id)] == [1.5]
    assert await logs_of(j, first.engagement_id) == []
    # /log in the middle of the form asks the same question again.
    await j.send(expert, "/log")
    await j.press_data(expert, which.message_id, f"wlf:for:{first.engagement_id}")
    [resumed, question] = await j.send(expert, "/log")
    assert resumed.text == "You are in the middle of a work log: here is where you were."
    assert question.text.startswith("Work on “铸件气孔问题”\nWhich day?")


async def test_only_specialists_with_an_active_engagement_log(journey: Journey) -> None:
    j = journey
    company = await enterprise(j, 7021, "王经理")
    [refused] = await j.send(company, "/log")
    assert refused.text == "只有专家可以记录服务工作。发送 /start 选择身份。"
    idle = await approved_specialist(j, 7022, "孙工")
    [none] = await j.send(idle, "/log")
    assert none.text == "您目前没有进行中的服务对接。发送 /engagements 查看。"

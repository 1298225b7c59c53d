"""Both sides follow their engagements: the cards, completion agreed by both with ratings and
the outcome, cancelling with a reason, the weekly "please log" nudge and the monthly question
to the enterprise, with the clock moved and the daily job run as the JobQueue would."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

from storage.demands import get_demand
from storage.engagements import troubled_engagements
from storage.models import DemandStatus
from tests.e2e.conftest import Journey
from tests.e2e.engagement_steps import (
    CASTING,
    approved_specialist,
    ask,
    card,
    engage,
    enterprise,
    forge,
    last,
    local,
    nudge,
    run_daily_job,
)
from tests.e2e.enterprise_steps import user_id

DAY = dt.timedelta(days=1)


async def test_both_sides_see_the_engagement_and_the_demand_leads_to_it(journey: Journey) -> None:
    j = journey
    company = await enterprise(j, 7101, "王经理")
    expert = await approved_specialist(j, 7102, "Chen Ming", "en")
    pair = await engage(j, company, expert)

    [listing] = await j.send(expert, "/engagements")
    lines = [
        "Your engagements (1)",
        "",
        "1. 铸件气孔问题 · 🟢 active",
        "🏭 鞍山精工钢构有限公司",
        "🗓 Confirmed: 0 h = 0 service days · waiting for confirmation: 0",
    ]
    if j.platform == "wecom":  # a card: its title stands apart, with no blank line below
        lines.remove("")
    assert listing.text.splitlines() == lines
    [opened] = j.shown(await j.press(expert, "1. 铸件气孔问题"))
    assert j.replaces(opened, listing)
    assert opened.text.splitlines()[:5] == [
        f"#{pair.engagement_id} “铸件气孔问题”",
        "🏭 鞍山精工钢构有限公司",
        "Status: 🟢 active",
        "📞 Contact: 王工, +8613800138000",
        "📅 2026-03-02 → …",
    ]
    assert opened.buttons == [
        "📝 Log work",
        "🏁 The work is done",
        "✖ End the engagement",
        "‹ All engagements",
    ]
    [back] = j.shown(await j.press(expert, "‹ All engagements"))
    assert back.text.startswith("Your engagements (1)")

    # The enterprise reaches the same engagement from its matched demand.
    await j.send(company, "/my_demands")
    [demand] = j.shown(await j.press(company, "1. 铸件气孔问题"))
    assert "🤝 查看服务对接" in demand.buttons
    [seen] = j.shown(await j.press(company, "🤝 查看服务对接"))
    assert seen.text.splitlines()[:4] == [
        f"#{pair.engagement_id}“铸件气孔问题”",
        "👤 Chen Ming（大连理工大学）",
        "状态：🟢 进行中",
        "📞 联系方式：Chen Ming，+8613800138000",
    ]
    assert "📝 记录工作" not in seen.buttons  # only the specialist logs work

    # Someone else's engagement, by a forged button, shows nothing.
    stranger = await enterprise(j, 7103, "刘经理", name="大连海工装备有限公司")
    assert (
        await forge(j, stranger, f"eng:open:{pair.engagement_id}") == "找不到该对接，或它不属于您。"
    )
    assert await forge(j, stranger, f"eng:dem:{pair.demand_id}") == "找不到该对接，或它不属于您。"
    [none] = await j.send(stranger, "/engagements")
    assert none.text == "您还没有服务对接。为需求选定专家后，对接会显示在这里。"
    nobody = j.user(7104, "路人")
    [refused] = await j.send(nobody, "/engagements")
    assert refused.text == "服务对接仅供企业和专家使用：发送 /start 选择身份。"


async def test_completion_with_ratings_and_outcome(journey: Journey) -> None:
    j = journey
    company = await enterprise(j, 7111, "王经理")
    expert = await approved_specialist(j, 7112, "陈明")
    pair = await engage(j, company, expert)

    await j.send(expert, "/engagements")
    await j.press(expert, "1. 铸件气孔问题")
    mark = j.emulator.mark()
    [waiting] = j.shown(await j.press(expert, "🏁 工作已完成"))
    assert j.answers(expert)[-1] == "已发送，等待对方确认。"
    assert "🏁 您已申请结束，等待对方确认。" in waiting.text
    assert "🏁 工作已完成" not in waiting.buttons
    [asked] = j.reactions(company, mark)
    assert asked.text == "🏁 👤 陈明（大连理工大学）认为“铸件气孔问题”的工作已完成。您同意结束吗？"
    assert asked.buttons == ["✅ 确认完成", "还没有"]

    # Not yet: the engagement stays active and the specialist is told.
    mark = j.emulator.mark()
    [kept] = j.shown(await j.press(company, "还没有"))
    assert "状态：🟢 进行中" in kept.text and "🏁 工作已完成" in kept.buttons
    [told] = j.reactions(expert, mark)
    assert told.text == "🏭 鞍山精工钢构有限公司认为“铸件气孔问题”的工作尚未完成，对接继续进行。"
    await j.press_data(company, asked.message_id, asked.callback_data[0])
    assert j.answers(company)[-1] == "情况已有变化，以下是最新状态。"
    assert (await card(j, pair.engagement_id)).engagement.status == "active"

    # The enterprise proposes this time; the specialist confirms.
    j.clock.advance(3 * DAY)
    mark = j.emulator.mark()
    await j.press(company, "🏁 工作已完成", kept.message_id)
    [asked] = j.reactions(expert, mark)
    assert asked.text.startswith("🏁 🏭 鞍山精工钢构有限公司认为“铸件气孔问题”的工作已完成。")
    mark = j.emulator.mark()
    [completed] = j.shown(await j.press(expert, "✅ 确认完成"))
    assert j.answers(expert)[-1] == "已完成。"
    assert "状态：✅ 已完成" in completed.text and "📅 2026-03-02 → 2026-03-05" in completed.text
    assert completed.buttons == ["⭐ 评价与反馈", "‹ 全部对接"]
    [told] = j.reactions(company, mark)
    assert told.text == "✅ 👤 陈明（大连理工大学）已确认：“铸件气孔问题”的对接已完成。请给出评价。"
    assert told.buttons == ["⭐ 评价与反馈"]

    # The enterprise rates the specialist and records the outcome.
    rating = last(await j.press(company, "⭐ 评价与反馈"))
    assert rating.text == "您如何评价与 陈明 在“铸件气孔问题”上的合作？（5 分最好）"
    assert rating.buttons[:5] == ["⭐⭐⭐⭐⭐", "⭐⭐⭐⭐", "⭐⭐⭐", "⭐⭐", "⭐"]
    [error, _] = await j.send(company, "很好")
    assert error.text == "请点按钮选择。"
    await j.press(company, "⭐⭐⭐⭐⭐")
    await j.press(company, "🔸 部分解决")
    await j.press(company, "专利")
    await j.press(company, "培养了人才")
    comment = last(await j.press(company, "✔ 选好了"))
    assert comment.text.startswith("想说几句吗？") and "跳过" in comment.buttons
    summary = last(await j.send(company, "陈老师很负责，每周到厂"))
    assert summary.text.splitlines() == [
        "请核对您的评价",
        "评分：⭐⭐⭐⭐⭐",
        "结果：🔸 部分解决",
        "成果：专利、培养了人才",
        "评语：陈老师很负责，每周到厂",
    ]
    [*_, thanks] = j.shown(await j.press(company, "✅ 确认提交"))
    assert thanks.text == "谢谢，您的评价已记录。"

    # The specialist rates the enterprise; a second rating is refused.
    [*_, rate] = await j.send(expert, "/engagements")
    await j.press(expert, "1. 铸件气孔问题")
    await j.press(expert, "⭐ 评价与反馈")
    await j.press(expert, "⭐⭐⭐⭐")
    await j.press(expert, "跳过")  # no comment
    [*_, thanks] = j.shown(await j.press(expert, "✅ 确认提交"))
    assert thanks.text == "谢谢，您的评价已记录。"
    await j.press_data(expert, rate.message_id, f"cmp:rate:{pair.engagement_id}")
    assert j.answers(expert)[-1] == "您对该对接的评价已记录过。"

    final = (await card(j, pair.engagement_id)).engagement
    assert (final.status, final.rating_of_specialist, final.rating_of_enterprise) == (
        "completed",
        5,
        4,
    )
    assert (final.outcome, final.results) == ("partly", ["patent", "trained"])
    assert (final.comment_on_specialist, final.comment_on_enterprise) == (
        "陈老师很负责，每周到厂",
        None,
    )
    [listing] = await j.send(company, "/engagements")
    [view] = j.shown(await j.press(company, "1. 铸件气孔问题", listing.message_id))
    assert "企业对专家的评分：⭐⭐⭐⭐⭐ · “陈老师很负责，每周到厂”" in view.text
    assert "专家对企业的评分：⭐⭐⭐⭐\n" in view.text
    assert "结果：🔸 部分解决 · 成果：专利、培养了人才" in view.text
    assert view.buttons == ["‹ 全部对接"]


async def test_ending_an_engagement_opens_the_demand_again(journey: Journey) -> None:
    j = journey
    company = await enterprise(j, 7121, "Wang", "en")
    expert = await approved_specialist(j, 7122, "陈明")
    pair = await engage(j, company, expert, dataclasses.replace(CASTING, title="Porous castings"))

    await j.send(expert, "/engagements")
    await j.press(expert, "1. Porous castings")
    [why] = j.shown(await j.press(expert, "✖ 终止对接"))
    assert why.text == "为什么终止“Porous castings”的对接？"
    assert why.buttons == ["不再需要", "不太合适", "没有时间继续", "其他原因", "◀ 上一步"]
    [back] = j.shown(await j.press(expert, "◀ 上一步"))
    assert "✖ 终止对接" in back.buttons
    await j.press(expert, "✖ 终止对接")
    mark = j.emulator.mark()
    [ended] = j.shown(await j.press(expert, "没有时间继续"))
    assert j.answers(expert)[-1] == "已终止。该需求已重新开放给其他专家。"
    assert "状态：✖ 已终止：没有时间继续" in ended.text
    assert ended.buttons == ["‹ 全部对接"]
    [told] = j.reactions(company, mark)
    assert told.text.startswith(
        "✖ 👤 陈明 (Dalian University of Technology) ended the engagement on “Porous castings”. Reason: No time to continue."
    )
    assert "close it in /my_demands" in told.text
    demand = await get_demand(
        db=j.db, owner_user_id=await user_id(j, 7121), demand_id=pair.demand_id
    )
    assert demand is not None and demand.demand.status == DemandStatus.OPEN
    # An old cancel button does nothing more.
    await j.press_data(expert, ended.message_id, f"eng:why:{pair.engagement_id}.other")
    assert j.answers(expert)[-1] == "情况已有变化，以下是最新状态。"
    assert (await card(j, pair.engagement_id)).engagement.end_reason == "no_time"


async def test_weekly_nudge_while_no_work_is_logged(journey: Journey) -> None:
    j = journey
    company = await enterprise(j, 7131, "王经理")
    expert = await approved_specialist(j, 7132, "陈明")
    pair = await engage(j, company, expert)

    j.clock.advance(13 * DAY)
    assert await nudge(j) == 0  # 13 days without a log: not yet
    j.clock.advance(DAY)
    mark = j.emulator.mark()
    assert await nudge(j) == 1
    assert await nudge(j) == 0  # the job running twice nudges once
    await j.restart()
    assert await nudge(j) == 0  # nor does a restart
    [nudged] = j.reactions(expert, mark)
    assert nudged.text == (
        "📝 “铸件气孔问题”（🏭 鞍山精工钢构有限公司）已有 14 天没有工作记录。"
        "请记录已完成的工作，以便计入服务日和创新券。"
    )
    assert nudged.buttons == ["📝 记录工作"]
    assert j.reactions(company, mark) == []

    # Six days later nothing; on the seventh, again, with the real count of silent days.
    j.clock.advance(6 * DAY)
    assert await nudge(j) == 0
    j.clock.advance(DAY)
    mark = j.emulator.mark()
    assert await nudge(j) == 1
    [again] = j.reactions(expert, mark)
    assert "已有 21 天没有工作记录" in again.text

    # The button opens the log for that engagement; once work is logged, the nudges stop.
    [ask_date] = j.shown(await j.press(expert, "📝 记录工作", nudged.message_id))
    assert ask_date.text.startswith("“铸件气孔问题”的工作记录")
    await j.press(expert, "今天（2026-03-23）")
    await j.press(expert, "💻 远程")
    await j.press(expert, "2 小时")
    await j.send(expert, "远程检查试制件的检测报告")
    await j.press(expert, "✅ 确认提交")
    j.clock.advance(7 * DAY)
    assert await nudge(j) == 0
    assert (await card(j, pair.engagement_id)).pending_logs == 1


async def test_monthly_question_to_the_enterprise_and_a_no_for_the_digest(
    journey: Journey,
) -> None:
    j = journey
    company = await enterprise(j, 7141, "王经理")
    english = await enterprise(j, 7142, "Liu", "en", name="Dalian Marine Works")
    expert = await approved_specialist(j, 7143, "陈明")
    first = await engage(j, company, expert)
    second = await engage(j, english, expert)

    # Engaged on 2 March: too recent for March, even once two weeks old mid-March (or it
    # would be asked again a fortnight later); asked from April's first working day.
    j.clock.set(local(2026, 3, 10))
    assert await ask(j) == 0
    j.clock.set(local(2026, 3, 20))
    assert await ask(j) == 0
    j.clock.set(local(2026, 4, 1))
    mark = j.emulator.mark()
    assert await ask(j) == 2
    assert await ask(j) == 0  # the job running twice asks nobody twice
    [question] = j.reactions(company, mark)
    assert question.text == "月度回访\n“铸件气孔问题”的服务进展顺利吗？\n👤 陈明（大连理工大学）"
    assert question.buttons == ["👍 顺利", "🤏 一般", "👎 不顺利"]
    [in_english] = j.reactions(english, mark)
    assert in_english.buttons == ["👍 Yes", "🤏 Partly", "👎 No"]

    [noted] = j.shown(await j.press(company, "👎 不顺利"))
    assert noted.text.endswith("已记录。项目协调员会与您联系跟进。") and noted.buttons == []
    await j.press_data(company, question.message_id, question.callback_data[0])
    assert j.answers(company)[-1] == "您已经回复过了。"
    # The other enterprise's question is not this one's to answer.
    theirs = in_english.callback_data[2]
    await j.press_data(company, question.message_id, theirs)
    assert j.answers(company)[-1] == "这个按钮是发给别人的，您不能使用。"
    await j.press_data(company, question.message_id, await j.data_behind(theirs))
    assert j.answers(company)[-1] == "无法识别的按钮。"
    await j.press(english, "👍 Yes")

    [troubled] = await troubled_engagements(db=j.db, since=local(2026, 4, 1, 0))
    assert (troubled.engagement_id, troubled.answer, troubled.enterprise_name) == (
        first.engagement_id,
        "no",
        "鞍山精工钢构有限公司",
    )
    assert second.engagement_id != troubled.engagement_id

    # May: asked again, once, by the daily job itself.
    j.clock.set(local(2026, 5, 4))
    mark = j.emulator.mark()
    await run_daily_job(j)
    assert len(j.reactions(company, mark)) == 1


async def test_the_daily_job_runs_at_half_past_ten_in_the_bot_timezone(journey: Journey) -> None:
    next_t = journey.next_fire("engagement_checkins")
    shanghai = next_t.astimezone(ZoneInfo("Asia/Shanghai"))
    assert (shanghai.hour, shanghai.minute) == (10, 30)

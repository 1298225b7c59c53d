"""Coordinators record innovation vouchers (/voucher, in one line or step by step), see them
grow with confirmed work, and read the dispatching units' figures (/units)."""

from __future__ import annotations

import dataclasses

from storage.engagements import (
    NewWorkLog,
    add_work_log,
    cancel_engagement,
    decide_work_log,
    voucher_totals,
)
from tests.e2e.conftest import COORDINATOR_ID, Journey
from tests.e2e.engagement_steps import (
    CASTING,
    Engaged,
    approved_specialist,
    card,
    engage,
    enterprise,
    last,
)

USAGE = (
    "用法：/voucher 对接编号 金额 用途，例如 /voucher 12 20000 铸件缺陷检测；"
    "或只发送 /voucher 按步骤填写。"
)


async def confirmed_work(j: Journey, pair: Engaged, *hours: float, confirm: bool = True) -> None:
    """The specialist logged these hours and the enterprise confirmed (or disputed) each."""
    stored = await card(j, pair.engagement_id)
    for amount in hours:
        added = await add_work_log(
            db=j.db,
            engagement_id=stored.id,
            specialist_user_id=stored.specialist_user.id or 0,
            entry=NewWorkLog(j.clock.now().date(), "onsite", amount, "现场工艺试验"),
            now=j.clock.now(),
        )
        assert added is not None and added[0].id is not None
        result, _, _ = await decide_work_log(
            db=j.db,
            log_id=added[0].id,
            owner_user_id=stored.owner.id or 0,
            confirm=confirm,
            now=j.clock.now(),
        )
        assert result == "done"


async def test_a_voucher_recorded_in_one_line_and_reported(journey: Journey) -> None:
    j = journey
    boss = j.user(COORDINATOR_ID, "协调员")
    company = await enterprise(j, 7201, "王经理")
    expert = await approved_specialist(j, 7202, "陈明")
    pair = await engage(j, company, expert)
    ref = pair.engagement_id

    [refused] = await j.send(company, f"/voucher {ref} 20000 检测")
    assert refused.text == "抱歉，这个命令只供项目协调员使用。"
    [usage] = await j.send(boss, f"/voucher {ref}")
    assert usage.text == USAGE
    [bad] = await j.send(boss, "/voucher 999 20000 铸件缺陷检测")
    assert bad.text == "没有这个编号的对接。\n" + USAGE
    [bad] = await j.send(boss, f"/voucher {ref} 两万 铸件缺陷检测")
    assert bad.text.startswith("请输入 1 到 10,000,000 之间的整数金额（元），如 20000 或 2万。")
    assert (await card(j, ref)).voucher is None

    mark = j.emulator.mark()
    [recorded] = await j.send(boss, f"/voucher #{ref} 2万 铸件缺陷检测与工艺验证")
    assert recorded.text.splitlines() == [
        f"🎫 已登记创新券：#{ref}“铸件气孔问题”",
        "🏭 鞍山精工钢构有限公司 · 👤 陈明（大连理工大学）",
        "金额 ¥20,000 · 铸件缺陷检测与工艺验证",
        "目前可用：¥0（确认服务日 0 个 × 每日 ¥1,000，不超过总额）",
    ]
    [told] = j.reactions(company, mark)
    assert told.text == (
        "🎫 已为“铸件气孔问题”登记科技创新券 ¥20,000。可使用的额度随您确认的工作而增加。"
    )
    [again] = await j.send(boss, f"/voucher {ref} 5000 再来一张")
    assert again.text == f"对接 #{ref} 已登记创新券 ¥20,000。\n" + USAGE

    # What may be used follows confirmed work only: 12 h confirmed = 1.5 days = ¥1,500.
    await confirmed_work(j, pair, 8, 4)
    await confirmed_work(j, pair, 8, confirm=False)
    [listing] = await j.send(company, "/engagements")
    [view] = j.shown(await j.press(company, "1. 铸件气孔问题", listing.message_id))
    assert (
        "🎫 科技创新券 ¥20,000（铸件缺陷检测与工艺验证）：按每个确认服务日 ¥1,000 计，目前可用 ¥1,500"
        in view.text
    )
    [by_enterprise] = await voucher_totals(db=j.db, by="enterprise")
    assert (by_enterprise.label, by_enterprise.amount, by_enterprise.usable) == (
        "鞍山精工钢构有限公司",
        20_000,
        1_500,
    )
    assert by_enterprise.service_days == 1.5


async def test_a_voucher_recorded_step_by_step(journey: Journey) -> None:
    j = journey
    boss = j.user(COORDINATOR_ID, "Coordinator", "en")
    expert = await approved_specialist(j, 7212, "陈明")
    ended = await engage(j, await enterprise(j, 7211, "王经理"), expert)
    other = await enterprise(j, 7213, "刘经理", name="大连海工装备有限公司", city="dalian")
    pair = await engage(j, other, expert, dataclasses.replace(CASTING, title="焊缝开裂"))
    await cancel_engagement(
        db=j.db,
        engagement_id=ended.engagement_id,
        user_id=(await card(j, ended.engagement_id)).owner.id or 0,
        reason="not_needed",
        now=j.clock.now(),
    )

    [ask] = await j.send(boss, "/voucher")
    assert ask.text.startswith("Which engagement is the voucher for?")
    [error, _] = await j.send(boss, "the second one")
    assert error.text == "There is no engagement with that number."
    [error, _] = await j.send(boss, str(ended.engagement_id))
    assert error.text == f"Engagement #{ended.engagement_id} was ended: it gets no voucher."
    await j.send(boss, str(pair.engagement_id))
    [error, _] = await j.send(boss, "0")
    assert error.text.startswith("Please type a whole number of yuan from 1 to 10,000,000")
    await j.send(boss, "¥8,000")
    summary = last(await j.send(boss, "焊接工艺评定"))
    assert summary.text.splitlines() == [
        "Please check the voucher",
        f"Engagement: #{pair.engagement_id}",
        "Amount: ¥8,000",
        "Purpose: 焊接工艺评定",
    ]
    [*_, recorded] = await j.press(boss, "✅ Confirm")
    assert recorded.text.startswith(f"🎫 Voucher recorded for #{pair.engagement_id} “焊缝开裂”")
    stored = await card(j, pair.engagement_id)
    assert stored.voucher is not None
    assert (stored.voucher.amount, stored.voucher.purpose, stored.voucher.daily_rate) == (
        8_000,
        "焊接工艺评定",
        1_000,
    )
    [by_city] = await voucher_totals(db=j.db, by="city")
    assert (by_city.key, by_city.amount) == ("dalian", 8_000)


async def test_units_against_a_known_scenario(journey: Journey) -> None:
    j = journey
    boss = j.user(COORDINATOR_ID, "协调员")
    chen = await approved_specialist(j, 7221, "陈明")
    li = await approved_specialist(j, 7222, "李华", institution="大连理工大学材料科学与工程学院")
    await approved_specialist(j, 7223, "赵强")  # in the pool, never dispatched
    zhou = await approved_specialist(j, 7224, "周工", institution="中国科学院金属研究所")
    one = await engage(j, await enterprise(j, 7231, "甲"), chen)
    two = await engage(j, await enterprise(j, 7232, "乙"), li)
    three = await engage(j, await enterprise(j, 7233, "丙"), zhou)
    await confirmed_work(j, one, 8, 8)
    await confirmed_work(j, two, 4)
    await confirmed_work(j, two, 24, confirm=False)
    await confirmed_work(j, three, 8, 8, 8, 4)
    # The first engagement completes, rated 4 by its enterprise.
    await j.send(one.enterprise, "/engagements")
    await j.press(one.enterprise, "1. 铸件气孔问题")
    await j.press(one.enterprise, "🏁 工作已完成")
    await j.press(chen, "✅ 确认完成")
    await j.press(one.enterprise, "⭐ 评价与反馈")
    await j.press(one.enterprise, "⭐⭐⭐⭐")
    await j.press(one.enterprise, "✅ 已解决")
    await j.press(one.enterprise, "跳过")  # no other results
    await j.press(one.enterprise, "跳过")  # no comment
    await j.press(one.enterprise, "✅ 确认提交")

    [refused] = await j.send(chen, "/units")
    assert refused.text == "抱歉，这个命令只供项目协调员使用。"
    [units] = await j.send(boss, "/units")
    assert units.text.split("\n\n") == [
        "派出单位：2 家，派出专家 3 人，确认服务日 6 个（8 个确认小时计 1 个服务日）。",
        "1. 中国科学院金属研究所\n👤 通过审核 1 人 · 已派出 1 人\n"
        "🤝 进行中 1 · 已完成 0 · 🗓 3.5 个服务日 · ⭐ 暂无评分",
        "2. 大连理工大学（含材料科学与工程学院）\n👤 通过审核 3 人 · 已派出 2 人\n"
        "🤝 进行中 1 · 已完成 1 · 🗓 2.5 个服务日 · ⭐ 4.0（1 个评分）",
    ]

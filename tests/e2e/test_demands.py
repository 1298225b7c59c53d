"""An enterprise files demands in a guided dialogue and manages them with /my_demands:
registration first when needed, Chinese and English, Back, edits from the summary, Cancel,
a restart in the middle, bad input of every kind, and pause, resume and close with a reason."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlmodel import col

from channels.telegram.emulator.models import SentMessage, User
from storage.demands import DemandDetails, create_demand
from storage.dialogues import load_dialogue
from storage.models import Demand, Proposal
from tests.e2e.conftest import Journey
from tests.e2e.enterprise_steps import (
    enterprise_user,
    propose,
    registered_enterprise,
    stored_enterprise,
    texts,
    user_id,
)
from tests.e2e.journey_reading import body

DESCRIPTION = "钢结构件焊接后焊缝经常出现裂纹，返修率高，想找专家分析原因并改进焊接工艺。"


async def demands_of(j: Journey, telegram_id: int) -> list[Demand]:
    enterprise = await stored_enterprise(j, telegram_id)
    async with j.db.transaction() as session:
        return list(
            (
                await session.execute(
                    select(Demand)
                    .where(col(Demand.enterprise_id) == enterprise.id)
                    .order_by(col(Demand.id))
                )
            ).scalars()
        )


async def reach_summary(j: Journey, user: User) -> SentMessage:
    """A registered enterprise answers every question of /new_demand in Chinese."""
    await j.send(user, "/new_demand")
    await j.send(user, "焊缝经常开裂")
    await j.send(user, DESCRIPTION)
    await j.press(user, "🔧 技术难题")
    await j.send(user, "焊接")
    await j.press(user, "✔ 选好了")
    await j.press(user, "跳过")
    await j.press(user, "都可以")
    await j.press(user, "一般（三个月内）")
    await j.press(user, "尽快")
    await j.send(user, "裂纹率降到1%以下")
    reactions = await j.press(user, "暂不需要")
    return reactions[-1]


async def filed(j: Journey, telegram_id: int, title: str) -> int:
    demand = await create_demand(
        db=j.db,
        owner_user_id=await user_id(j, telegram_id),
        details=DemandDetails(
            title=title,
            description=DESCRIPTION,
            kind="technology",
            fields=("46025",),
            keywords=(),
            work_mode="either",
            urgency="normal",
            desired_start=None,
            expected_outcome="裂纹率降到1%以下",
            voucher_interest=False,
        ),
        now=j.clock.now(),
    )
    assert demand is not None and demand.id is not None
    j.clock.advance(dt.timedelta(minutes=1))
    return demand.id


async def test_a_new_enterprise_registers_then_files_a_demand_in_chinese(journey: Journey) -> None:
    j = journey
    wang = await enterprise_user(j, 4101, "王工", "zh-hans")
    first, intro, question = await j.send(wang, "/new_demand")
    assert first.text == "发布需求前，请先登记企业信息（只需一次）。"
    assert intro.text.startswith("企业登记") and question.text.startswith("企业名称是什么")
    await j.send(wang, "鞍山精工钢构有限公司")
    await j.send(wang, "91210300MA0UQ0XX1W")
    await j.press(wang, "鞍山")
    [suggestions] = await j.send(wang, "钢铁")
    await j.press(wang, suggestions.buttons[0])
    await j.press(wang, "小型")
    await j.send(wang, "王建国")
    await j.share_contact(wang, "13800138000")
    reactions = await j.press(wang, "✅ 确认提交")
    assert texts(reactions)[-2:] == [
        "✅ 企业信息已保存。现在来填写技术需求。",
        "用一句话概括需求（4–60 个字），如“焊缝经常开裂”。",
    ]
    assert (await stored_enterprise(j, 4101)).industry_code == "31"

    await j.send(wang, "焊缝经常开裂")
    reactions = await j.send(wang, DESCRIPTION)
    assert reactions[-1].buttons[:3] == [
        "🔧 技术难题",
        "👥 人才需求",
        "🛠 技术服务（检测、认证、咨询等）",
    ]
    [*_, fields] = await j.press(wang, "🔧 技术难题")
    assert j.choices(fields)[:2] == ["工程与技术科学基础学科 ›", "信息与系统科学相关工程与技术 ›"]
    # Two levels and several choices: a sub-field of mechanical engineering, then typed words.
    [opened] = await j.press(wang, "机械工程 ›")
    assert j.choices(opened)[:2] == ["机械工程（整个学科）", "机械学"]
    [toggled] = await j.press(wang, "机械制造工艺与设备")
    assert "✅ 机械制造工艺与设备" in j.choices(toggled)
    await j.press(wang, "◀ 上一步")  # out of the group, not out of the question
    added, again = await j.send(wang, "金属材料")
    assert added.text == "已添加：金属材料"
    # What is chosen comes first, so one tap takes a choice back.
    assert j.choices(again)[:2] == ["✅ 机械制造工艺与设备", "✅ 金属材料"]
    [*_, keywords] = await j.press(wang, "✔ 选好了")
    assert keywords.text.startswith("补充关键词（可选，最多 10 个")
    await j.send(wang, "焊接、裂纹，返修")
    await j.press(wang, "到企业现场")
    await j.press(wang, "很急（一个月内）")
    await j.send(wang, "2026年3月16日")
    await j.send(wang, "裂纹率降到1%以下")
    reactions = await j.press(wang, "有意向")
    summary = reactions[-1]
    assert body(j, summary).splitlines()[2:] == [
        "标题：焊缝经常开裂",
        f"问题描述：{DESCRIPTION}",
        "需求类型：🔧 技术难题",
        "技术领域：机械制造工艺与设备、金属材料",
        "关键词：焊接、裂纹、返修",
        "合作方式：到企业现场",
        "紧急程度：很急（一个月内）",
        "希望开始：2026-03-16",
        "预期效果：裂纹率降到1%以下",
        "创新券：有意向",
    ]
    reactions = await j.press(wang, "✅ 确认提交")
    assert reactions[-1].text.startswith("✅ 需求“焊缝经常开裂”已发布。")

    [demand] = await demands_of(j, 4101)
    assert (demand.status, demand.title, demand.description) == (
        "open",
        "焊缝经常开裂",
        DESCRIPTION,
    )
    assert (demand.kind, demand.fields, demand.keywords) == (
        "technology",
        ["46025", "43040"],
        ["焊接", "裂纹", "返修"],
    )
    assert (demand.work_mode, demand.urgency, demand.desired_start) == (
        "onsite",
        "urgent",
        dt.date(2026, 3, 16),
    )
    assert demand.expected_outcome == "裂纹率降到1%以下" and demand.voucher_interest is True
    assert await load_dialogue(db=j.db, user_id=await user_id(j, 4101)) is None


async def test_a_demand_in_english_starts_as_soon_as_possible_in_shanghai_time(
    journey: Journey,
) -> None:
    j = journey
    # 20:00 UTC on 1 March is already 2 March in Shanghai, the bot's zone.
    j.clock.set(dt.datetime(2026, 3, 1, 20, 0, tzinfo=dt.UTC))
    lee = await registered_enterprise(j, 4102, "Lee", "en-US")
    intro, title = await j.send(lee, "/new_demand")
    assert intro.text.startswith("New demand")
    assert title.text.startswith("A short title for the demand (4–60 characters)")
    await j.send(lee, "Corrosion of offshore pipes")
    await j.send(lee, "Our coastal plant's steel pipes and structures corrode within two years.")
    await j.press(lee, "🛠 Services (testing, certification, advice…)")
    [added, _] = await j.send(lee, "corrosion")
    assert added.text == "Added: Material Failure and Protection"
    await j.press(lee, "✔ Done")
    await j.send(lee, "anti-corrosion coating; salt spray")
    await j.press(lee, "Remote")
    await j.press(lee, "Not urgent")
    [error, *_] = await j.send(lee, "2026-03-01")
    assert error.text == "The date cannot be before 2026-03-02."
    reactions = j.shown(await j.press(lee, "As soon as possible"))
    assert reactions[0].text.endswith("→ As soon as possible")
    await j.send(lee, "A coating plan that lasts ten years")
    reactions = await j.press(lee, "Not now")
    assert reactions[-1].text.splitlines()[2:5] == [
        "Title: Corrosion of offshore pipes",
        "Description: Our coastal plant's steel pipes and structures corrode within two years.",
        "Kind: 🛠 Services (testing, certification, advice…)",
    ]
    assert "Desired start: As soon as possible" in reactions[-1].text
    reactions = await j.press(lee, "✅ Confirm")
    assert reactions[-1].text.startswith("✅ Your demand “Corrosion of offshore pipes” is filed.")
    [demand] = await demands_of(j, 4102)
    assert (demand.kind, demand.fields, demand.keywords, demand.work_mode) == (
        "services",
        ["43020"],
        ["anti-corrosion coating", "salt spray"],
        "remote",
    )
    assert demand.desired_start == dt.date(2026, 3, 2) and demand.voucher_interest is False


async def test_back_twice_and_an_edit_from_the_summary(journey: Journey) -> None:
    j = journey
    zhao = await registered_enterprise(j, 4103, "赵工", "zh-hans")
    await j.send(zhao, "/new_demand")
    await j.send(zhao, "减速机噪音大")
    await j.send(zhao, "车间的减速机运行时噪音很大，还伴有振动，想知道原因和改进办法。")
    reactions = await j.press(zhao, "🔧 技术难题")
    assert reactions[-1].text.startswith("涉及哪些技术领域")
    [*_, kind] = await j.press(zhao, "◀ 上一步")
    assert kind.text == "需要哪类帮助？"
    [*_, description] = await j.press(zhao, "◀ 上一步")
    assert description.text.startswith("请描述遇到的问题")
    dialogue = await load_dialogue(db=j.db, user_id=await user_id(j, 4103))
    assert dialogue is not None and dialogue.step == "description"
    assert dialogue.data["title"] == "减速机噪音大" and dialogue.data["kind"] == "technology"
    await j.send(zhao, "车间的减速机运行时噪音很大，伴有振动，轴承温度也高，想知道原因和改进办法。")
    await j.press(zhao, "👥 人才需求")
    await j.send(zhao, "轴承")
    await j.press(zhao, "✔ 选好了")
    await j.press(zhao, "跳过")
    await j.press(zhao, "都可以")
    await j.press(zhao, "不急")
    await j.press(zhao, "跳过")
    await j.send(zhao, "噪音降到80分贝以下")
    reactions = await j.press(zhao, "暂不需要")
    assert "希望开始：（未填）" in reactions[-1].text

    # One field edited from the summary, and straight back to it.
    reactions = await j.press(zhao, "✏️ 标题")
    assert reactions[-1].text.startswith("用一句话概括需求")
    reactions = await j.send(zhao, "减速机噪音和振动")
    summary = reactions[-1]
    assert summary.text.startswith("请核对需求") and "标题：减速机噪音和振动" in summary.text
    assert "需求类型：👥 人才需求" in summary.text
    await j.press(zhao, "✅ 确认提交")
    [demand] = await demands_of(j, 4103)
    assert (demand.title, demand.kind, demand.desired_start) == ("减速机噪音和振动", "talent", None)
    assert demand.description.startswith("车间的减速机运行时噪音很大，伴有振动，轴承温度也高")


async def test_cancel_stores_nothing(journey: Journey) -> None:
    j = journey
    sun = await registered_enterprise(j, 4104, "孙工", "zh-hans")
    await j.send(sun, "/new_demand")
    await j.send(sun, "催化剂失活快")
    [*_, cancelled] = await j.press(sun, "✖ 取消")
    assert cancelled.text == "已取消，未保存任何内容。"
    assert await demands_of(j, 4104) == []
    assert await load_dialogue(db=j.db, user_id=await user_id(j, 4104)) is None


async def test_restart_in_the_middle_and_carry_on(journey: Journey) -> None:
    j = journey
    qian = await registered_enterprise(j, 4105, "钱工", "zh-hans")
    await j.send(qian, "/new_demand")
    await j.send(qian, "开发水性涂料")
    [*_, kind] = await j.send(qian, "想开发一款环保的水性涂料，需要配方和工艺方面的帮助。")
    await j.restart()
    # The kind buttons of the old process work in the new one; typed answers carry on too.
    await j.press(qian, "🔧 技术难题", kind.message_id)
    await j.restart()
    await j.send(qian, "涂料")
    await j.press(qian, "✔ 选好了")
    await j.restart()
    # /new_demand in the middle does not start over: the question is asked again.
    reply, question = await j.send(qian, "/new_demand")
    assert reply.text.startswith("您正在填写一份表单")
    assert question.text.startswith("补充关键词")
    await j.send(qian, "水性涂料")
    await j.press(qian, "远程")
    await j.press(qian, "一般（三个月内）")
    await j.press(qian, "尽快")
    await j.send(qian, "做出一款可以量产的配方")
    reactions = await j.press(qian, "有意向")
    assert "标题：开发水性涂料" in reactions[-1].text
    await j.press(qian, "✅ 确认提交")
    [demand] = await demands_of(j, 4105)
    assert (demand.title, demand.fields, demand.keywords) == (
        "开发水性涂料",
        ["53054"],
        ["水性涂料"],
    )


async def test_bad_input_at_every_kind_of_step_loses_nothing(journey: Journey) -> None:
    j = journey
    zhou = await registered_enterprise(j, 4106, "周工", "zh-hans")
    [_, title] = await j.send(zhou, "/new_demand")
    error, again = await j.send_sticker(zhou)
    assert error.text == "这一步需要文字回答（图片、贴纸、语音无法识别）。"
    assert again.text == title.text
    [error, _] = await j.send(zhou, "焊" * 61)
    assert error.text == "太长了：最多 60 个字（现在 61 个）。请精简后再发。"
    await j.send(zhou, "焊缝经常开裂")

    [error, _] = await j.send_photo(zhou)
    assert error.text.startswith("这一步需要文字回答")
    # The longest message Telegram carries, and one character over the limit: both named.
    [error, again] = await j.send(zhou, "裂" * 4096)
    assert error.text == "太长了：最多 2000 个字（现在 4096 个）。请精简后再发。"
    assert again.text.startswith("请描述遇到的问题")
    [error, _] = await j.send(zhou, "裂" * 2001)
    assert error.text == "太长了：最多 2000 个字（现在 2001 个）。请精简后再发。"
    [error, _] = await j.send(zhou, "焊缝开裂")
    assert error.text == "太短了：至少 20 个字（现在 4 个）。"
    [*_, kind] = await j.send(zhou, DESCRIPTION)

    [error, again] = await j.send(zhou, "帮帮忙")
    assert error.text == "请点按钮选择。" and again.buttons[0] == "🔧 技术难题"
    await j.press_data(zhou, again.message_id, "dem:pick:2:magic")
    assert j.answers(zhou)[-1] == "无法识别的按钮。"
    await j.press_data(zhou, kind.message_id, "dem:pick:1:technology")  # an earlier step
    assert j.answers(zhou)[-1] == "这个按钮已失效。"
    reactions = await j.send(zhou, "技术难题")  # a label typed without its emoji is its button
    assert reactions[0].text.endswith("→ 🔧 技术难题")
    fields = reactions[-1]
    [error, _] = await j.send(zhou, "qwxz")
    assert error.text == "没有找到相符的选项，请换个说法或点按钮选择。"
    told, _ = j.answered(zhou, await j.press(zhou, "✔ 选好了"))
    assert told == "请至少选择一项。"
    await j.send(zhou, "焊接")
    await j.press(zhou, "✔ 选好了")

    [error, _] = await j.send(zhou, "，、")
    assert error.text == "内容不能为空，请再输入一次。"
    [error, _] = await j.send(zhou, "a,b,c,d,e,f,g,h,i,j,k")
    assert error.text == "关键词太多了：最多 10 个（现在 11 个）。"
    [error, _] = await j.send(zhou, "焊接、" + "很长的关键词" * 6)
    assert error.text.startswith("关键词“很长的关键词很长的关键词")
    await j.press(zhou, "跳过")
    await j.press(zhou, "都可以")
    [*_, ask_start] = await j.press(zhou, "不急")
    # Examples come from today (Monday 2 March 2026), and are accepted.
    assert "或输入日期如 2026-04-01；" in ask_start.text
    [error, _] = await j.send(zhou, "下个月")
    assert error.text == "日期格式不对，请按 2026-03-02 这样输入。"
    [error, _] = await j.send(zhou, "2026-03-01")
    assert error.text == "日期不能早于 2026-03-02。"
    reactions = await j.send(zhou, "2026-04-01")
    assert reactions[-1].text.startswith("希望达到什么效果")

    dialogue = await load_dialogue(db=j.db, user_id=await user_id(j, 4106))
    assert dialogue is not None and dialogue.step == "expected_outcome"
    assert dialogue.data["title"] == "焊缝经常开裂" and dialogue.data["description"] == DESCRIPTION
    assert dialogue.data["desired_start"] == "2026-04-01" and dialogue.data["keywords"] is None
    assert fields.text.startswith("涉及哪些技术领域")


async def test_my_demands_shows_counts_then_pause_resume_and_close(journey: Journey) -> None:
    j = journey
    wu = await registered_enterprise(j, 4107, "吴工", "zh-hans")
    [empty] = await j.send(wu, "/my_demands")
    assert empty.text == "您还没有发布需求。发送 /new_demand 发布第一个。"
    first = await filed(j, 4107, "钢板不平")
    for n in range(5):
        await filed(j, 4107, f"旧需求{n}")
    await propose(j, first, "proposed", "accepted", "declined")

    [listing] = await j.send(wu, "/my_demands")
    assert listing.text.splitlines()[0] == "我的需求（共 6 个），点按钮查看和管理："
    assert "1. 旧需求4 — 🟢 征集中" in listing.text
    assert j.choices(listing)[-3:] == ["‹", "1/2", "›"]
    [page_two] = await j.press(wu, "›")
    assert page_two.text.splitlines()[1:3] == [
        "6. 钢板不平 — 🟢 征集中",
        "    已邀请专家 3 · 接受 1 · 婉拒 1",
    ]
    [view] = j.shown(await j.press(wu, "6. 钢板不平"))
    assert view.text.splitlines()[:3] == [
        "钢板不平",
        "状态：🟢 征集中",
        "已邀请专家 3 · 接受 1 · 婉拒 1",
    ]
    # One specialist accepted and waits for a choice: the candidates are a tap away.
    assert view.buttons == ["✏️ 修改", "⏸ 暂停", "⚪ 关闭", "👥 候选专家", "« 返回列表"]

    [paused] = j.shown(await j.press(wu, "⏸ 暂停"))
    assert "状态：⏸ 已暂停" in paused.text and "▶️ 恢复" in paused.buttons
    # The old pause button pressed again: nothing more happens, the user sees the state.
    await j.press_data(wu, view.message_id, f"dmy:pause:{first}")
    assert j.answers(wu)[-2:] == ["好的。", "这个需求的状态已经变了，下面是最新情况。"]
    [resumed] = j.shown(await j.press(wu, "▶️ 恢复"))
    assert "状态：🟢 征集中" in resumed.text

    [why] = j.shown(await j.press(wu, "⚪ 关闭"))
    assert why.text == "为什么关闭需求“钢板不平”？"
    assert why.buttons == ["问题已解决", "不再需要", "已通过其他途径解决", "◀ 上一步"]
    [closed] = j.shown(await j.press(wu, "已通过其他途径解决"))
    assert "状态：⚪ 已关闭（已通过其他途径解决）" in closed.text
    assert closed.buttons == ["« 返回列表"]
    demand = next(d for d in await demands_of(j, 4107) if d.id == first)
    assert (demand.status, demand.close_reason) == ("closed", "elsewhere")
    async with j.db.transaction() as session:
        statuses = sorted(
            (
                await session.execute(
                    select(col(Proposal.status)).where(col(Proposal.demand_id) == first)
                )
            )
            .scalars()
            .all()
        )
    assert statuses == ["declined", "withdrawn", "withdrawn"]
    [listing] = j.shown(await j.press(wu, "« 返回列表"))
    assert listing.text.splitlines()[0].startswith("我的需求（共 6 个）")


async def test_editing_a_filed_demand_in_english(journey: Journey) -> None:
    j = journey
    ma = await registered_enterprise(j, 4108, "Ma", "en")
    title = "Uneven <Q235> plates & strips"  # shown as typed, never read as HTML
    demand_id = await filed(j, 4108, title)
    [listing] = await j.send(ma, "/my_demands")
    assert f"1. {title} — 🟢 open" in listing.text
    [view] = j.shown(await j.press(ma, listing.buttons[0]))
    assert listing.buttons[0] == "1. Uneven <Q235> plates & stri…"
    assert view.text.splitlines()[0] == title
    reactions = await j.press(ma, "✏️ Edit")
    assert reactions[-1].text.startswith("Please check the demand")
    await j.press(ma, "✏️ Urgency")
    reactions = await j.press(ma, "Urgent (within a month)")
    assert "Urgency: Urgent (within a month)" in reactions[-1].text
    reactions = await j.press(ma, "✅ Confirm")
    assert reactions[-1].text == "✅ Demand updated."
    [demand] = await demands_of(j, 4108)
    assert (demand.id, demand.urgency, demand.title) == (demand_id, "urgent", title)


async def test_another_users_demand_id_changes_nothing(journey: Journey) -> None:
    j = journey
    owner = await registered_enterprise(j, 4109, "郑工", "zh-hans")
    demand_id = await filed(j, 4109, "管道探伤")
    [listing] = await j.send(owner, "/my_demands")
    intruder = await registered_enterprise(j, 4110, "冯工", "zh-hans", name="另一家公司")
    [own] = await j.send(intruder, "/my_demands")
    for data in (
        f"dmy:open:{demand_id}",
        f"dmy:pause:{demand_id}",
        f"dmy:reason:{demand_id}.solved",
        f"dmy:edit:{demand_id}",
    ):
        await j.press_data(intruder, own.message_id, data)
    assert j.answers(intruder)[-4:] == ["找不到这个需求。"] * 4
    await j.press_data(intruder, own.message_id, f"dmy:reason:{demand_id}.hacked")
    assert j.answers(intruder)[-1] == "无法识别的按钮。"
    [demand] = await demands_of(j, 4109)
    assert (demand.status, demand.close_reason) == ("open", None)
    assert await load_dialogue(db=j.db, user_id=await user_id(j, 4110)) is None
    assert listing.buttons == ["1. 管道探伤"]


async def test_only_enterprises_file_demands(journey: Journey) -> None:
    j = journey
    stranger = j.user(4111, "Stranger", "en")
    [reply] = await j.send(stranger, "/new_demand")
    assert reply.text.startswith("This command is for enterprises.")
    [reply] = await j.send(stranger, "/my_demands")
    assert reply.text.startswith("This command is for enterprises.")

"""A specialist registers (in Chinese, in English), survives a restart mid-dialogue and
edits their profile later; bad input at the steps is answered and asked again."""

from __future__ import annotations

import datetime as dt

from storage.dialogues import load_dialogue
from storage.models import SpecialistStatus
from tests.e2e.conftest import COORDINATOR_ID, Journey
from tests.e2e.journey_reading import body
from tests.e2e.specialist_helpers import (
    registered,
    specialist_user,
    stored,
    user_id,
)


async def test_registration_in_chinese_reaches_the_coordinators(journey: Journey) -> None:
    j = journey
    boss = j.user(COORDINATOR_ID, "协调员")
    await j.send(boss, "/help")
    wang = await specialist_user(j, 4001, "王工", "zh-hans")

    intro, name_question = j.emulator.chat(wang.id)[-2:]  # choosing the side began registration
    assert intro.text.startswith("科技特派员登记")
    assert name_question.text == "请输入您的姓名：" and name_question.buttons == ["✖ 取消"]
    [error, again] = await j.send(wang, "王" * 70)
    assert error.text == "太长了：最多 64 个字（现在 70 个）。请精简后再发。"
    assert again.text == name_question.text
    [error, _] = await j.send_photo(wang)
    assert error.text.startswith("这一步需要文字回答")

    reactions = await j.send(wang, "王建国")
    assert reactions[-1].text.startswith("您所在单位")
    [*_, type_question] = await j.send(wang, "大连理工大学")
    assert j.choices(type_question)[:5] == ["高校", "科研院所", "科技服务机构", "企业", "其他"]
    [error, _] = await j.send(wang, "大学")  # typed words that are no button's label
    assert error.text == "请点按钮选择。"
    await j.press_data(wang, type_question.message_id, "spec:pick:2:spaceship")
    assert j.answers(wang)[-1] == "无法识别的按钮。"
    [chosen, location_question] = await j.send(wang, "高校")  # a label typed is its button
    assert chosen.text.endswith("→ 高校") and chosen.buttons == []
    assert location_question.buttons[0] == "辽宁省内"
    await j.press(wang, "辽宁省内")
    [*_, disciplines] = await j.press(wang, "教授")
    assert j.choices(disciplines)[0] == "工程与技术科学基础学科 ›"  # engineering first

    # Two levels: open a group, pick a branch, go up; then add more by typed words.
    await j.press(wang, "机械工程 ›")
    [redrawn] = await j.press(wang, "机械设计")
    assert "✅ 机械设计" in j.choices(redrawn) and j.choices(redrawn)[0] == "机械工程 · 全部"
    await j.press(wang, "◀ 上一步")
    [added, _] = await j.send(wang, "焊接")
    assert added.text == "已添加：机械制造工艺与设备"
    [*_, expertise_question] = await j.press(wang, "✔ 选好了")
    assert expertise_question.text.endswith("（最多 1000 字）。")

    [error, _] = await j.send_voice(wang)
    assert error.text.startswith("这一步需要文字回答")
    await j.send(
        wang, "激光焊接工艺与焊缝缺陷控制，铝合金构件疲劳寿命评估，服务过多家装备制造企业。"
    )
    [error, _] = await j.send(wang, "，、；")
    assert error.text == "内容不能为空，请再输入一次。"
    [*_, team_question] = await j.send(wang, "激光焊接、铝合金，疲劳寿命")
    assert team_question.buttons == ["◀ 上一步", "跳过", "✖ 取消"]
    [error, _] = await j.send(wang, "李明 - 焊接工艺\n王芳 材料检测")
    assert error.text.startswith("第 2 行“王芳 材料检测”不是“姓名 - 专业方向”的格式")
    await j.send(wang, "李明 - 焊接工艺\n王芳：材料检测")

    await j.press(wang, "可以到现场（也可远程）")
    await j.press(wang, "大连")
    [added, _] = await j.send(wang, "沈阳 鞍山")
    assert added.text == "已添加：沈阳、鞍山"
    await j.press(wang, "✔ 选好了")
    [*_, from_question] = await j.press(wang, "4")
    assert from_question.text == "从什么时候开始可以服务？（点选，或输入日期，如 2026-04-01）"
    [*_, until_question] = await j.press(wang, "从现在开始")
    assert until_question.buttons[0] == "3 个月（至 2026-06-02）"
    await j.press(wang, "跳过")
    [error, _] = await j.send(wang, "12")
    assert error.text == "请输入 1 到 10 之间的整数。"
    await j.press(wang, "2")
    reactions = await j.share_contact(wang, "+86 138 0013 8000")
    summary = reactions[-1]
    assert summary.text.startswith("请核对您的专家资料")
    for line in (
        "单位：大连理工大学",
        "专业领域：机械设计、机械制造工艺与设备",
        "团队：李明（焊接工艺）；王芳（材料检测）",
        "现场服务城市：大连、沈阳、鞍山",
        "截止日期：（未填）",
        "同时服务企业数：最多 2 家",
    ):
        assert line in summary.text

    [*_, submitted] = await j.press(wang, "✅ 确认提交")
    assert submitted.text.startswith("✅ 已提交")
    specialist = await stored(j, 4001)
    assert specialist.status == SpecialistStatus.PENDING
    assert (specialist.name, specialist.institution, specialist.title) == (
        "王建国",
        "大连理工大学",
        "professor",
    )
    assert specialist.disciplines == ["46020", "46025"]
    assert specialist.keywords == ["激光焊接", "铝合金", "疲劳寿命"]
    assert specialist.team == [
        {"name": "李明", "field": "焊接工艺"},
        {"name": "王芳", "field": "材料检测"},
    ]
    assert specialist.cities == ["dalian", "shenyang", "anshan"] and not specialist.remote_only
    assert (specialist.days_per_month, specialist.capacity) == (4, 2)
    assert (specialist.available_from, specialist.available_to) == (dt.date(2026, 3, 2), None)
    assert specialist.phone == "+8613800138000"

    card = j.emulator.last(COORDINATOR_ID)
    assert card.text.startswith("🆕 新的专家登记，请审核")
    assert f"#{specialist.id} 王建国" in card.text and "状态：⏳ 待审核" in card.text
    assert card.buttons == ["✅ 通过", "❌ 不通过"]


async def test_registration_in_english_with_a_known_institution_and_an_edit(
    journey: Journey,
) -> None:
    j = journey
    colleague = await specialist_user(j, 4010, "Li", "en")
    await registered(j, colleague, institution="Dalian University of Technology", approve=True)
    alice = await specialist_user(j, 4011, "Alice", "en")

    intro, _ = j.emulator.chat(alice.id)[-2:]
    assert intro.text.startswith("Specialist registration")
    await j.send(alice, "Alice Martin")
    [suggestions] = await j.send(alice, "dalian univ. of technology")
    assert suggestions.text == "Did you mean one of these?"
    assert suggestions.buttons[:2] == [
        "Dalian University of Technology",
        "✏️ As I typed: dalian univ. of technology",
    ]
    reactions = j.shown(await j.press(alice, "Dalian University of Technology"))
    assert reactions[0].text.endswith("→ Dalian University of Technology")
    await j.press(alice, "University")
    await j.press(alice, "Abroad")
    await j.send(alice, "Visiting scholar")
    [added, _] = await j.send(alice, "welding")
    assert added.text.startswith("Added: ")
    await j.press(alice, "✔ Done")
    await j.send(alice, "Friction stir welding of aluminium ship panels; residual stress.")
    await j.send(alice, "friction stir welding, aluminium, residual stress")
    await j.press(alice, "Skip")
    [*_, days_question] = await j.press(alice, "🌐 Remote only")  # no city question
    assert days_question.text.startswith("About how many days a month")
    await j.send(alice, "3")
    [*_, until_question] = await j.send(alice, "2026-04-01")
    assert until_question.buttons[:3] == [
        "3 months (until 2026-07-01)",
        "6 months (until 2026-10-01)",
        "1 year (until 2027-04-01)",
    ]
    await j.press(alice, "6 months (until 2026-10-01)")
    await j.press(alice, "1")
    reactions = await j.send(alice, "+49 151 1234 5678")
    summary = reactions[-1]
    assert "Way of working: 🌐 Remote only" in summary.text
    assert "On-site cities" not in summary.text and "Title: Visiting scholar" in summary.text

    # Switching to on-site work asks the cities, which were never answered, then returns.
    await j.press(alice, "✏️ Way of working")
    [*_, cities_question] = await j.press(alice, "On site (and remote)")
    assert cities_question.text.startswith("Which cities can you serve on site?")
    await j.press(alice, "Dalian")
    [*_, summary] = await j.press(alice, "✔ Done")
    assert (
        "On-site cities: Dalian" in summary.text and "Enterprises at once: up to 1" in summary.text
    )

    [*_, submitted] = await j.press(alice, "✅ Confirm")
    assert submitted.text.startswith("✅ Submitted.")
    specialist = await stored(j, 4011)
    assert (specialist.institution, specialist.location, specialist.title) == (
        "Dalian University of Technology",
        "abroad",
        "Visiting scholar",
    )
    assert specialist.cities == ["dalian"] and not specialist.remote_only
    assert (specialist.available_from, specialist.available_to) == (
        dt.date(2026, 4, 1),
        dt.date(2026, 10, 1),
    )
    assert (specialist.days_per_month, specialist.capacity, specialist.phone) == (
        3,
        1,
        "+4915112345678",
    )


async def test_a_restart_mid_dialogue_loses_nothing(journey: Journey) -> None:
    j = journey
    zhao = await specialist_user(j, 4020, "赵工", "zh-hans")
    name_question = j.emulator.last(zhao.id)
    await j.send(zhao, "赵六")
    await j.restart()

    [*_, type_question] = await j.send(zhao, "东北大学")
    assert body(j, type_question) == "单位类型："
    # The name question's Cancel, sent by the old process, is stale now.
    await j.press_data(zhao, name_question.message_id, "spec:cancel:0")
    assert j.answers(zhao)[-1] == "这个按钮已失效。"
    # /profile in the middle of the form asks the current question again, nothing lost.
    [again] = await j.send(zhao, "/profile")
    assert body(j, again) == "单位类型："
    dialogue = await load_dialogue(db=j.db, user_id=await user_id(j, 4020))
    assert dialogue is not None and dialogue.step == "institution_type"
    assert (dialogue.data["name"], dialogue.data["institution"]) == ("赵六", "东北大学")

    await j.restart()
    [cancelled] = await j.press(zhao, "✖ 取消")
    assert cancelled.text == "已取消，未保存任何内容。"
    assert await load_dialogue(db=j.db, user_id=await user_id(j, 4020)) is None


async def test_an_approved_specialist_edits_from_profile_and_stays_approved(
    journey: Journey,
) -> None:
    j = journey
    boss = j.user(COORDINATOR_ID, "协调员")
    await j.send(boss, "/help")
    before = len(j.emulator.chat(COORDINATOR_ID))
    qian = await specialist_user(j, 4030, "钱工", "zh-hans")
    await registered(j, qian, approve=True)

    [status, summary] = await j.send(qian, "/profile")
    assert "状态：✅ 已通过" in status.text
    assert (
        summary.text.startswith("请核对您的专家资料")
        and "同时服务企业数：最多 2 家" in summary.text
    )
    await j.press(qian, "✏️ 同时服务企业数")
    [*_, summary] = await j.press(qian, "3")
    assert "同时服务企业数：最多 3 家" in summary.text
    [*_, saved] = await j.press(qian, "✅ 确认提交")
    assert saved.text == "✅ 已保存。状态：✅ 已通过"
    specialist = await stored(j, 4030)
    assert specialist.capacity == 3 and specialist.status == SpecialistStatus.APPROVED
    assert len(j.emulator.chat(COORDINATOR_ID)) == before  # nothing new to review


async def test_profile_for_someone_who_is_not_a_specialist_shows_help(journey: Journey) -> None:
    j = journey
    user = j.user(4040, "孙工")
    [reply] = await j.send(user, "/profile")
    assert reply.text.startswith("您还没有选择身份")
    assert await load_dialogue(db=j.db, user_id=await user_id(j, 4040)) is None


async def test_on_a_fresh_programme_a_loosely_typed_institution_is_offered_from_the_list(
    journey: Journey,
) -> None:
    """No specialist has registered yet: Liaoning's shipped list is what suggests."""
    j = journey
    ann = await specialist_user(j, 4040, "Ann", "en")
    await j.send(ann, "Ann Lee")
    [suggestions] = await j.send(ann, "dalian univ of tech")
    assert suggestions.text == "Did you mean one of these?"
    assert suggestions.buttons[:2] == [
        "Dalian University of Technology",
        "✏️ As I typed: dalian univ of tech",
    ]
    [chosen, type_question] = j.shown(await j.press(ann, "Dalian University of Technology"))
    assert chosen.text.endswith("→ Dalian University of Technology")
    assert type_question.text.startswith("Type of institution")
    dialogue = await load_dialogue(db=j.db, user_id=await user_id(j, 4040))
    assert dialogue is not None and dialogue.data["institution"] == (
        "Dalian University of Technology"
    )

    wu = await specialist_user(j, 4041, "吴工", "zh-hans")
    await j.send(wu, "吴明")
    [suggestions] = await j.send(wu, "大连里工大学")  # a homophone from pinyin input
    assert suggestions.buttons[:2] == ["大连理工大学", "✏️ 按我输入的：大连里工大学"]
    await j.press(wu, "大连理工大学")
    dialogue = await load_dialogue(db=j.db, user_id=await user_id(j, 4041))
    assert dialogue is not None and dialogue.data["institution"] == "大连理工大学"

    # A school of a listed university is taken as typed: it counts for its university.
    xu = await specialist_user(j, 4042, "徐工", "zh-hans")
    await j.send(xu, "徐亮")
    [*_, type_question] = await j.send(xu, "大连理工大学材料科学与工程学院")
    assert body(j, type_question) == "单位类型："
    dialogue = await load_dialogue(db=j.db, user_id=await user_id(j, 4042))
    assert dialogue is not None and dialogue.data["institution"] == "大连理工大学材料科学与工程学院"

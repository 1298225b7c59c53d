"""An enterprise registers once, in Chinese or English, and edits its registration later:
credit code checked, city by button, by name or typed as "other", industry through two levels
of buttons or by words, mobile shared or typed; Back, Cancel and bad input on the way."""

from __future__ import annotations

from storage.dialogues import load_dialogue
from tests.e2e.conftest import Journey
from tests.e2e.enterprise_steps import (
    enterprise_user,
    registered_enterprise,
    stored_enterprise,
    texts,
    user_id,
)
from tests.e2e.journey_reading import body


async def test_registration_in_chinese_with_a_wrong_credit_code_and_a_city_elsewhere(
    journey: Journey,
) -> None:
    j = journey
    wang = await enterprise_user(j, 3101, "王工", "zh-hans")
    intro, question = await j.send(wang, "/profile")
    assert "联系方式只有在您和专家双方都同意对接后才会给对方" in intro.text
    assert question.text == "企业名称是什么？（2–100 个字）"
    assert question.buttons == ["✖ 取消"]

    error, again = await j.send(wang, "鞍")
    assert error.text == "太短了：至少 2 个字（现在 1 个）。"
    assert again.text == question.text
    reactions = await j.send(wang, "鞍山精工钢构有限公司")
    assert reactions[-1].text.startswith("统一社会信用代码（18位")
    assert reactions[-1].buttons == ["◀ 上一步", "跳过", "✖ 取消"]

    # A wrong check character, a short code and a letter codes never use: each named.
    error, again = await j.send(wang, "91210300MA0UQ0XX1X")
    assert error.text.startswith("代码最后一位（校验位）对不上")
    assert again.text.startswith("统一社会信用代码（18位")
    [error, _] = await j.send(wang, "91210300MA0UQ0XX1")
    assert error.text == "统一社会信用代码是18位（现在 17 位），请核对营业执照。"
    [error, _] = await j.send(wang, "91210300MA0UQ0XXIW")
    assert error.text.startswith("第 17 位“I”不对")
    reactions = await j.send(wang, "91210300ma0uq0xx1w")  # lower case is fine
    city = reactions[-1]
    assert j.choices(city)[:8] == ["沈阳", "大连", "鞍山", "抚顺", "本溪", "丹东", "锦州", "营口"]

    [page_two] = await j.press(wang, "›")
    assert j.choices(page_two)[:7] == [
        "阜新",
        "辽阳",
        "盘锦",
        "铁岭",
        "朝阳",
        "葫芦岛",
        "其他城市",
    ]
    reactions = await j.press(wang, "其他城市")
    assert reactions[-1].text == "请输入城市名称（如：北京、苏州）。"
    reactions = await j.send(wang, "苏州")
    assert j.choices(reactions[-1])[:3] == ["农、林、牧、渔业 ›", "采矿业 ›", "制造业 ›"]

    # Two levels of buttons: manufacturing, then the third page of its divisions.
    [divisions] = await j.press(wang, "制造业 ›")
    assert j.choices(divisions)[0] == "农副食品加工业" and "1/4" in j.choices(divisions)
    await j.press(wang, "›")
    [page] = await j.press(wang, "›")
    assert "3/4" in j.choices(page)
    reactions = await j.press(wang, "黑色金属冶炼和压延加工业")
    assert reactions[0].text.endswith("→ 制造业 › 黑色金属冶炼和压延加工业")
    assert reactions[-1].text == "企业规模？"

    # A label typed is its button, straight after the question came.
    [chosen, *_] = await j.send(wang, "中型")
    assert chosen.text.endswith("→ 中型")
    await j.press(wang, "◀ 上一步")
    error, again = await j.send(wang, "特别大")
    assert error.text == "请点按钮选择。"
    assert again.buttons[:4] == ["微型", "小型", "中型", "大型"]
    chosen = (await j.send(wang, "小型企业"))[0]  # a close variant of a label, too
    assert chosen.text.endswith("→ 小型")
    reactions = await j.send(wang, "王建国")
    phone_question = reactions[-1]
    if not j.shares_contact:  # WeCom and Feishu cannot share a contact: no button to point at
        assert j.news(reactions) == [phone_question]
    else:
        [*_, hint, _] = reactions
        assert hint.text == "可以点下面的按钮分享手机号，也可以直接输入。"
    assert "只有在您和专家双方都同意对接后，专家才能看到联系方式" in phone_question.text

    [error, *_] = await j.send(wang, "024-1234567")
    assert error.text.startswith("手机号格式不对")
    reactions = await j.share_contact(wang, "+86 138 0013 8000")
    assert reactions[0].text == "已记录：+8613800138000"
    summary = reactions[-1]
    assert body(j, summary).splitlines()[2:] == [
        "企业名称：鞍山精工钢构有限公司",
        "统一社会信用代码：91210300MA0UQ0XX1W",
        "城市：其他城市",
        "所在城市：苏州",
        "行业：制造业 › 黑色金属冶炼和压延加工业",
        "规模：小型",
        "联系人：王建国",
        "手机号：+8613800138000",
    ]
    reactions = await j.press(wang, "✅ 确认提交")
    assert reactions[-1].text == "✅ 企业信息已保存。发送 /new_demand 发布技术需求。"

    stored = await stored_enterprise(j, 3101)
    assert (
        stored.name,
        stored.credit_code,
        stored.city,
        stored.industry_code,
        stored.size,
        stored.contact_name,
        stored.phone,
    ) == (
        "鞍山精工钢构有限公司",
        "91210300MA0UQ0XX1W",
        "苏州",
        "31",
        "small",
        "王建国",
        "+8613800138000",
    )
    assert await load_dialogue(db=j.db, user_id=await user_id(j, 3101)) is None


async def test_registration_in_english_by_typed_city_and_industry_words(journey: Journey) -> None:
    j = journey
    lee = await enterprise_user(j, 3102, "Lee", "en-US")
    intro, _ = await j.send(lee, "/profile")
    assert "shown to a specialist only after both of you agree" in intro.text
    await j.send(lee, "Dalian Ocean Foods Co., Ltd.")
    reactions = await j.press(lee, "Skip")
    assert reactions[-1].text.startswith("Which city is the enterprise in?")

    [error, _] = await j.send(lee, "Beijing")
    assert error.text.startswith("That is not one of Liaoning's cities.")
    reactions = await j.send(lee, "Dalian City")
    assert reactions[-1].text.startswith("Which industry is the enterprise in?")

    [error, _] = await j.send(lee, "zzqx")
    assert error.text == "Nothing matched those words: try other words or pick a button."
    [suggestions] = await j.send(lee, "fish farming")
    assert suggestions.text == "Did you mean one of these?"
    # "farming" inside the known "fish farming" does not bring Agriculture along
    assert suggestions.buttons[0] == "Fishery" and "Agriculture" not in suggestions.buttons
    reactions = await j.press(lee, "Fishery")
    assert reactions[-1].text == "How large is the enterprise?"
    await j.press(lee, "Medium")
    reactions = await j.send_voice(lee)
    assert reactions[0].text.startswith("This step needs a text answer")
    await j.send(lee, "Li Ming")
    reactions = await j.send(lee, "139 4111 2233")
    summary = reactions[-1]
    assert body(j, summary).splitlines()[2:] == [
        "Name: Dalian Ocean Foods Co., Ltd.",
        "Credit code: (none)",
        "City: Dalian",
        "Industry: Agriculture, Forestry, Animal Husbandry and Fishery › Fishery",
        "Size: Medium",
        "Contact person: Li Ming",
        "Mobile: +8613941112233",
    ]
    reactions = await j.press(lee, "✅ Confirm")
    assert reactions[-1].text.startswith("✅ Enterprise details saved.")
    stored = await stored_enterprise(j, 3102)
    assert (stored.city, stored.industry_code, stored.credit_code, stored.size) == (
        "dalian",
        "04",
        None,
        "medium",
    )


async def test_back_twice_then_cancel_keeps_nothing(journey: Journey) -> None:
    j = journey
    zhao = await enterprise_user(j, 3103, "赵工", "zh-hans")
    await j.send(zhao, "/profile")
    await j.send(zhao, "营口港机械厂")
    await j.press(zhao, "跳过")
    reactions = await j.press(zhao, "营口")
    assert reactions[-1].text.startswith("企业属于哪个行业")

    [*_, city_question] = await j.press(zhao, "◀ 上一步")
    assert city_question.text.startswith("企业在哪个城市")
    [*_, code_question] = await j.press(zhao, "◀ 上一步")
    assert code_question.text.startswith("统一社会信用代码")
    dialogue = await load_dialogue(db=j.db, user_id=await user_id(j, 3103))
    assert dialogue is not None and dialogue.step == "credit_code"
    assert dialogue.data["name"] == "营口港机械厂" and dialogue.data["city"] == "yingkou"

    [cancelled] = j.shown(await j.press(zhao, "✖ 取消"))
    assert cancelled.text == "已取消，未保存任何内容。"
    assert await load_dialogue(db=j.db, user_id=await user_id(j, 3103)) is None
    [reply] = await j.send(zhao, "营口港机械厂")
    assert reply.text.startswith("我没有理解")


async def test_restart_in_the_middle_of_registration_loses_nothing(journey: Journey) -> None:
    j = journey
    sun = await enterprise_user(j, 3104, "孙工", "zh-hans")
    await j.send(sun, "/profile")
    await j.send(sun, "盘锦石化助剂有限公司")
    [*_, city_question] = await j.press(sun, "跳过")
    await j.restart()
    # The city buttons sent by the old process still work in the new one.
    reactions = await j.press(sun, "营口", city_question.message_id)
    assert reactions[-1].text.startswith("企业属于哪个行业")
    await j.restart()
    [suggestions] = await j.send(sun, "石油化工")
    reactions = await j.press(sun, suggestions.buttons[0])
    assert reactions[-1].text == "企业规模？"
    dialogue = await load_dialogue(db=j.db, user_id=await user_id(j, 3104))
    assert dialogue is not None
    assert (dialogue.data["name"], dialogue.data["city"]) == ("盘锦石化助剂有限公司", "yingkou")


async def test_a_factory_managers_words_find_the_industry(journey: Journey) -> None:
    """ "机械制造" and "不锈钢钣金件加工" are what a manager types, not GB/T 4754's names."""
    j = journey
    qian = await enterprise_user(j, 3106, "钱工", "zh-hans")
    await j.send(qian, "/profile")
    await j.send(qian, "鞍山恒通钣金制品有限公司")
    await j.press(qian, "跳过")
    await j.press(qian, "鞍山")
    [suggestions] = await j.send(qian, "机械制造")
    assert suggestions.buttons[0] == "通用设备制造业"
    [suggestions] = await j.send(qian, "我们是做不锈钢钣金件加工的")
    assert suggestions.buttons[0] == "金属制品业"
    reactions = await j.press(qian, "金属制品业")
    assert reactions[-1].text == "企业规模？"
    reactions = await j.send(qian, "中型")  # a button's label typed is taken
    assert reactions[-1].text.startswith("联系人")


async def test_profile_shows_the_registration_and_edits_one_field(journey: Journey) -> None:
    j = journey
    wang = await registered_enterprise(j, 3105, "王工", "zh-hans")
    [profile] = await j.send(wang, "/profile")
    assert profile.text.splitlines()[:4] == [
        "企业信息",
        "企业名称：鞍山精工钢构有限公司",
        "统一社会信用代码：91210300MA0UQ0XX1W",
        "城市：鞍山",
    ]
    assert profile.buttons == ["✏️ 修改"]
    reactions = await j.press(wang, "✏️ 修改")
    summary = reactions[-1]
    assert summary.text.startswith("请核对企业信息") and "✏️ 城市" in j.choices(summary)

    # City -> other: the now relevant "which city" is asked, then straight back to the summary.
    await j.press(wang, "✏️ 城市")
    await j.press(wang, "›")
    reactions = await j.press(wang, "其他城市")
    assert reactions[-1].text == "请输入城市名称（如：北京、苏州）。"
    reactions = await j.send(wang, "天津")
    assert reactions[-1].text.startswith("请核对企业信息")
    assert "所在城市：天津" in reactions[-1].text and "规模：小型" in reactions[-1].text
    await j.press(wang, "✅ 确认提交")
    stored = await stored_enterprise(j, 3105)
    assert (stored.city, stored.name, stored.phone) == (
        "天津",
        "鞍山精工钢构有限公司",
        "+8613800138000",
    )

    # The profile shows the edit; it replaced the registration rather than adding one.
    [again] = await j.send(wang, "/profile")
    assert "所在城市：天津" in again.text
    assert (await stored_enterprise(j, 3105)).id == stored.id


async def test_profile_without_a_registration_starts_one(journey: Journey) -> None:
    j = journey
    qian = await enterprise_user(j, 3106, "Qian", "en")
    reactions = await j.send(qian, "/profile")
    assert texts(reactions)[-1] == "What is the enterprise's name? (2–100 characters)"

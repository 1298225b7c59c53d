"""Journeys on DingTalk without a card template: no buttons and no edits, so the core
draws every choice as numbered lines under the text, typed back, and a changed message
comes as a new one. Played through the DingTalk people and the real channel, like the
suite's journeys, but only here: those read buttons and edits in place."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Journey
from tests.e2e.journey_reading import body

pytestmark = pytest.mark.played_on("dingtalk_plain")


async def test_consent_language_and_side_are_chosen_by_typing_their_numbers(
    journey: Journey,
) -> None:
    j = journey
    wang = j.user(2001, "王工", "zh-hans")
    [consent] = await j.send(wang, "/start")
    assert "我们保存什么" in consent.text and consent.buttons == []
    assert j.choices(consent) == ["✅ 同意", "不同意", "English"]
    assert body(j, consent).endswith("同意后继续。")

    told, rest = j.answered(wang, await j.press(wang, "✅ 同意"))
    assert j.emulator.typed  # "1", typed back
    assert told == "谢谢！"
    language = rest[-1]
    assert body(j, language) == "请选择语言：" and j.choices(language) == ["中文", "English"]
    assert consent.message_id in {m.message_id for m in j.emulator.chat(wang.id)}

    told, rest = j.answered(wang, await j.press(wang, "English"))
    assert told == "Language set to English."
    side = rest[-1]
    assert body(j, side) == "Which side are you on?"
    assert "🏭 Enterprise (has a technical problem)" in j.choices(side)
    # Nothing was changed in place: DingTalk's robot messages cannot be.
    assert not [e for e in j.emulator.events() if e.kind == "bot_edit"]
    assert [path for path, _ in j.emulator.dingtalk.calls] == [
        "/v1.0/robot/oToMessages/batchSend"
    ] * len(j.emulator.dingtalk.calls)


async def test_a_form_question_offers_its_cancel_as_a_number(journey: Journey) -> None:
    j = journey
    wang = j.user(2002, "王工", "zh-hans")
    await j.send(wang, "/start enterprise")
    await j.press(wang, "✅ 同意")
    reactions = await j.press(wang, "中文")
    question = reactions[-1]
    assert body(j, question) == "企业名称是什么？（2–100 个字）"
    assert j.choices(question) == ["✖ 取消"]
    reactions = await j.press(wang, "✖ 取消")
    assert reactions[-1].text.startswith("已取消")


async def test_typed_words_are_not_taken_for_choices_that_are_over(journey: Journey) -> None:
    j = journey
    user = j.user(2003, "冯工", "zh-hans")
    await j.send(user, "/start")
    reactions = await j.send(user, "/cancel")
    assert reactions[-1].text.startswith("已取消")
    [reply] = await j.send(user, "1")
    assert not reply.text.startswith("谢谢")  # "1" no longer agrees to anything

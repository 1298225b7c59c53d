"""The guided-form engine every registration and demand dialogue is built on, played
through the emulator with a small form: typed and button answers, two-level
multi-select, share-contact, Back, Skip, Cancel, edit from the summary, bad input,
stale buttons and a restart in the middle."""

from __future__ import annotations

import html
import json

import pytest

from handlers import form as engine
from handlers.actor import Actor
from handlers.core.chat import Chat
from handlers.form import Field, Form, Option
from handlers.validators import Invalid, phone, text_between
from storage.dialogues import load_dialogue
from storage.models import Dialogue
from tests.e2e.conftest import Journey

GROUPS = {"mat": ["mat.weld", "mat.cast"], "chem": ["chem.cat"]}
saved: list[dict] = []


def city_options(actor: Actor, draft: dict) -> list[Option]:
    return [Option("dl", "大连"), Option("sy", "沈阳"), Option("as", "鞍山")]


def parse_city(text: str, actor: Actor, draft: dict) -> str:
    if text in ("大连", "沈阳", "鞍山"):
        return {"大连": "dl", "沈阳": "sy", "鞍山": "as"}[text]
    raise Invalid("invalid.use_buttons")


def field_options(actor: Actor, draft: dict) -> list[Option]:
    group = FORM.fields[2].opened(draft)
    if group:
        return [Option(code, code) for code in GROUPS[group]]
    return [Option(group, group.upper(), opens=True) for group in GROUPS]


def search_fields(text: str, actor: Actor) -> list[Option]:
    return [Option(code, code) for codes in GROUPS.values() for code in codes if text in code]


async def confirm(chat: Chat, draft: dict) -> None:
    saved.append(draft)
    await chat.reply("saved " + html.escape(json.dumps(draft, ensure_ascii=False)))


FORM = Form(
    flow="tf",
    summary="form.did_you_mean",  # any id without placeholders: the heading is not under test
    confirm=confirm,
    fields=(
        Field(
            "name",
            "form.did_you_mean",
            "form.done",
            parse=lambda t, a, d: text_between(t, low=2, high=20),
        ),
        Field("city", "form.did_you_mean", "form.back", options=city_options, parse=parse_city),
        Field(
            "fields",
            "form.did_you_mean",
            "form.skip",
            options=field_options,
            multi=True,
            search=search_fields,
            accepts=lambda v: any(v in c for c in GROUPS.values()),
            render=lambda actor, value: ", ".join(value),
        ),
        Field(
            "phone",
            "form.did_you_mean",
            "form.confirm",
            contact=True,
            parse=lambda t, a, d: phone(t),
        ),
        Field(
            "note",
            "form.did_you_mean",
            "form.cancel",
            optional=True,
            parse=lambda t, a, d: text_between(t, low=1, high=50),
        ),
    ),
)


@pytest.fixture
async def form_journey(journey: Journey) -> Journey:
    saved.clear()

    async def open_test_form(chat: Chat) -> None:
        await engine.open_form(FORM, chat)

    async def typed(chat: Chat, dialogue: Dialogue) -> None:
        await engine.on_input(FORM, chat, dialogue)

    def attach() -> None:
        assert journey.bot.core is not None
        router = journey.bot.core.router
        router.command("testform", open_test_form)
        router.dialogue(FORM.flow, typed)
        engine.register(FORM, router)

    attach()
    journey.attach = attach  # type: ignore[attr-defined]
    return journey


async def test_a_whole_form_with_back_skip_edit_and_confirm(form_journey: Journey) -> None:
    j = form_journey
    user = j.user(2001, "张工")
    [question] = await j.send(user, "/testform")
    assert question.buttons == ["✖ 取消"]  # the first step has no Back

    [error, again] = await j.send(user, "张")
    assert error.text == "太短了：至少 2 个字（现在 1 个）。"
    assert again.text == question.text

    [error, again] = await j.send_sticker(user)
    assert error.text.startswith("这一步需要文字回答")

    reactions = await j.send(user, "张三丰")
    assert reactions[-1].buttons[:3] == ["大连", "沈阳", "鞍山"]
    assert "◀ 上一步" in reactions[-1].buttons

    # Back to the name, answer it again, then pick a city by button.
    await j.press(user, "◀ 上一步")
    await j.send(user, "张无忌")
    reactions = j.shown(await j.press(user, "沈阳"))
    assert reactions[0].text.endswith("→ 沈阳")  # the answered question shows the choice
    assert reactions[-1].buttons[:2] == ["MAT ›", "CHEM ›"]

    # Two-level multi-select: open a group, toggle, go up, and add one by typed words.
    await j.press(user, "MAT ›")
    [redrawn] = await j.press(user, "mat.weld")
    assert "✅ mat.weld" in redrawn.buttons
    await j.press(user, "◀ 上一步")  # leaves the group, not the question
    reactions = await j.send(user, "cat")
    assert reactions[0].text == "已添加：chem.cat"
    reactions = await j.press(user, "✔ 选好了")
    if not j.shares_contact:  # WeCom and Feishu cannot share a contact: no button to point at
        assert not any("分享" in m.text for m in reactions)
    else:
        assert (
            reactions[-1].text == "可以点下面的按钮分享手机号，也可以直接输入。"
            or "分享" in reactions[-2].text
        )

    [error, *_] = await j.send(user, "12345")
    assert error.text.startswith("手机号格式不对")
    reactions = await j.share_contact(user, "+86 138 0013 8000")
    assert reactions[0].text == "已记录：+8613800138000"
    assert j.emulator.reply_keyboard(user.id) is None  # the share button is gone again
    reactions = await j.press(user, "跳过")
    summary = reactions[-1]
    assert (
        "张无忌" in summary.text and "沈阳" in summary.text and "mat.weld, chem.cat" in summary.text
    )

    # Edit one field from the summary and come straight back to it.
    await j.press(user, "✏️ " + "◀ 上一步")  # the city's label in this test form
    reactions = await j.press(user, "大连")
    assert "大连" in reactions[-1].text and "张无忌" in reactions[-1].text

    reactions = await j.press(user, "✅ 确认提交")
    assert saved == [
        {
            "name": "张无忌",
            "city": "dl",
            "fields": ["mat.weld", "chem.cat"],
            "phone": "+8613800138000",
            "note": None,
        }
    ]
    assert await load_dialogue(db=j.db, user_id=(await _user_id(j, 2001))) is None


async def test_restart_mid_form_loses_nothing_and_old_buttons_go_stale(
    form_journey: Journey,
) -> None:
    j = form_journey
    user = j.user(2002, "李工")
    await j.send(user, "/testform")
    [*_, city_question] = await j.send(user, "李四光")
    await j.restart()
    j.attach()  # type: ignore[attr-defined]
    reactions = await j.send(user, "鞍山")
    assert reactions[-1].buttons[:2] == ["MAT ›", "CHEM ›"]
    # A button of the older city question is stale now: answered, nothing changes.
    await j.press_data(user, city_question.message_id, "tf:pick:1:dl")
    assert j.answers(user)[-1] == "这个按钮已失效。"
    dialogue = await load_dialogue(db=j.db, user_id=await _user_id(j, 2002))
    assert dialogue is not None and dialogue.step == "fields" and dialogue.data["city"] == "as"
    # Forged values for this step are refused too.
    await j.press_data(user, reactions[-1].message_id, "tf:tog:2:not.a.code")
    assert j.answers(user)[-1] == "无法识别的按钮。"


async def test_cancel_drops_the_draft(form_journey: Journey) -> None:
    j = form_journey
    user = j.user(2003, "赵工")
    await j.send(user, "/testform")
    await j.send(user, "赵六")
    [cancelled] = j.shown(await j.press(user, "✖ 取消"))
    assert cancelled.text == "已取消，未保存任何内容。"
    assert await load_dialogue(db=j.db, user_id=await _user_id(j, 2003)) is None
    assert saved == []


async def _user_id(j: Journey, telegram_id: int) -> int:
    from tests.people import get_user

    user = await get_user(db=j.db, telegram_id=telegram_id)
    assert user is not None and user.id is not None
    return user.id

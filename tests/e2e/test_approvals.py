"""Coordinators approve, reject (with a reason), suspend and reinstate specialists; the
specialist is told in their own language; others pressing the buttons change nothing."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlmodel import col

from storage.models import AuditEvent, SpecialistStatus, User
from tests.e2e.conftest import COORDINATOR_ID, Journey
from tests.e2e.specialist_helpers import (
    registered,
    specialist_user,
    stored,
)
from tests.people import by_account


async def audit_trail(j: Journey) -> list[tuple[str, int | None]]:
    async with j.db.transaction() as session:
        rows = await session.execute(
            select(AuditEvent)
            .where(col(AuditEvent.action).not_in(["specialist.register", "specialist.update"]))
            .order_by(col(AuditEvent.id))
        )
        return [(event.action, event.target_id) for event in rows.scalars()]


async def test_approve_then_suspend_and_reinstate(journey: Journey) -> None:
    j = journey
    boss = j.user(COORDINATOR_ID, "协调员")
    alice = await specialist_user(j, 5001, "Alice", "en")
    specialist = await registered(j, alice, name="Alice Martin")

    [heading, card] = await j.send(boss, "/pending")
    assert heading.text == "待审核：1 位"  # all of them below: no "the oldest 1"
    assert card.text.startswith(f"#{specialist.id} Alice Martin") and "⏳ 待审核" in card.text
    assert card.buttons == ["✅ 通过", "❌ 不通过"]

    [edited] = j.shown(await j.press(boss, "✅ 通过"))
    assert j.answers(boss)[-1] == "已通过，已通知专家。"
    assert j.replaces(edited, card) and "状态：✅ 已通过" in edited.text
    assert edited.buttons == ["⛔ 暂停资格"]
    told = j.emulator.last(alice.id)
    assert told.text.startswith("✅ Your specialist profile has been approved.")
    assert (await stored(j, 5001)).status == SpecialistStatus.APPROVED

    [edited] = j.shown(await j.press(boss, "⛔ 暂停资格"))
    assert edited.buttons == ["▶ 恢复资格"] and "⛔ 已暂停资格" in edited.text
    assert j.emulator.last(alice.id).text.startswith("⛔ The programme coordinators have suspended")
    [edited] = j.shown(await j.press(boss, "▶ 恢复资格"))
    assert edited.buttons == ["⛔ 暂停资格"]
    assert j.emulator.last(alice.id).text.startswith("✅ Your specialist profile is active again")
    assert (await stored(j, 5001)).status == SpecialistStatus.APPROVED
    assert await audit_trail(j) == [
        ("specialist.approve", specialist.id),
        ("specialist.suspend", specialist.id),
        ("specialist.reinstate", specialist.id),
    ]


async def test_reject_with_a_reason_button_and_with_a_typed_reason(journey: Journey) -> None:
    j = journey
    boss = j.user(COORDINATOR_ID, "协调员")
    wang = await specialist_user(j, 5010, "王工", "zh-hans")
    bob = await specialist_user(j, 5011, "Bob", "en")
    first = await registered(j, wang)
    second = await registered(j, bob, name="Bob Stone")
    [_, wang_card, bob_card] = await j.send(boss, "/pending")

    [asking] = j.shown(await j.press(boss, "❌ 不通过", wang_card.message_id))
    assert j.replaces(asking, wang_card)
    assert asking.text.endswith("不通过的原因？点选一项，或直接输入原因（会转告专家）。")
    assert asking.buttons == [
        "资料不完整",
        "无法核实身份或单位",
        "专业不在本项目范围内",
        "重复登记",
        "◀ 上一步",
    ]
    [restored] = j.shown(await j.press(boss, "◀ 上一步", asking.message_id))
    assert restored.buttons == ["✅ 通过", "❌ 不通过"] and j.replaces(restored, asking)
    await j.press(boss, "❌ 不通过", restored.message_id)
    [decided] = j.shown(await j.press(boss, "重复登记"))
    assert j.answers(boss)[-1] == "已驳回，已通知专家。"
    assert "❌ 未通过 · 原因：重复登记" in decided.text and decided.buttons == []
    assert j.emulator.last(wang.id).text == (
        "您的科技特派员登记未通过审核。原因：重复登记\n可以用 /profile 修改资料后重新提交。"
    )

    [bob_asking] = j.shown(await j.press(boss, "❌ 不通过", bob_card.message_id))
    assert j.replaces(bob_asking, bob_card)
    [error] = await j.send_sticker(boss)
    assert error.text.startswith("这一步需要文字回答") and error.text.endswith("或点上面的按钮。")
    reactions = await j.send(boss, "请补充 <单位> 证明")
    assert reactions[0].text == "已驳回，已通知专家。"
    if j.platform == "wecom":  # a typed reason is no click: the card follows as a new message
        assert reactions[-1].message_id > bob_asking.message_id
    else:
        assert reactions[-1].message_id == bob_asking.message_id
    assert "原因：请补充 <单位> 证明" in reactions[-1].text
    assert j.emulator.last(bob.id).text.startswith(
        "Your specialist registration was not approved. Reason: 请补充 <单位> 证明"
    )
    assert (await stored(j, 5010)).status_reason == "duplicate"
    assert (await stored(j, 5011)).status == SpecialistStatus.REJECTED
    assert await audit_trail(j) == [
        ("specialist.reject", first.id),
        ("specialist.reject", second.id),
    ]
    # The dialogue ended: typing now is not taken as another reason.
    [reply] = await j.send(boss, "还有一条")
    assert reply.text.startswith("我没有理解")


async def test_a_resubmitted_profile_goes_back_to_the_coordinators(journey: Journey) -> None:
    j = journey
    boss = j.user(COORDINATOR_ID, "协调员")
    await j.send(boss, "/help")
    zhou = await specialist_user(j, 5015, "周工", "zh-hans")
    await registered(j, zhou)
    await j.send(boss, "/pending")
    await j.press(boss, "❌ 不通过")
    await j.press(boss, "资料不完整")

    [status, _] = await j.send(zhou, "/profile")
    assert "❌ 未通过 · 原因：资料不完整" in status.text
    await j.press(zhou, "✏️ 专长")
    await j.send(zhou, "补充：二十年焊接工艺研究，主持省级项目三项。")
    [*_, submitted] = j.shown(await j.press(zhou, "✅ 确认提交"))
    assert submitted.text.startswith("✅ 已提交")
    assert (await stored(j, 5015)).status == SpecialistStatus.PENDING
    card = j.emulator.last(COORDINATOR_ID)
    assert card.text.startswith("🆕 新的专家登记") and "补充：二十年" in card.text


async def test_buttons_pressed_by_someone_else_change_nothing(journey: Journey) -> None:
    j = journey
    li = await specialist_user(j, 5020, "李工", "zh-hans")
    specialist = await registered(j, li)
    [reply] = await j.send(li, "/pending")
    assert reply.text == "抱歉，这个命令只供项目协调员使用。"
    own_message = j.emulator.last(li.id)
    for data in (f"apr:ok:{specialist.id}", f"apr:why:{specialist.id}.duplicate"):
        await j.press_data(li, own_message.message_id, data)
        assert j.answers(li)[-1] == "抱歉，这个命令只供项目协调员使用。"
    assert (await stored(j, 5020)).status == SpecialistStatus.PENDING
    assert await audit_trail(j) == []


async def test_two_coordinators_pressing_approve_apply_it_once(journey: Journey) -> None:
    j = journey
    first = j.user(COORDINATOR_ID, "协调员甲")
    second = j.user(5031, "Coordinator B", "en")
    await j.send(second, "/help")
    async with j.db.transaction() as session:
        await session.execute(update(User).where(by_account(5031)).values(is_coordinator=True))
    sun = await specialist_user(j, 5030, "孙工", "zh-hans")
    specialist = await registered(j, sun)
    [_, first_card] = await j.send(first, "/pending")
    [_, second_card] = await j.send(second, "/pending")
    assert second_card.buttons == ["✅ Approve", "❌ Reject"]

    await j.press(first, "✅ 通过", first_card.message_id)
    told = len(j.emulator.chat(sun.id))
    [refreshed] = j.shown(await j.press(second, "✅ Approve"))
    assert j.answers(second)[-1] == "Already handled: the specialist is now ✅ approved."
    assert j.replaces(refreshed, second_card)
    assert refreshed.buttons == ["⛔ Suspend"] and "Status: ✅ approved" in refreshed.text
    assert len(j.emulator.chat(sun.id)) == told  # told once, by the first decision
    assert await audit_trail(j) == [("specialist.approve", specialist.id)]


async def test_pending_with_nothing_waiting(journey: Journey) -> None:
    boss = journey.user(COORDINATOR_ID, "Coordinator", "en")
    [reply] = await journey.send(boss, "/pending")
    assert (
        reply.text
        == "No registrations are waiting, and every specialist answered the monthly check."
    )

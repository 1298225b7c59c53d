"""/broadcast: write, preview, send once; delivered through Telegram's 429s exactly once to
everyone who can be reached, those who blocked the bot counted as failed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from channels.telegram.emulator.models import User as ChatUser
from storage.models import Broadcast, Enterprise, Identity, Specialist, SpecialistStatus, User
from tests.e2e.conftest import COORDINATOR_ID, Journey
from tests.people import platform

DONE_TIMEOUT = 60.0  # 200 messages at the rate limiter's ~30 a second, plus the 429 pauses


async def people(
    j: Journey, first_id: int, count: int, *, kind: str, city: str = "dalian", locale: str = "zh_CN"
) -> list[ChatUser]:
    """Users who consented and registered (approved specialists, or enterprises), stored
    directly: this test is about the notice, not about registering."""
    now = j.clock.now()
    chats = []
    async with j.db.transaction() as session:
        for n in range(count):
            telegram_id = first_id + n
            chats.append(j.emulator.add_user(telegram_id, f"用户{n}", started=True))
            user = User(role=kind, locale=locale, consent_at=now, created_at=now, last_seen_at=now)
            session.add(user)
            await session.flush()
            session.add(
                Identity(
                    user_id=user.id,
                    platform=platform(),
                    account=str(telegram_id),
                    address=str(telegram_id),
                    created_at=now,
                    last_seen_at=now,
                )
            )
            if kind == "specialist":
                session.add(
                    Specialist(
                        user_id=user.id,
                        name=f"专家{n}",
                        institution="大连理工大学",
                        institution_type="university",
                        location="liaoning",
                        expertise="焊接",
                        cities=[city],
                        phone="+8613900000000",
                        status=SpecialistStatus.APPROVED.value,
                        created_at=now,
                        updated_at=now,
                    )
                )
            else:
                session.add(
                    Enterprise(
                        owner_user_id=user.id,
                        name=f"企业{n}",
                        city=city,
                        industry_code="C33",
                        size="small",
                        contact_name="王工",
                        phone="+8613800000000",
                        created_at=now,
                        updated_at=now,
                    )
                )
    return chats


async def write_notice(
    j: Journey,
    boss: ChatUser,
    audience: str,
    text: str,
    city: str = "",
    confirm: str = "✅ Confirm",
):
    await j.send(boss, "/broadcast")
    await j.press(boss, audience)
    if city:
        await j.press(boss, city)
    await j.send(boss, text)
    [_, preview] = await j.press(boss, confirm)
    return preview


@pytest.mark.telegram_only
async def test_a_notice_to_200_specialists_through_429s(journey: Journey) -> None:
    j = journey
    boss = j.user(COORDINATOR_ID, "Coordinator", "en")
    specialists = await people(j, 600_000, 200, kind="specialist")
    await people(j, 700_000, 3, kind="enterprise")  # not in this audience
    blocked = specialists[::70]  # three of them blocked the bot
    for user in blocked:
        j.emulator.set_blocked(user)

    preview = await write_notice(
        j, boss, "All specialists", "周五 9:00 召开 <项目> 推进会 & 培训。"
    )
    assert preview.text == (
        "Preview · All specialists · 200 recipients. This is what they will see:\n\n"
        "📢 Notice from the programme coordinators\n\n周五 9:00 召开 <项目> 推进会 & 培训。"
    )
    assert preview.buttons == ["📢 Send to 200", "✖ Cancel"]

    j.emulator.inject_429(count=6, retry_after=0.2, method="sendMessage")
    j.emulator.press_button(boss, "📢 Send to 200")
    done = await j.emulator.wait_for_message(
        boss.id, lambda m: m.text.startswith("📢 Notice #"), timeout=DONE_TIMEOUT
    )
    await j.settle()
    assert done.text == (
        "📢 Notice #1 delivered to 197 of 200 (3 could not be reached: "
        "they blocked the bot or left the platform)."
    )
    assert j.emulator.stats.served_429["sendMessage"] == 6
    expected = "📢 项目协调员通知\n\n周五 9:00 召开 <项目> 推进会 & 培训。"
    for user in specialists:
        received = [m.text for m in j.emulator.chat(user.id)]
        assert received == ([] if user in blocked else [expected]), user.id
    assert all(j.emulator.chat(700_000 + n) == [] for n in range(3))
    assert j.answers(boss)[-1] == "Sending now; you will get the delivery count."

    # A second tap, or a replayed button, sends nothing more.
    mark = j.emulator.mark()
    await j.press_data(boss, preview.message_id, preview.callback_data[0])
    assert j.answers(boss)[-1] == "This button is no longer active."
    assert [e for e in j.emulator.events(since=mark) if e.kind == "bot_message"] == []
    async with j.db.transaction() as session:
        [row] = list(await session.scalars(select(Broadcast)))
    assert (row.status, row.recipients, row.delivered, row.failed) == ("done", 200, 197, 3)


async def test_a_city_notice_reaches_its_enterprises_and_the_specialists_serving_it(
    journey: Journey,
) -> None:
    j = journey
    boss = j.user(COORDINATOR_ID, "协调员", "zh-hans")
    anshan = await people(j, 610_000, 2, kind="enterprise", city="anshan", locale="en")
    elsewhere = await people(j, 620_000, 2, kind="enterprise", city="dalian")
    serving = await people(j, 630_000, 1, kind="specialist", city="anshan")
    other = await people(j, 640_000, 1, kind="specialist", city="dalian")

    preview = await write_notice(
        j, boss, "某个城市", "鞍山专场对接会下周举行。", city="鞍山", confirm="✅ 确认提交"
    )
    assert preview.text.startswith("预览 · 某个城市: 鞍山 · 共 3 人。")
    j.emulator.press_button(boss, "📢 发送给 3 人")
    done = await j.emulator.wait_for_message(
        boss.id, lambda m: m.text.startswith("📢 通知 #"), timeout=DONE_TIMEOUT
    )
    await j.settle()
    assert done.text.startswith("📢 通知 #1 已送达 3/3 人")
    assert [m.text for m in j.emulator.chat(anshan[0].id)] == [
        "📢 Notice from the programme coordinators\n\n鞍山专场对接会下周举行。"
    ]
    assert [m.text for m in j.emulator.chat(serving[0].id)] == [
        "📢 项目协调员通知\n\n鞍山专场对接会下周举行。"
    ]
    assert all(j.emulator.chat(u.id) == [] for u in [*elsewhere, *other])


async def test_cancel_after_the_preview_sends_nothing(journey: Journey) -> None:
    j = journey
    boss = j.user(COORDINATOR_ID, "Coordinator", "en")
    [enterprise] = await people(j, 650_000, 1, kind="enterprise")
    preview = await write_notice(j, boss, "All enterprises", "Forms are due on Monday.")
    assert preview.buttons == ["📢 Send to 1", "✖ Cancel"]
    [edited] = await j.press(boss, "✖ Cancel")
    assert edited.buttons == [] and j.answers(boss)[-1] == "Cancelled: nothing was sent."
    await j.press_data(boss, preview.message_id, preview.callback_data[0])
    assert j.answers(boss)[-1] == "This button is no longer active."
    assert j.emulator.chat(enterprise.id) == []


async def test_a_notice_that_is_too_short_is_asked_again(journey: Journey) -> None:
    j = journey
    boss = j.user(COORDINATOR_ID, "Coordinator", "en")
    await j.send(boss, "/broadcast")
    await j.press(boss, "All enterprises")
    [complaint, again] = await j.send(boss, "x")
    assert complaint.text.startswith("Too short")
    assert again.text == "Type the notice (up to 3,500 characters). It is sent as plain text."

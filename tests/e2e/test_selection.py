"""Mutual selection with three people: an enterprise, specialists and a coordinator.

The bot proposes, the specialist accepts or declines, the enterprise chooses
among those who accepted, and both sides see each other's contact details
only once both agreed to share them (asked at the choice, or earlier in
/privacy). Deadlines run on the test's clock; buttons survive restarts and
refuse stale or foreign presses.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from channels.telegram.emulator.models import User
from handlers.rounds import tick_deadlines
from handlers.services import Services
from storage.demands import DemandDetails, create_demand
from storage.models import Demand, Engagement, Proposal
from storage.proposals import get_proposal
from tests.e2e.conftest import COORDINATOR_ID, Journey
from tests.e2e.enterprise_steps import registered_enterprise, user_id
from tests.e2e.specialist_helpers import registered, specialist_user

WELDING = DemandDetails(
    title="铝合金焊缝有气孔",
    description="我们厂的铝合金构件激光焊接以后焊缝里老是有气孔，探伤不合格，想找专家分析工艺原因。",
    kind="technology",
    fields=("460",),
    keywords=("焊接", "铝合金"),
    work_mode="either",
    urgency="normal",
    desired_start=None,
    expected_outcome="气孔率降到标准以内",
    voucher_interest=True,
)
ENTERPRISE_PHONE = "+8613800138000"  # WANG_STEEL's contact
SPECIALIST_PHONE = "+8613900001111"


def services(j: Journey) -> Services:
    return j.services


async def tick(j: Journey) -> None:
    await tick_deadlines(j.services)
    await j.settle()


async def enterprise_with_demand(
    j: Journey, telegram_id: int, language: str = "zh-hans"
) -> tuple[User, Demand]:
    user = await registered_enterprise(j, telegram_id, "王工", language)
    await j.send(user, "/help")  # Telegram lets a bot write only to people who wrote to it
    demand = await create_demand(
        db=j.db, owner_user_id=await user_id(j, telegram_id), details=WELDING, now=j.clock.now()
    )
    assert demand is not None
    return user, demand


async def welding_expert(
    j: Journey, telegram_id: int, name: str, language: str = "zh-hans", **changes: object
) -> User:
    user = await specialist_user(j, telegram_id, name, language)
    await registered(j, user, approve=True, name=name, phone=SPECIALIST_PHONE, **changes)
    return user


async def coordinator_round(j: Journey) -> str:
    known = {u.id: u for u in j.emulator.users}
    boss = known.get(COORDINATOR_ID) or j.user(COORDINATOR_ID, "Coordinator", "en")
    [report] = await j.send(boss, "/match_now")
    return report.text


def everything_sent_to(j: Journey, user: User) -> str:
    return "\n".join(m.text for m in j.emulator.chat(user.id))


def times_sent(j: Journey, user: User, needle: str) -> int:
    return sum(needle in m.text for m in j.emulator.chat(user.id))


async def agree_to_share(j: Journey, user: User) -> None:
    """The user allows sharing their contact details ahead of any match, in /privacy."""
    await j.send(user, "/privacy")
    [thanks] = j.news(await j.press(user, "同意对接后分享我的联系方式"))
    assert thanks.text.startswith("谢谢！")


async def chosen_expert(
    j: Journey, enterprise_id: int, expert_id: int, name: str
) -> tuple[User, User]:
    """An enterprise with the welding demand, and the expert who accepted it, not yet chosen."""
    wang, _ = await enterprise_with_demand(j, enterprise_id)
    expert = await welding_expert(j, expert_id, name)
    await coordinator_round(j)
    await j.press(expert, "✅ 接受")
    return wang, expert


async def test_propose_accept_choose_and_contacts_once_both_agree(journey: Journey) -> None:
    j = journey
    wang, demand = await enterprise_with_demand(j, 7001)
    li = await welding_expert(j, 7101, "李焊")
    chef = await welding_expert(
        j,
        7102,
        "赵发酵",
        expertise="乳酸菌发酵工艺与酸奶风味改良。",
        keywords=["发酵", "乳制品"],
        disciplines=["550"],
    )
    assert (await coordinator_round(j)).startswith("Round finished: 1 new proposal (")

    card = j.emulator.last(li.id)
    assert card.text.startswith("📋 对接邀请") and "铝合金焊缝有气孔" in card.text
    assert card.buttons == ["✅ 接受", "❌ 婉拒", "📄 详情"]
    assert "匹配原因" in card.text and ENTERPRISE_PHONE not in card.text
    [pointed] = await j.send(li, "好的，我愿意接这个")  # words, not a press: the buttons named
    assert pointed.text == (
        "这里请点按钮回答（也可以输入按钮上的文字）：✅ 接受、❌ 婉拒、📄 详情。需要帮助请发送 /help。"
    )
    assert not any(
        m.text.startswith("📋") for m in j.emulator.chat(chef.id)
    )  # the fermentation expert is not asked

    [details] = await j.press(li, "📄 详情")
    assert "探伤不合格" in details.text and "有意申请创新券：是" in details.text

    reactions = j.shown(await j.press(li, "✅ 接受", card.message_id))
    assert j.replaces(reactions[0], card)
    assert (
        reactions[0].text.endswith("✅ 您已接受。企业选择后会通知您。")
        and reactions[0].buttons == []
    )
    candidate = j.emulator.last(wang.id)
    assert candidate.text.startswith("👤 专家接受了您的需求") and "李焊" in candidate.text
    assert SPECIALIST_PHONE not in everything_sent_to(j, wang)
    assert ENTERPRISE_PHONE not in everything_sent_to(j, li)

    mark = j.emulator.mark()
    *_, matched, asked = await j.press(wang, "✅ 选择这位专家")
    async with j.db.transaction() as session:
        stored = await session.get(Demand, demand.id)
        engagements = (await session.execute(select(Engagement))).scalars().all()
    assert stored is not None and stored.status == "matched"
    assert [(e.demand_id, e.status) for e in engagements] == [(demand.id, "active")]
    # Neither side agreed to share contact details yet: both hear they are matched and are
    # asked; no phone reaches anyone.
    assert matched.text.startswith("🤝 对接成功：“铝合金焊缝有气孔”，对方：👤 李焊（")
    assert "双方都同意分享联系方式后" in matched.text
    assert asked.text.startswith("分享联系方式") and asked.buttons == ["✅ 同意分享", "暂时不要"]
    [told, question] = j.reactions(li, mark)
    assert told.text.startswith("🤝 对接成功：“铝合金焊缝有气孔”，对方：🏭 鞍山精工钢构有限公司")
    assert question.text == asked.text and question.buttons == asked.buttons
    assert SPECIALIST_PHONE not in everything_sent_to(j, wang)
    assert ENTERPRISE_PHONE not in everything_sent_to(j, li)

    # The enterprise agrees first: it waits; the specialist is asked once more, and only once.
    mark = j.emulator.mark()
    [thanks, waiting] = j.shown(await j.press(wang, "✅ 同意分享", asked.message_id))
    assert j.replaces(thanks, asked)
    assert thanks.text.startswith("谢谢！") and thanks.buttons == []
    assert waiting.text.startswith("“铝合金焊缝有气孔”：您已同意分享联系方式；👤 李焊（")
    [reminder] = j.reactions(li, mark)
    assert reminder.text.startswith("🏭 鞍山精工钢构有限公司已同意分享“铝合金焊缝有气孔”的联系方式")
    assert reminder.buttons == ["✅ 同意分享", "暂时不要"]
    mark = j.emulator.mark()
    await j.press_data(wang, thanks.message_id, "prv:share")  # a second press
    assert j.reactions(li, mark) == []
    assert SPECIALIST_PHONE not in everything_sent_to(j, wang)
    assert ENTERPRISE_PHONE not in everything_sent_to(j, li)

    # The specialist agrees too: both get the other's contact details.
    mark = j.emulator.mark()
    [agreed, contacts] = j.shown(await j.press(li, "✅ 同意分享", reminder.message_id))
    assert j.replaces(agreed, reminder)
    assert agreed.text.startswith("谢谢！")
    assert ENTERPRISE_PHONE in contacts.text and "鞍山精工钢构有限公司" in contacts.text
    [theirs] = j.reactions(wang, mark)
    assert SPECIALIST_PHONE in theirs.text and theirs.text.startswith("🤝 对接成功：您选择了 李焊")
    # Pressing Share again, on the first question or replayed, sends nothing more.
    await j.press(li, "✅ 同意分享", question.message_id)
    await j.press_data(li, reminder.message_id, "prv:share")
    await j.press_data(wang, thanks.message_id, "prv:share")
    assert times_sent(j, wang, SPECIALIST_PHONE) == 1
    assert times_sent(j, li, ENTERPRISE_PHONE) == 1
    async with j.db.transaction() as session:
        [engagement] = (await session.execute(select(Engagement))).scalars().all()
    assert engagement.contacts_shared_at is not None


async def test_contacts_go_out_at_the_choice_when_both_agreed_before(journey: Journey) -> None:
    j = journey
    wang, expert = await chosen_expert(j, 7012, 7113, "蒋焊")
    await agree_to_share(j, wang)
    await agree_to_share(j, expert)
    mark = j.emulator.mark()
    reactions = await j.press(wang, "✅ 选择这位专家")
    assert SPECIALIST_PHONE in reactions[-1].text and reactions[-1].buttons == []
    [contacts] = j.reactions(expert, mark)
    assert ENTERPRISE_PHONE in contacts.text and contacts.buttons == []


async def test_not_now_keeps_the_engagement_going_without_contacts(journey: Journey) -> None:
    j = journey
    wang, expert = await chosen_expert(j, 7013, 7114, "沈焊")
    await agree_to_share(j, wang)
    await j.press(wang, "✅ 选择这位专家")
    told = j.emulator.last(wang.id)
    assert told.text.startswith("🤝 对接成功") and "您已同意分享联系方式；👤 沈焊" in told.text
    [later] = j.shown(await j.press(expert, "暂时不要"))
    assert later.text.startswith("好的，不分享您的联系方式。对接照常进行")

    [_, engagements] = await j.send(expert, "/my_matches")
    [card] = await j.press(expert, "1. 铝合金焊缝有气孔", engagements.message_id)
    assert "📞 联系方式：双方都同意后才会分享；您还没有同意。" in card.text
    assert card.buttons[:2] == ["✅ 同意分享", "📝 记录工作"]
    await j.send(wang, "/engagements")
    [theirs] = await j.press(wang, "1. 铝合金焊缝有气孔")
    assert "📞 联系方式：您已同意，对方也同意后即会分享。" in theirs.text
    assert "✅ 同意分享" not in theirs.buttons
    assert ENTERPRISE_PHONE not in everything_sent_to(j, expert)
    assert SPECIALIST_PHONE not in everything_sent_to(j, wang)

    # Agreeing later, from the engagement's card, sends the contacts to both; the card stays,
    # now showing the phone and without the Share button.
    await j.press(expert, "✅ 同意分享", card.message_id)
    assert times_sent(j, expert, ENTERPRISE_PHONE) == 2  # the contacts, and the card redrawn
    assert times_sent(j, wang, SPECIALIST_PHONE) == 1
    [redrawn] = [m for m in j.emulator.chat(expert.id) if m.message_id == card.message_id]
    assert ENTERPRISE_PHONE in redrawn.text and "📝 记录工作" in redrawn.buttons
    assert "✅ 同意分享" not in redrawn.buttons
    await j.press(wang, "‹ 全部对接")
    [again] = await j.press(wang, "1. 铝合金焊缝有气孔")
    assert f"📞 联系方式：沈焊，{SPECIALIST_PHONE}" in again.text


async def test_a_decline_is_respected_and_the_next_round_proposes_another(journey: Journey) -> None:
    j = journey
    _, demand = await enterprise_with_demand(j, 7002)
    first = await welding_expert(j, 7103, "钱焊")
    await coordinator_round(j)
    await j.press(first, "❌ 婉拒")
    [declined] = j.shown(await j.press(first, "没有时间"))
    assert declined.text == "已婉拒：没有时间。感谢您的答复。"

    second = await welding_expert(j, 7104, "孙焊")
    await coordinator_round(j)
    assert j.emulator.last(second.id).text.startswith("📋 对接邀请")
    # Never asked again: one message sent (on WeCom, a card and the text it carries are one).
    cards = {
        e.message.message_id
        for e in j.emulator.events(first.id)
        if e.kind == "bot_message" and e.message is not None and e.message.text.startswith("📋")
    }
    assert len(cards) == 1
    async with j.db.transaction() as session:
        rows = (
            (await session.execute(select(Proposal).where(Proposal.demand_id == demand.id)))
            .scalars()
            .all()
        )
    assert sorted((p.status, p.decline_reason) for p in rows) == [
        ("declined", "no_time"),
        ("proposed", None),
    ]


async def test_other_reason_takes_an_optional_note(journey: Journey) -> None:
    j = journey
    await enterprise_with_demand(j, 7003)
    expert = await welding_expert(
        j, 7105, "Alice", "en", institution="TU Dresden", location="abroad"
    )
    await coordinator_round(j)
    await j.press(expert, "❌ Decline")
    reactions = await j.press(expert, "Other")
    assert reactions[-1].text == "If you like, say why in a sentence (optional)."
    [thanks] = await j.send(expert, "I am on sabbatical until autumn")
    assert thanks.text == "Noted, thank you."
    async with j.db.transaction() as session:
        [proposal] = (await session.execute(select(Proposal))).scalars().all()
    assert (proposal.decline_reason, proposal.decline_text) == (
        "other",
        "I am on sabbatical until autumn",
    )


async def test_reminder_once_then_expiry_on_the_clock(journey: Journey) -> None:
    j = journey
    await enterprise_with_demand(j, 7004)
    expert = await welding_expert(j, 7106, "周焊")
    await coordinator_round(j)
    card = j.emulator.last(expert.id)
    j.clock.advance(dt.timedelta(hours=23))
    await tick(j)
    assert j.emulator.last(expert.id).message_id == card.message_id  # nothing yet
    j.clock.advance(dt.timedelta(hours=2))
    await tick(j)
    await tick(j)  # a job that runs twice reminds once
    reminders = [m for m in j.emulator.chat(expert.id) if m.text.startswith("⏰")]
    assert len(reminders) == 1 and reminders[0].buttons == ["✅ 接受", "❌ 婉拒", "📄 详情"]
    j.clock.advance(dt.timedelta(hours=48))
    await tick(j)
    assert (
        j.emulator.last(expert.id).text.startswith("邀请 #")
        and "已过期" in j.emulator.last(expert.id).text
    )
    await j.press(expert, "✅ 接受", reminders[0].message_id)
    assert j.answers(expert)[-1] == "这个邀请已不再有效，未做任何更改。"


async def test_enterprise_that_has_not_chosen_is_reminded(journey: Journey) -> None:
    j = journey
    wang, _ = await enterprise_with_demand(j, 7005)
    expert = await welding_expert(j, 7107, "吴焊")
    await coordinator_round(j)
    await j.press(expert, "✅ 接受")
    j.clock.advance(dt.timedelta(days=5, hours=1))
    await tick(j)
    await tick(j)
    reminders = [m for m in j.emulator.chat(wang.id) if m.text.startswith("⏰")]
    assert len(reminders) == 1 and "吴焊" in reminders[0].text
    assert reminders[0].buttons == ["✅ 选择这位专家", "不合适"]
    await j.press(wang, "不合适", reminders[0].message_id)
    assert "不太合适" in j.emulator.last(expert.id).text


async def test_buttons_survive_a_restart_and_refuse_stale_and_foreign_presses(
    journey: Journey,
) -> None:
    j = journey
    wang, _ = await enterprise_with_demand(j, 7006)
    other_boss = await registered_enterprise(j, 7007, "别家", "zh-hans")
    await j.send(other_boss, "/help")
    expert = await welding_expert(j, 7108, "郑焊")
    intruder = await welding_expert(j, 7109, "冒名")
    assert (await coordinator_round(j)).startswith("Round finished: 2 new proposals (")
    card = next(m for m in j.emulator.chat(expert.id) if m.text.startswith("📋"))
    proposal_id = int(card.text.split("#")[1].split()[0])

    await agree_to_share(j, wang)
    await agree_to_share(j, expert)
    await j.restart()
    # Someone else replays the expert's Accept button: refused, nothing changes.
    await j.press_data(intruder, j.emulator.last(intruder.id).message_id, f"pr:acc:{proposal_id}:1")
    assert j.answers(intruder)[-1] == "这个按钮不是发给您的。"
    assert (await get_proposal(db=j.db, proposal_id=proposal_id)).status == "proposed"

    await j.press(expert, "✅ 接受", card.message_id)  # sent before the restart, works after it
    assert (await get_proposal(db=j.db, proposal_id=proposal_id)).status == "accepted"
    await j.press_data(expert, card.message_id, f"pr:dec:{proposal_id}:1")  # the old version
    assert j.answers(expert)[-1] == "这个邀请已不再有效，未做任何更改。"

    # Another enterprise tries to choose this candidate: refused; the owner can.
    await j.press_data(
        other_boss, j.emulator.last(other_boss.id).message_id, f"ca:pick:{proposal_id}:2"
    )
    assert j.answers(other_boss)[-1] == "这个按钮不是发给您的。"
    candidate = next(
        m for m in j.emulator.chat(wang.id) if m.text.startswith("👤") and "郑焊" in m.text
    )
    await j.press(wang, "✅ 选择这位专家", candidate.message_id)
    await j.press_data(wang, candidate.message_id, f"ca:pick:{proposal_id}:2")  # a double tap
    assert j.answers(wang)[-1] == "这个需求已经选定专家，未做任何更改。"
    assert sum(SPECIALIST_PHONE in m.text for m in j.emulator.chat(wang.id)) == 1


async def test_filing_a_demand_starts_a_round(journey: Journey) -> None:
    """The round right after a demand is confirmed, not at the next scheduled time."""
    j = journey
    expert = await welding_expert(j, 7110, "冯焊")
    mark = j.emulator.mark()
    _, demand = await enterprise_with_demand(j, 7009)
    async with j.services.db.unit_of_work():  # what the demand form's Confirm does, in its event
        services(j).schedule_round()
    card = await j.emulator.wait_for_message(
        expert.id, lambda m: m.text.startswith("📋"), timeout=15, after=mark
    )
    assert f"#{(await first_proposal_id(j, demand.id))}" in card.text


async def first_proposal_id(j: Journey, demand_id: int | None) -> int:
    async with j.db.transaction() as session:
        found = (
            (await session.execute(select(Proposal.id).where(Proposal.demand_id == demand_id)))
            .scalars()
            .first()
        )
    assert found is not None
    return found


@pytest.mark.telegram_only
async def test_a_proposal_telegram_refuses_for_a_while_goes_out_once(journey: Journey) -> None:
    j = journey
    await enterprise_with_demand(j, 7010)
    expert = await welding_expert(j, 7111, "褚焊")
    j.emulator.inject_429(count=6, retry_after=0.01, method="sendMessage")
    await coordinator_round(j)
    # The outbox waits as long as Telegram asks, then sends: the card arrives, once.
    assert j.emulator.stats.served_429["sendMessage"] == 6
    assert sum(m.text.startswith("📋") for m in j.emulator.chat(expert.id)) == 1
    await tick(j)  # the deadline tick finds nothing stored and unsent
    await tick(j)
    assert sum(m.text.startswith("📋") for m in j.emulator.chat(expert.id)) == 1


async def test_my_matches_lists_open_proposals_then_engagements(journey: Journey) -> None:
    j = journey
    wang, _ = await enterprise_with_demand(j, 7011)
    expert = await welding_expert(j, 7112, "卫焊")
    await coordinator_round(j)
    [listing] = await j.send(expert, "/my_matches")
    assert "铝合金焊缝有气孔 · 待您答复" in listing.text
    [card] = await j.press(expert, listing.buttons[0])
    assert card.text.startswith("📋 对接邀请") and card.buttons[0] == "✅ 接受"
    await j.press(expert, "✅ 接受", card.message_id)
    await j.press(wang, "✅ 选择这位专家")
    [proposals_now, engagements] = await j.send(expert, "/my_matches")
    assert "目前没有待处理的邀请" in proposals_now.text
    assert "铝合金焊缝有气孔" in engagements.text and engagements.buttons


async def test_a_demand_in_english_is_marked_so_for_a_chinese_reader(journey: Journey) -> None:
    """The demand's own words stay as the enterprise wrote them; the card says which
    language they are in when it is not the reader's, and the rest is the reader's."""
    j = journey
    user = await registered_enterprise(j, 7301, "Wang", "en")
    await j.send(user, "/help")
    english = DemandDetails(
        title="Pores in aluminium welds",
        description="Laser welded aluminium parts show pores in the weld seam and fail the "
        "X-ray inspection; we need an expert to find the cause in our process.",
        kind="technology",
        fields=("460",),
        keywords=("welding", "aluminium", "焊接"),
        work_mode="either",
        urgency="normal",
        desired_start=None,
        expected_outcome="Pores within the standard",
        voucher_interest=False,
    )
    await create_demand(
        db=j.db, owner_user_id=await user_id(j, 7301), details=english, now=j.clock.now()
    )
    li = await welding_expert(j, 7302, "李焊")
    await coordinator_round(j)
    # (On WeCom the card's text comes first, as a message of its own.)
    [card] = [m for m in j.emulator.chat(li.id) if "Pores in aluminium welds" in m.text]
    assert card.text.startswith("📋 对接邀请")
    assert "🌐 需求原文为英文" in card.text and "匹配原因：" in card.text

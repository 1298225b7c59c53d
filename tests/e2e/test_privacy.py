"""Privacy journeys: the notice at any time, consent withdrawn (and given again), a copy of
everything kept, deletion that tells the other side and leaves nothing personal in any table,
contact sharing as a consent of its own, and the retention job."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from sqlalchemy import select
from sqlmodel import SQLModel, col

from channels.telegram.emulator.models import User
from handlers.contact_exchange import send_contact_consent_request
from handlers.privacy import RETENTION
from handlers.specialist_views import LocaleReader
from storage.db import Database
from storage.models import Demand, Engagement, Proposal
from tests.e2e.conftest import Journey
from tests.e2e.engagement_steps import CASTING, approved_specialist, engage, enterprise, services
from tests.e2e.enterprise_steps import user_id
from tests.e2e.specialist_helpers import PROFILE
from tests.people import get_user, platform


async def dump(db: Database) -> list[tuple[str, str, str]]:
    """Every value of every column of every table, as text."""
    values = []
    async with db.transaction() as session:
        for table in SQLModel.metadata.sorted_tables:
            for row in (await session.execute(select(table))).mappings():
                values += [(table.name, name, str(value)) for name, value in row.items()]
    return values


def holds(value: str, needle: str) -> bool:
    """Whether a stored value holds the needle; an id only as a whole number, not inside a
    timestamp's fraction ("47.853028" does not hold the id 5302)."""
    if needle.isdigit():
        return re.search(rf"(?<!\d){needle}(?!\d)", value) is not None
    return needle in value


async def proposal_states(j: Journey) -> list[str]:
    async with j.db.transaction() as session:
        return list(
            (await session.execute(select(Proposal.status).order_by(Proposal.id))).scalars()
        )


async def first_proposal(j: Journey) -> int:
    async with j.db.transaction() as session:
        found = (await session.execute(select(Proposal.id).order_by(Proposal.id))).scalars()
        return int(found.first() or 0)


async def shares_contacts(j: Journey, user: User) -> bool:
    stored = await get_user(db=j.db, telegram_id=user.id)
    assert stored is not None
    return stored.consent_at is not None and stored.contact_consent_at is not None


async def open_proposal(j: Journey, company: User, expert: User) -> None:
    """A second demand of the enterprise's, proposed to the specialist, who accepted it."""
    engaged = await engage(j, company, expert)
    async with j.db.transaction() as session:
        demand = await session.get(Demand, engaged.demand_id)
        proposal = (
            await session.execute(select(Proposal).where(col(Proposal.demand_id) == demand.id))
        ).scalar_one()
        engagement = await session.get(Engagement, engaged.engagement_id)
        # Back to before the choice: the specialist said yes and the enterprise has not chosen.
        proposal.status, demand.status = "accepted", "open"
        await session.delete(engagement)


async def test_privacy_notice_then_consent_withdrawn_and_given_again(journey: Journey) -> None:
    j = journey
    wang = await enterprise(j, 5101, "王工", share_contacts=False)
    expert = await approved_specialist(j, 5102, "王建国")
    await open_proposal(j, wang, expert)

    [notice] = await j.send(wang, "/privacy")
    assert notice.text.startswith("隐私说明")
    assert "最后一次发消息 730 天后" in notice.text and "/mydata" in notice.text
    assert notice.buttons == ["同意对接后分享我的联系方式", "撤回同意"]
    [asked] = j.shown(await j.press(wang, "撤回同意"))
    assert j.replaces(asked, notice) and asked.text.startswith("确定撤回同意吗？")
    assert asked.buttons == ["是的，撤回", "不了，保持不变"]
    [kept] = j.shown(await j.press(wang, "不了，保持不变"))
    assert kept.text == "好的，什么都没有改变。"
    stored = await get_user(db=j.db, telegram_id=wang.id)
    assert stored is not None and stored.consent_at is not None
    # A "yes" with no question waiting (replayed, or forged) changes nothing.
    await j.press_data(wang, kept.message_id, "prv:yes")
    assert j.answers(wang)[-1] == "这个按钮已失效。"

    await j.send(wang, "/privacy")
    await j.press(wang, "撤回同意")
    mark = j.emulator.mark()
    [done] = j.shown(await j.press(wang, "是的，撤回"))
    assert done.text.startswith("已撤回您的同意，1 条未完成的推荐已结束。")
    assert "/start" in done.text and "/delete_me" in done.text
    assert await proposal_states(j) == ["withdrawn"]
    # The specialist whose proposal ended hears of it.
    [told] = j.reactions(expert, mark)
    assert (
        told.text
        == f"推荐 #{await first_proposal(j)}“{CASTING.title}”已结束：提出需求的企业已退出项目，您无需再做任何操作。谢谢！"
    )
    stored = await get_user(db=j.db, telegram_id=wang.id)
    assert stored is not None and stored.consent_at is None and stored.first_name == "王工"

    # Nothing else is processed until consent is given again; privacy commands still work.
    [refused] = await j.send(wang, "/new_demand")
    assert refused.text.startswith("您已撤回同意，所以机器人不再处理您的信息。")
    [again] = await j.send(wang, "/privacy")
    assert "您还没有同意" in again.text and again.buttons == []
    [consent] = await j.send(wang, "/start")
    assert "我们保存什么" in consent.text
    await j.press(wang, "✅ 同意")
    reactions = await j.press(wang, "中文")
    assert reactions[-1].text.startswith("请核对企业信息")  # back to the stored registration
    await j.send(wang, "/cancel")
    [*_, question] = await j.send(wang, "/new_demand")
    assert question.text.startswith("用一句话概括需求")


async def test_a_specialist_withdrawing_consent_leaves_the_enterprise_told(
    journey: Journey,
) -> None:
    j = journey
    wang = await enterprise(j, 5121, "王工")
    expert = await approved_specialist(j, 5122, "王建国")
    await open_proposal(j, wang, expert)
    await j.send(expert, "/privacy")
    await j.press(expert, "撤回同意")
    mark = j.emulator.mark()
    [done] = j.shown(await j.press(expert, "是的，撤回"))
    assert done.text.startswith("已撤回您的同意，1 条未完成的推荐已结束。")
    [told] = j.reactions(wang, mark)
    proposal = await first_proposal(j)
    assert told.text == (
        f"“{CASTING.title}”：接受推荐 #{proposal} 的专家已退出项目，无法再选择。"
        "我们会继续为您推荐其他专家。"
    )
    assert "王建国" not in told.text
    # The enterprise's old Choose button no longer works.
    await j.press_data(wang, told.message_id, f"ca:pick:{proposal}:3")
    assert j.answers(wang)[-1] == "这个需求已经选定专家，未做任何更改。"


async def test_saying_no_gives_back_the_dialogue_the_user_was_in(journey: Journey) -> None:
    j = journey
    wang = await enterprise(j, 5111, "王工")
    await j.send(wang, "/new_demand")
    await j.send(wang, "焊缝经常开裂")
    [asked] = await j.send(wang, "/delete_me")
    assert asked.text.startswith("确定删除您的个人资料吗？")
    hint, again = await j.send(wang, "随便说一句")
    assert hint.text == "请用下面的按钮回答：是或否。" and again.text == asked.text
    await j.press(wang, "不了，保持不变")
    # The demand form carries on at its second question.
    [*_, kinds] = await j.send(wang, "钢结构件焊接后焊缝经常出现裂纹，返修率高，想找专家分析原因。")
    assert kinds.buttons[0] == "🔧 技术难题"


async def test_mydata_sends_everything_kept_and_nothing_of_the_other_side(
    journey: Journey,
) -> None:
    j = journey
    ann = await enterprise(j, 5201, "Ann", "en", contact_name="Ann Lee", phone="+8613911110000")
    expert = await approved_specialist(j, 5202, "孙立新", phone="+8613622223333")
    engaged = await engage(j, ann, expert)

    [document] = await j.send(ann, "/mydata")
    assert document.document is not None
    filename, data = document.document
    assert filename == "techmatch-my-data-20260302.json"
    exported = json.loads(data.decode("utf-8"))
    rows = exported["tables"]
    assert document.caption.startswith(
        f"Everything the bot keeps about you ({sum(map(len, rows.values()))} records)"
    )
    assert (rows["identities"][0]["platform"], rows["identities"][0]["account"]) == (
        platform(),
        "5201",
    )
    assert rows["enterprises"][0]["contact_name"] == "Ann Lee"
    assert [d["title"] for d in rows["demands"]] == [CASTING.title]
    assert [e["id"] for e in rows["engagements"]] == [engaged.engagement_id]
    assert {"users", "identities", "enterprises", "demands", "proposals", "audit_events"} <= set(
        rows
    )
    for theirs in ("孙立新", "+8613622223333", "5202", PROFILE.expertise):
        assert theirs not in data.decode("utf-8")

    [mine] = await j.send(expert, "/mydata")
    assert mine.document is not None
    theirs = json.loads(mine.document[1])["tables"]
    assert theirs["specialists"][0]["phone"] == "+8613622223333"
    assert "Ann Lee" not in mine.document[1].decode("utf-8")


async def test_delete_me_tells_the_other_side_of_an_open_proposal_without_naming_anyone(
    journey: Journey,
) -> None:
    j = journey
    company = await enterprise(j, 5131, "赵经理")
    expert = await approved_specialist(j, 5132, "周志强")
    await open_proposal(j, company, expert)
    proposal = await first_proposal(j)
    await j.send(company, "/delete_me")
    mark = j.emulator.mark()
    [done] = j.shown(await j.press(company, "是的，删除我的资料"))
    assert done.text.startswith("已完成：您的个人资料已删除。")
    [told] = j.reactions(expert, mark)
    assert told.text == (
        f"推荐 #{proposal}“{CASTING.title}”已结束：提出需求的企业已退出项目，"
        "您无需再做任何操作。谢谢！"
    )
    assert await proposal_states(j) == ["withdrawn"]


async def test_a_specialist_withdrawing_consent_ends_the_engagement_and_reopens_the_demand(
    journey: Journey,
) -> None:
    j = journey
    company = await enterprise(j, 5141, "吴经理")
    expert = await approved_specialist(j, 5142, "郑海涛")
    await engage(j, company, expert)
    await j.send(company, "/help")  # Telegram lets a bot write only to users who wrote first
    await j.send(expert, "/privacy")
    await j.press(expert, "撤回同意")
    mark = j.emulator.mark()
    [done] = j.shown(await j.press(expert, "是的，撤回"))
    assert "1 项进行中的对接服务已结束，已通知对方。" in done.text
    [told] = j.reactions(company, mark)
    assert told.text.startswith(f"为“{CASTING.title}”服务的专家已撤回对本项目的同意")
    assert "需求已重新开放" in told.text
    async with j.db.transaction() as session:
        [demand] = (await session.execute(select(Demand))).scalars()
        [engagement] = (await session.execute(select(Engagement))).scalars()
    assert (demand.status, engagement.status, engagement.end_reason) == (
        "open",
        "cancelled",
        "consent_withdrawn",
    )


async def test_delete_me_erases_everything_personal_and_tells_the_other_side(
    journey: Journey,
) -> None:
    j = journey
    company = await enterprise(j, 5301, "钱经理", contact_name="钱晓梅", phone="+8613912345678")
    expert = await approved_specialist(j, 5302, "孙立新", phone="+8613611112222")
    await engage(j, company, expert)
    await j.send(company, "/help")  # Telegram lets a bot write only to users who wrote first
    # What the specialist typed in a dialogue not finished yet.
    await j.send(expert, "/profile")
    before = await dump(j.db)
    specialist_values = ("孙立新", "+8613611112222", PROFILE.expertise, PROFILE.institution, "5302")
    assert any(holds(v, needle) for _, _, v in before for needle in specialist_values)

    [asked] = await j.send(expert, "/delete_me")
    assert asked.buttons == ["是的，删除我的资料", "不了，保持不变"]
    [done] = j.shown(await j.press(expert, "是的，删除我的资料"))
    assert done.text.startswith("已完成：您的个人资料已删除。")
    told = j.emulator.last(company.id)
    assert told.text.startswith(f"为“{CASTING.title}”服务的专家已退出项目并删除了资料")
    assert "需求已重新开放" in told.text

    after = await dump(j.db)
    left = [(t, c, v) for t, c, v in after for needle in specialist_values if holds(v, needle)]
    assert left == []
    assert any("钱晓梅" in v for _, _, v in after)  # the enterprise's data stays its own
    async with j.db.transaction() as session:
        [demand] = (await session.execute(select(Demand))).scalars()
        [engagement] = (await session.execute(select(Engagement))).scalars()
    assert (demand.status, engagement.status, engagement.end_reason) == (
        "open",
        "cancelled",
        "erased",
    )
    # The same person writing again is a newcomer: asked for consent, nothing kept.
    [consent] = await j.send(expert, "/start")
    assert "我们保存什么" in consent.text
    assert any(holds(v, "5302") for _, _, v in await dump(j.db))


async def test_contact_details_are_shared_only_after_their_own_consent(journey: Journey) -> None:
    j = journey
    ann = await enterprise(j, 5401, "Ann", "en", share_contacts=False)
    await j.send(ann, "/help")
    reader = LocaleReader(services(j).catalogs, "en")
    ann_id = await user_id(j, ann.id)
    async with j.services.db.unit_of_work():
        await send_contact_consent_request(j.services, ann_id, reader)
    await j.settle()
    ask = j.emulator.last(ann.id)
    assert ask.text.startswith("Sharing your contact details")
    assert ask.buttons == ["✅ Share my contact details", "Not now"]
    [later] = j.shown(await j.press(ann, "Not now"))
    assert later.text.startswith("Understood: your contact details are not shared.")
    assert not await shares_contacts(j, ann)

    [notice] = await j.send(ann, "/privacy")
    assert "Contact details: not shared" in notice.text
    [shared] = j.shown(await j.press(ann, "Allow sharing my contact details once matched"))
    assert shared.text.startswith("Thank you")
    assert await shares_contacts(j, ann)
    [notice] = await j.send(ann, "/privacy")
    assert (
        "you allowed sharing them with the party you are matched with on 2026-03-02" in notice.text
    )
    [stopped] = j.shown(await j.press(ann, "Stop sharing my contact details"))
    assert stopped.text.startswith("Understood: from now on")
    assert not await shares_contacts(j, ann)


async def run_retention(j: Journey) -> None:
    await j.run_job(RETENTION)


async def test_retention_erases_users_silent_for_two_years_once(journey: Journey) -> None:
    j = journey
    company = await enterprise(j, 5501, "钱经理", contact_name="韩立平", phone="+8613955556666")
    expert = await approved_specialist(j, 5502, "孙立新")
    await engage(j, company, expert)
    await j.send(company, "/help")
    j.clock.advance(dt.timedelta(days=700))
    await j.send(expert, "/help")  # the specialist is still around
    j.clock.advance(dt.timedelta(days=31))

    await run_retention(j)
    told = j.emulator.last(expert.id)
    assert told.text.startswith(f"“{CASTING.title}”的合作方已退出项目并删除了资料")
    after = await dump(j.db)
    assert not any(v in ("韩立平", "+8613955556666", "钱经理", "5501") for _, _, v in after)
    assert any("孙立新" in v for _, _, v in after)
    stored = await get_user(db=j.db, telegram_id=expert.id)
    assert stored is not None and stored.erased_at is None

    # A second run (a restart, another process) finds nobody left to erase.
    sent = j.bot_messages()
    j.clock.advance(dt.timedelta(days=1))
    await run_retention(j)
    assert without_job_runs(await dump(j.db)) == without_job_runs(after)
    assert j.bot_messages() == sent


def without_job_runs(values: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Each run of a job claims its slot in job_runs; everything else must stay as it was."""
    return [row for row in values if row[0] != "job_runs"]


# A Telegram button can arrive without its message (too old for the bot to see it). WeCom's
# clicks always name their card, and a card the bot has no record of is adopted as one sent
# before it kept messages (its data then meets the flows' own checks, as forged data does).
@pytest.mark.telegram_only
async def test_a_button_on_a_message_the_bot_cannot_see_is_answered_as_stale(
    journey: Journey,
) -> None:
    j = journey
    wang = await enterprise(j, 5601, "王工")
    await j.press_data(wang, 999_999, "start:agree")
    await j.press_data(wang, 999_998, f"dmy:open:{1}")
    assert j.answers(wang) == ["这个按钮已失效。", "这个按钮已失效。"]

"""The daily digest: its figures against a known programme, once per coordinator and day
(also across a restart at the scheduled minute), split below Telegram's limit, with a chart;
/digest and /stats give the same figures on demand."""

from __future__ import annotations

import dataclasses
import datetime as dt
import struct

import pytest
from sqlalchemy import select, update

from bot.config import Settings
from channels.telegram.emulator.models import SentMessage
from channels.telegram.emulator.telegram_html import utf16_len
from handlers.digest import DAILY_DIGEST
from handlers.services import PlacementTarget
from storage.demands import create_demand
from storage.models import (
    AuditEvent,
    DigestSend,
    Engagement,
    EngagementCheckin,
    EngagementStatus,
    Enterprise,
    Proposal,
    ProposalStatus,
    Specialist,
    User,
    Voucher,
    WorkLog,
    WorkLogStatus,
)
from storage.users import set_locale
from tests.e2e.conftest import COORDINATOR_ID, Journey
from tests.e2e.engagement_steps import CASTING, approved_specialist, ask, engage, enterprise
from tests.e2e.enterprise_steps import user_id
from tests.e2e.journey_reading import whole
from tests.e2e.specialist_helpers import local
from tests.people import by_account, touch_user
from tests.storage import factories, programme_scenario

SECOND_COORDINATOR = 900_002
D, H = dt.timedelta(days=1), dt.timedelta(hours=1)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The programme's targets: one already past on the test's date (2 March 2026), two ahead."""
    targets = (
        PlacementTarget(5, dt.date(2026, 2, 10)),
        PlacementTarget(300, dt.date(2026, 6, 30)),
        PlacementTarget(1000, dt.date(2026, 12, 31)),
    )
    return settings.model_copy(update={"placement_targets": targets})


async def coordinators(j: Journey) -> tuple[object, object]:
    """The configured coordinator reading English, and one granted in SQL reading Chinese."""
    first = j.emulator.add_user(COORDINATOR_ID, "Coordinator", language_code="en", started=True)
    second = j.emulator.add_user(
        SECOND_COORDINATOR, "李处长", language_code="zh-hans", started=True
    )
    for user, locale in ((first, "en"), (second, "zh_CN")):
        stored = await touch_user(db=j.db, telegram_id=user.id, now=j.clock.now())
        assert stored.id is not None
        await set_locale(db=j.db, user_id=stored.id, locale=locale)
    async with j.db.transaction() as session:
        await session.execute(
            update(User).where(by_account(SECOND_COORDINATOR)).values(is_coordinator=True)
        )
    return first, second


async def run_digest_job(j: Journey) -> None:
    """Run the daily job now, as the JobQueue would at DIGEST_TIME (the clock says the day)."""
    await j.run_job(DAILY_DIGEST)


def digest_of(j: Journey, chat_id: int, since: int = 0) -> list[SentMessage]:
    return [e.message for e in j.emulator.events(chat_id=chat_id, since=since) if e.message]


async def test_the_digest_tells_a_known_programme_in_each_coordinators_language(
    journey: Journey,
) -> None:
    j = journey
    english, chinese = await coordinators(j)
    p = await programme_scenario.build(j.db, j.clock.now())
    await run_digest_job(j)

    [text, chart] = digest_of(j, english.id)
    assert text.kind == "text" and chart.kind == "photo"
    assert text.text.splitlines() == [
        "📊 Daily digest · 2026-03-02",
        "",
        "Last 24 hours",
        "🆕 New demands 1 · new specialists 2 (1 waiting for approval: /pending)",
        "📨 Proposals sent 3 · accepted 0 · declined 3 · expired 1",
        "      declined because: no time 1 · not my field 1 · too far 1",
        "🤝 Engagements started 0 · completed 1",
        "",
        "Programme to date",
        "🏭 Enterprises 3 · demands 6 (3 open) · approved specialists 3",
        "📨 Proposals sent 9 · accepted 3 · declined 3 · expired 2",
        "      declined because: no time 1 · not my field 1 · too far 1",
        "🤝 Engagements started 2 · completed 1",
        "",
        "🎯 Placements: 2",
        "5 by 2026-02-10: 1 reached (20%)",
        "300 by 2026-06-30: 2 so far (0%), 120 days to go",
        "1000 by 2026-12-31: 2 so far (0%), 304 days to go",
        "By city: Anshan 1 · Shenyang 1",
        "By institution: Dalian University of Technology 2",
        "",
        "🤝 Engagements now: 1 active · 1 completed · 0 ended · 🗓 0 confirmed service days",
        "👍 No monthly check-in answered “not going well” since 2026-03-01 09:00.",
        "",
        "🎫 Innovation vouchers: none recorded yet (/voucher).",
        "",
        "Dispatching units: 2; specialists dispatched 1; confirmed service days 0 "
        "(a service day is 8 confirmed hours).",
        "1. Dalian University of Technology",
        "👤 1 approved · 1 dispatched",
        "🤝 1 active · 1 completed · 🗓 0 service days · ⭐ no ratings yet",
        "All units in full (2): /units",
        "",
        "⏳ Demands waiting over 7 days without a match: 1",
        f"#{p.demands['d2'].id} 轴承异响 · 大连重工机械有限公司 · 10 days",
        "",
        "🤔 Enterprises that have not chosen for over 5 days: 1",
        f"demand #{p.demands['d3'].id} 涂层脱落 · 沈阳新材料科技有限公司 · candidate 陈教授 "
        f"(proposal #{p.proposals['p5'].id}) · 6 days",
        "",
        "🔕 Specialists not responding: 1",
        f"#{p.specialists['s4'].id} 赵教授 · 东北大学 · since 2026-02-21",
        "",
        "🧭 Fields where demand outstrips specialists (recruit here)",
        "Materials Science: open demands 1, specialists available 0",
        "",
        "To act: /match DEMAND SPECIALIST proposes a specialist yourself · /pending · "
        "/stats 30 · /export",
    ]
    assert chart.caption == (
        "Last 8 weeks (Monday to Sunday, labelled by their Monday; the last is this week), "
        "per week: 🟦 new demands · 🟧 proposals sent · 🟩 engagements started"
    )
    png = chart.photo
    assert png is not None and png.startswith(b"\x89PNG\r\n\x1a\n")
    assert struct.unpack(">II", png[16:24]) == (720, 360)

    [zh_text, zh_chart] = digest_of(j, chinese.id)
    assert zh_text.text.startswith(
        "📊 每日简报 · 2026-03-02\n\n过去 24 小时\n🆕 新需求 1 · 新专家 2"
    )
    assert "谢绝原因：没有时间 1 · 不是本专业 1 · 距离太远 1" in zh_text.text
    assert "按城市：鞍山 1 · 沈阳 1" in zh_text.text
    assert "材料科学：进行中需求 1，可用专家 0" in zh_text.text
    assert zh_chart.caption is not None and zh_chart.caption.startswith("近 8 周")
    assert zh_chart.photo == png  # the same chart for both
    photos = [e for e in j.emulator.events() if e.kind == "bot_message" and e.message.photo]
    assert len(photos) == 2


async def test_a_demand_nobody_suits_is_listed_for_recruiting_until_someone_does(
    journey: Journey,
) -> None:
    j = journey
    english, chinese = await coordinators(j)
    company = await enterprise(j, 8101, "王工")
    herbs = dataclasses.replace(
        CASTING,
        title="黄芪提取得率低",
        description="中药提取工艺放大到中试时黄芪提取得率下降，想请制药工程专家帮忙优化参数。",
        fields=(),
        keywords=(),
    )
    demand = await create_demand(
        db=j.db, owner_user_id=await user_id(j, company.id), details=herbs, now=j.clock.now()
    )
    assert demand is not None
    # A laser-welding professor shares only 工艺 and 优化 with it: no proposal.
    welder = await approved_specialist(j, 8201, "王建国")
    [done] = await j.send(english, "/match_now")
    assert done.text.startswith("Round finished: 0 new proposals (")
    assert not [e for e in j.emulator.events(chat_id=welder.id) if e.message]

    [text, _] = await j.send(english, "/digest")
    lines = text.text.splitlines()
    at = lines.index("🔍 Demands no specialist suits yet: 1 (recruit for these)")
    assert (
        lines[at + 1]
        == f"#{demand.id} 黄芪提取得率低 · 鞍山精工钢构有限公司 · needs: 制药工程 · since 2026-03-02"
    )
    [zh_text, _] = await j.send(chinese, "/digest")
    assert (
        f"#{demand.id} 黄芪提取得率低 · 鞍山精工钢构有限公司 · 需要：制药工程 · 自 2026-03-02"
        in zh_text.text
    )

    pharmacist = await approved_specialist(
        j,
        8202,
        "石慧敏",
        expertise="制药工程与中药提取工艺放大，连续化提取浓缩。",
        keywords=["中药提取", "制药工程"],
    )
    [done] = await j.send(english, "/match_now")
    assert done.text.startswith("Round finished: 1 new proposal (")
    [proposal] = [e.message for e in j.emulator.events(chat_id=pharmacist.id) if e.message]
    assert "黄芪提取得率低" in proposal.text
    [text, _] = await j.send(english, "/digest")
    assert "suits yet" not in text.text
    assert "✅ Nothing is stuck." in text.text


async def test_one_digest_a_day_across_runs_and_a_restart_at_the_scheduled_minute(
    journey: Journey,
) -> None:
    j = journey
    english, chinese = await coordinators(j)
    next_t = j.next_fire(DAILY_DIGEST)
    shanghai = local(2026, 3, 3).tzinfo
    assert next_t is not None
    assert next_t.astimezone(shanghai).time() == dt.time(8, 30)

    j.clock.set(local(2026, 3, 3, 8) + dt.timedelta(minutes=30))
    await run_digest_job(j)
    await run_digest_job(j)  # the job firing twice
    await j.restart()  # a restart within the scheduled minute: the new process fires too
    await run_digest_job(j)
    for user in (english, chinese):
        sent = digest_of(j, user.id)
        assert [m.kind for m in sent] == ["text", "photo"], user
    async with j.db.transaction() as session:
        rows = list(await session.scalars(select(DigestSend)))
    assert {(r.day, r.sent_at is not None) for r in rows} == {(dt.date(2026, 3, 3), True)}
    assert len(rows) == 2

    j.clock.advance(D)
    mark = j.emulator.mark()
    await run_digest_job(j)
    assert [m.kind for m in digest_of(j, english.id, mark)] == ["text", "photo"]
    assert digest_of(j, english.id, mark)[0].text.startswith("📊 Daily digest · 2026-03-04")


async def test_a_long_digest_is_split_at_line_boundaries(journey: Journey) -> None:
    j = journey
    english, _ = await coordinators(j)
    now = j.clock.now()
    lines = []
    for n in range(11):  # stale demands: long names and titles, 10 listed and 1 counted
        enterprise = await factories.enterprise(
            db=j.db, now=now - 30 * D, name=f"企业{n:02d}" + "甲" * 96
        )
        demand = await factories.demand(
            j.db, now - 20 * D, enterprise.id, f"需求{n:02d}" + "乙" * 96
        )
        if n < 10:
            lines.append(f"#{demand.id} {demand.title} · {enterprise.name} · 20 days")
    for n in range(8):  # choices waiting for the enterprise
        enterprise = await factories.enterprise(
            db=j.db, now=now - 30 * D, name=f"公司{n}" + "丙" * 97
        )
        demand = await factories.demand(j.db, now - 20 * D, enterprise.id, f"问题{n}" + "丁" * 97)
        specialist = await factories.specialist(j.db, now - 30 * D, f"专家{n}" + "戊" * 60)
        async with j.db.transaction() as session:
            proposal = Proposal(
                demand_id=demand.id,
                specialist_id=specialist.id,
                status=ProposalStatus.ACCEPTED.value,
                proposed_at=now - 9 * D,
                answered_at=now - 8 * D,
            )
            session.add(proposal)
        lines.append(f"demand #{demand.id} {demand.title}")
    await run_digest_job(j)

    sent = digest_of(j, english.id)
    texts = [m.text for m in sent if m.kind == "text"]
    assert sent[-1].kind == "photo"
    if j.platform == "wecom":  # WeCom holds 2,048 bytes a message: the same lines in more
        assert len(texts) == 8 and all(len(t.encode()) <= 2048 for t in texts)
        assert not j.emulator.wecom.truncated  # none was cut short by WeCom
    else:
        assert len(texts) == 2 and all(utf16_len(t) <= 4096 for t in texts)
    assert texts[0].startswith("📊 Daily digest")
    assert not any(t.startswith("\n") for t in texts[1:])
    assert texts[-1].endswith("/stats 30 · /export")
    assert "…and 1 more" in "\n".join(texts)
    for line in lines:  # every line whole, in exactly one message
        assert sum(line in t for t in texts) == 1, line
    assert "\n".join(texts).count("需求") == 10


async def test_digest_command_sends_now_and_claims_nothing(journey: Journey) -> None:
    j = journey
    english, _ = await coordinators(j)
    [text, chart] = await j.send(english, "/digest")
    assert text.text.startswith("📊 Daily digest · 2026-03-02") and chart.kind == "photo"
    assert "✅ Nothing is stuck." in text.text
    assert "No placement targets set" not in text.text
    mark = j.emulator.mark()
    await run_digest_job(j)
    assert [m.kind for m in digest_of(j, english.id, mark)] == ["text", "photo"]
    async with j.db.transaction() as session:
        actions = list(await session.scalars(select(AuditEvent.action)))
    assert actions == ["coordinator.digest"]


async def test_stats_for_a_period_by_command_and_button(journey: Journey) -> None:
    j = journey
    english, _ = await coordinators(j)
    await programme_scenario.build(j.db, j.clock.now())
    [week] = await j.send(english, "/stats")
    assert week.text.startswith("📊 Programme figures · 2026-03-02\n\nLast 7 days\n")
    assert "🆕 New demands 1 · new specialists 2" in week.text
    assert "📨 Proposals sent 6 · accepted 1 · declined 3 · expired 2" in week.text
    assert week.buttons == ["24 hours", "7 days", "30 days"]

    [month] = await j.send(english, "/stats 30")
    assert "Last 30 days\n🆕 New demands 6 · new specialists 2" in month.text
    assert "📨 Proposals sent 9 · accepted 3" in month.text

    [day] = await j.press(english, "24 hours", month.message_id)
    assert "Last 24 hours\n🆕 New demands 1" in day.text
    [refused] = await j.send(english, "/stats forever")
    assert refused.text.startswith("Send /stats for the last 7 days, or /stats DAYS")
    [refused] = await j.send(english, "/stats 0")
    assert refused.text.startswith("Send /stats")
    async with j.db.transaction() as session:
        audited = list(await session.scalars(select(AuditEvent.detail)))
    assert audited == [{"days": 7}, {"days": 30}, {"days": 1}]


async def at_work(j: Journey, p: programme_scenario.Programme) -> dict[str, int]:
    """The scenario's engagements at work, and two more, stated directly (now: 2 March, 09:00
    in Shanghai); returns the engagement ids.

        e1 d1 A 鞍山 陈教授 大连理工大学 active: 8 h + 4 h confirmed, 8 h waiting;
           voucher ¥20,000 at ¥1,000 a day -> ¥1,500 usable; check-in "no" 3 hours ago
        e2 d6 C 沈阳 陈教授 completed, rated 4: 16 h + 4 h confirmed; voucher ¥5,000 at
           ¥3,000 a day -> ¥7,500 earned, ¥5,000 usable; check-in "no" 3 days ago
        e3 d4 A 鞍山 李研究员 东北大学 active: 8 h confirmed; voucher ¥8,000 at ¥1,000 a day
           -> ¥1,000 usable; check-in "good" 2 hours ago
        e4 d5 B 大连 赵教授 东北大学 ended 3 days ago, nothing logged
    """
    now = j.clock.now()
    ids: dict[str, int] = {}
    async with j.db.transaction() as session:
        for key, proposal in (("e1", "p1"), ("e2", "p2")):
            found = await session.scalar(
                select(Engagement.id).where(Engagement.proposal_id == p.proposals[proposal].id)
            )
            assert found is not None
            ids[key] = found
        for key, demand, specialist, status in (
            ("e3", "d4", "s2", EngagementStatus.ACTIVE),
            ("e4", "d5", "s4", EngagementStatus.CANCELLED),
        ):
            chosen = Proposal(
                demand_id=p.demands[demand].id,
                specialist_id=p.specialists[specialist].id,
                status=ProposalStatus.SELECTED.value,
                proposed_at=now - 9 * D,
                answered_at=now - 8 * D,
                decided_at=now - 7 * D,
            )
            session.add(chosen)
            await session.flush()
            assert chosen.id is not None
            engagement = Engagement(
                proposal_id=chosen.id,
                demand_id=p.demands[demand].id,
                specialist_id=p.specialists[specialist].id,
                status=status.value,
                started_at=now - 7 * D,
                ended_at=now - 3 * D if status == EngagementStatus.CANCELLED else None,
            )
            session.add(engagement)
            await session.flush()
            assert engagement.id is not None
            ids[key] = engagement.id
        coordinator = await session.scalar(select(User.id).where(by_account(COORDINATOR_ID)))
        assert coordinator is not None
        logs = {"e1": (8, 4), "e2": (16, 4), "e3": (8,)}
        for key, hours in logs.items():
            for amount in hours:
                session.add(
                    WorkLog(
                        engagement_id=ids[key],
                        work_date=(now - 2 * D).date(),
                        mode="onsite",
                        hours=amount,
                        summary="现场工艺试验",
                        status=WorkLogStatus.CONFIRMED.value,
                        created_at=now - 2 * D,
                        decided_at=now - D,
                    )
                )
        session.add(
            WorkLog(
                engagement_id=ids["e1"],
                work_date=now.date(),
                mode="remote",
                hours=8,
                summary="远程分析检测报告",
                created_at=now - 2 * H,
            )
        )
        for key, amount, rate in (
            ("e1", 20_000, 1_000),
            ("e2", 5_000, 3_000),
            ("e3", 8_000, 1_000),
        ):
            session.add(
                Voucher(
                    engagement_id=ids[key],
                    amount=amount,
                    purpose="检测与工艺验证",
                    daily_rate=rate,
                    recorded_by_user_id=coordinator,
                    recorded_at=now - 5 * D,
                )
            )
        for key, month, answer, ago in (
            ("e1", "2026-03", "no", 3 * H),
            ("e2", "2026-02", "no", 3 * D),
            ("e3", "2026-03", "good", 2 * H),
        ):
            session.add(
                EngagementCheckin(
                    engagement_id=ids[key],
                    month=month,
                    asked_at=now - ago - H,
                    answered_at=now - ago,
                    answer=answer,
                )
            )
        completed = await session.get(Engagement, ids["e2"])
        assert completed is not None
        completed.rating_of_specialist = 4
    return ids


def section(lines: list[str], first: str) -> list[str]:
    """The lines of the report's section that starts with `first`, up to the next empty line."""
    start = next(n for n, line in enumerate(lines) if line.startswith(first))
    end = lines.index("", start) if "" in lines[start:] else len(lines)
    return lines[start:end]


async def test_vouchers_units_and_troubled_engagements_in_the_digest_and_stats(
    journey: Journey,
) -> None:
    j = journey
    english, chinese = await coordinators(j)
    p = await programme_scenario.build(j.db, j.clock.now())
    e = await at_work(j, p)
    await run_digest_job(j)

    *texts, chart = digest_of(j, english.id)
    assert chart.kind == "photo"
    text = whole(j, texts)
    lines = text.splitlines()
    assert section(lines, "🤝 Engagements now") == [
        "🤝 Engagements now: 2 active · 1 completed · 1 ended · 🗓 5 confirmed service days",
        "👎 Monthly check-ins answered “not going well” since 2026-03-01 09:00: 1",
        f"engagement #{e['e1']} 铸件气孔 · 鞍山精密铸造有限公司 · 陈教授 (大连理工大学) · "
        "answered 2026-03-02 · 🟢 active",
    ]
    vouchers = [
        "🎫 Innovation vouchers: 3 · ¥33,000 granted · ¥7,500 usable now "
        "(confirmed service days × daily rate)",
        "Largest by city:",
        "Anshan: ¥28,000 granted · ¥2,500 usable (vouchers: 2)",
        "Shenyang: ¥5,000 granted · ¥5,000 usable (vouchers: 1)",
        "Largest by dispatching unit:",
        "大连理工大学: ¥25,000 granted · ¥6,500 usable (vouchers: 2)",
        "东北大学: ¥8,000 granted · ¥1,000 usable (vouchers: 1)",
        "Largest by enterprise:",
        "鞍山精密铸造有限公司: ¥28,000 granted · ¥2,500 usable (vouchers: 2)",
        "沈阳新材料科技有限公司: ¥5,000 granted · ¥5,000 usable (vouchers: 1)",
        "Largest by engagement:",
        f"#{e['e1']} 铸件气孔: ¥20,000 granted · ¥1,500 usable (vouchers: 1)",
        f"#{e['e3']} 焊缝裂纹: ¥8,000 granted · ¥1,000 usable (vouchers: 1)",
        f"#{e['e2']} 模具寿命: ¥5,000 granted · ¥5,000 usable (vouchers: 1)",
    ]
    assert section(lines, "🎫 Innovation vouchers") == vouchers
    units = [
        "Dispatching units: 2; specialists dispatched 2; confirmed service days 5 "
        "(a service day is 8 confirmed hours).",
        "1. Dalian University of Technology",
        "👤 1 approved · 1 dispatched",
        "🤝 1 active · 1 completed · 🗓 4 service days · ⭐ 4.0 (1 rating)",
        "2. Northeastern University",
        "👤 2 approved · 1 dispatched",
        "🤝 1 active · 0 completed · 🗓 1 service day · ⭐ no ratings yet",
        "All units in full (2): /units",
    ]
    assert section(lines, "Dispatching units") == units
    assert f"engagement #{e['e3']} " not in text  # its enterprise said the work goes well

    *zh_texts, zh_chart = digest_of(j, chinese.id)
    assert zh_chart.kind == "photo"
    zh_lines = whole(j, zh_texts).splitlines()
    assert section(zh_lines, "👎") == [
        "👎 自 2026-03-01 09:00 起月度回访答复“不顺利”：1",
        f"对接 #{e['e1']} 铸件气孔 · 鞍山精密铸造有限公司 · 陈教授（大连理工大学）· "
        "2026-03-02 答复 · 🟢 进行中",
    ]
    assert (
        "🎫 科技创新券：3 张 · 发放 ¥33,000 · 目前可用 ¥7,500（确认服务日 × 每日额度）" in zh_lines
    )
    assert "鞍山：发放 ¥28,000 · 可用 ¥2,500（2 张）" in zh_lines
    assert section(zh_lines, "金额最多的企业") == [
        "金额最多的企业：",
        "鞍山精密铸造有限公司：发放 ¥28,000 · 可用 ¥2,500（2 张）",
        "沈阳新材料科技有限公司：发放 ¥5,000 · 可用 ¥5,000（1 张）",
        "金额最多的对接：",
        f"#{e['e1']} 铸件气孔：发放 ¥20,000 · 可用 ¥1,500（1 张）",
        f"#{e['e3']} 焊缝裂纹：发放 ¥8,000 · 可用 ¥1,000（1 张）",
        f"#{e['e2']} 模具寿命：发放 ¥5,000 · 可用 ¥5,000（1 张）",
    ]
    assert "🤝 进行中 1 · 已完成 1 · 🗓 4 个服务日 · ⭐ 4.0（1 个评分）" in zh_lines

    # /stats for a week also finds the "no" given three days ago; the totals are the same.
    week = await j.send(english, "/stats")
    if j.platform == "wecom":  # longer than a message: its parts, then the period buttons'
        *week, periods = week  # card, titled as the report
        assert periods.text == week[0].text.splitlines()[0] == "📊 Programme figures · 2026-03-02"
        assert periods.buttons == ["24 hours", "7 days", "30 days"]
    week_lines = whole(j, week).splitlines()
    assert section(week_lines, "👎") == [
        "👎 Monthly check-ins answered “not going well” since 2026-02-23 09:00: 2",
        f"engagement #{e['e2']} 模具寿命 · 沈阳新材料科技有限公司 · 陈教授 (大连理工大学) · "
        "answered 2026-02-27 · ✅ completed",
        f"engagement #{e['e1']} 铸件气孔 · 鞍山精密铸造有限公司 · 陈教授 (大连理工大学) · "
        "answered 2026-03-02 · 🟢 active",
    ]
    assert section(week_lines, "🎫 Innovation vouchers") == vouchers
    assert section(week_lines, "Dispatching units") == units


async def test_a_no_to_the_monthly_check_in_reaches_the_next_digest(journey: Journey) -> None:
    j = journey
    english, _ = await coordinators(j)
    company = await enterprise(j, 7301, "王经理")
    other = await enterprise(j, 7302, "刘经理", name="大连海工装备有限公司", city="dalian")
    expert = await approved_specialist(j, 7303, "陈明")
    troubled = await engage(j, company, expert)
    fine = await engage(j, other, expert, dataclasses.replace(CASTING, title="焊缝开裂"))

    j.clock.set(local(2026, 4, 1))
    assert await ask(j) == 2
    await j.press(company, "👎 不顺利")
    await j.press(other, "👍 顺利")
    j.clock.set(local(2026, 4, 2, 8) + dt.timedelta(minutes=30))
    mark = j.emulator.mark()
    await run_digest_job(j)

    [text, _] = digest_of(j, english.id, mark)
    assert section(text.text.splitlines(), "👎") == [
        "👎 Monthly check-ins answered “not going well” since 2026-04-01 08:30: 1",
        f"engagement #{troubled.engagement_id} 铸件气孔问题 · 鞍山精工钢构有限公司 · "
        "陈明 (大连理工大学) · answered 2026-04-01 · 🟢 active",
    ]
    assert f"engagement #{fine.engagement_id} " not in text.text

    # The next day's digest covers its own 24 hours: the answer is not repeated.
    j.clock.advance(D)
    mark = j.emulator.mark()
    await run_digest_job(j)
    [text, _] = digest_of(j, english.id, mark)
    assert "👍 No monthly check-in answered “not going well” since 2026-04-02 08:30." in (
        text.text.splitlines()
    )
    assert f"engagement #{troubled.engagement_id} " not in text.text


async def test_hostile_names_are_shown_as_typed_and_long_lists_are_counted(
    journey: Journey,
) -> None:
    """Eleven troubled engagements across four typed cities and five units, every name
    made of HTML: the report is sent (Telegram would refuse broken HTML), names read as
    typed, and each list names its first few and counts the rest."""
    j = journey
    j.typed_markup = True
    english, _ = await coordinators(j)
    now = j.clock.now()
    engagements = []
    async with j.db.transaction() as session:
        coordinator = await session.scalar(select(User.id).where(by_account(COORDINATOR_ID)))
    assert coordinator is not None
    for n in range(11):
        company = await factories.enterprise(j.db, now - 30 * D, f"<b>Evil & Co {n}</b>")
        demand = await factories.demand(j.db, now - 20 * D, company.id, f"</i>title {n}&")
        expert = await factories.specialist(j.db, now - 30 * D, f"<a href='x'>{n}")
        async with j.db.transaction() as session:
            row = await session.get(Enterprise, company.id)
            unit = await session.get(Specialist, expert.id)
            assert row is not None and unit is not None
            row.city = f"<u>Town {n % 4}"
            unit.institution = f"<Inst & {n % 5}>"
            chosen = Proposal(
                demand_id=demand.id,
                specialist_id=expert.id,
                status=ProposalStatus.SELECTED.value,
                proposed_at=now - 19 * D,
                answered_at=now - 18 * D,
                decided_at=now - 17 * D,
            )
            session.add(chosen)
            await session.flush()
            assert chosen.id is not None
            engagement = Engagement(
                proposal_id=chosen.id,
                demand_id=demand.id,
                specialist_id=expert.id,
                started_at=now - 17 * D,
            )
            session.add(engagement)
            await session.flush()
            assert engagement.id is not None
            engagements.append(engagement.id)
            session.add(
                Voucher(
                    engagement_id=engagement.id,
                    amount=1_000 * (n + 1),
                    purpose="<script>",
                    daily_rate=1_000,
                    recorded_by_user_id=coordinator,
                    recorded_at=now - 10 * D,
                )
            )
            session.add(
                EngagementCheckin(
                    engagement_id=engagement.id,
                    month="2026-03",
                    asked_at=now - 2 * H,
                    answered_at=now - H,
                    answer="no",
                )
            )
    await run_digest_job(j)

    sent = digest_of(j, english.id)
    assert sent[-1].kind == "photo"
    texts = [m.text for m in sent if m.kind == "text"]
    assert texts and all(utf16_len(t) <= 4096 for t in texts)
    lines = "\n".join(texts).splitlines()
    troubled = section(lines, "👎")
    assert troubled[0].endswith(": 11") and troubled[-1] == "…and 1 more"
    assert troubled[1] == (
        f"engagement #{engagements[0]} </i>title 0& · <b>Evil & Co 0</b> · <a href='x'>0 "
        "(<Inst & 0>) · answered 2026-03-02 · 🟢 active"
    )
    assert len(troubled) == 1 + 10 + 1
    assert section(lines, "🎫 Innovation vouchers") == [
        "🎫 Innovation vouchers: 11 · ¥66,000 granted · ¥0 usable now "
        "(confirmed service days × daily rate)",
        "Largest by city:",  # Town 3: 4+8 (thousand); Town 2: 3+7+11; Town 1: 2+6+10; Town 0: 1+5+9
        "<u>Town 2: ¥21,000 granted · ¥0 usable (vouchers: 3)",
        "<u>Town 1: ¥18,000 granted · ¥0 usable (vouchers: 3)",
        "<u>Town 0: ¥15,000 granted · ¥0 usable (vouchers: 3)",
        "…and 1 more",
        "Largest by dispatching unit:",  # <Inst & k>: engagements k, k+5, k+10 (those exist)
        "<Inst & 0>: ¥18,000 granted · ¥0 usable (vouchers: 3)",
        "<Inst & 4>: ¥15,000 granted · ¥0 usable (vouchers: 2)",
        "<Inst & 3>: ¥13,000 granted · ¥0 usable (vouchers: 2)",
        "…and 2 more",
        "Largest by enterprise:",  # one engagement each, ¥1,000 × (n + 1)
        "<b>Evil & Co 10</b>: ¥11,000 granted · ¥0 usable (vouchers: 1)",
        "<b>Evil & Co 9</b>: ¥10,000 granted · ¥0 usable (vouchers: 1)",
        "<b>Evil & Co 8</b>: ¥9,000 granted · ¥0 usable (vouchers: 1)",
        "…and 8 more",
        "Largest by engagement:",
        f"#{engagements[10]} </i>title 10&: ¥11,000 granted · ¥0 usable (vouchers: 1)",
        f"#{engagements[9]} </i>title 9&: ¥10,000 granted · ¥0 usable (vouchers: 1)",
        f"#{engagements[8]} </i>title 8&: ¥9,000 granted · ¥0 usable (vouchers: 1)",
        "…and 8 more",
    ]
    units = section(lines, "Dispatching units")
    assert units[0].startswith("Dispatching units: 5; specialists dispatched 11;")
    assert units[1] == "1. <Inst & 0>" and units[-1] == "All units in full (5): /units"
    assert len(units) == 1 + 3 * 3 + 1  # three units named, three lines each


@pytest.mark.telegram_only
async def test_a_502_at_the_digest_minute_delays_the_digest_not_loses_it(
    journey: Journey,
) -> None:
    """Telegram's front end fails when the digest goes out, and the bot restarts before the
    retry: the coordinator still gets that day's digest, once."""
    j = journey
    english, chinese = await coordinators(j)
    j.clock.set(local(2026, 3, 3, 8) + dt.timedelta(minutes=30))
    j.emulator.inject_error(502, count=2, method="sendMessage", chat_id=english.id)
    await j.bot.run_job(DAILY_DIGEST)  # without waiting for the deliveries
    await j.restart()
    await j.settle()
    assert [m.kind for m in digest_of(j, english.id)] == ["text", "photo"]
    assert [m.kind for m in digest_of(j, chinese.id)] == ["text", "photo"]
    assert j.emulator.stats.errors["sendMessage"] == 2

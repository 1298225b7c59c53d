"""The daily digest: its figures against a known programme, once per coordinator and day
(also across a restart at the scheduled minute), split below Telegram's limit, with a chart;
/digest and /stats give the same figures on demand."""

from __future__ import annotations

import datetime as dt
import struct

import pytest
from sqlalchemy import select, update
from sqlmodel import col

from bot.config import Settings
from bot.emulator.models import SentMessage
from bot.emulator.telegram_html import utf16_len
from handlers.digest import DAILY_DIGEST
from handlers.services import PlacementTarget
from storage.models import AuditEvent, DigestSend, Proposal, ProposalStatus, User
from storage.users import set_locale, touch_user
from tests.e2e.conftest import COORDINATOR_ID, Journey
from tests.e2e.specialist_helpers import local
from tests.storage import factories, programme_scenario

SECOND_COORDINATOR = 900_002
D = dt.timedelta(days=1)


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
        stored = await touch_user(db=j.db, telegram_id=user.id, chat_id=user.id, now=j.clock.now())
        assert stored.id is not None
        await set_locale(db=j.db, user_id=stored.id, locale=locale)
    async with j.db.transaction() as session:
        await session.execute(
            update(User)
            .where(col(User.telegram_id) == SECOND_COORDINATOR)
            .values(is_coordinator=True)
        )
    return first, second


async def run_digest_job(j: Journey) -> None:
    """Run the daily job now, as the JobQueue would at DIGEST_TIME (the clock says the day)."""
    application = j.bot.application
    assert application is not None and application.job_queue is not None
    [job] = application.job_queue.get_jobs_by_name(DAILY_DIGEST)
    await job.run(application)
    await j.emulator.wait_until_idle(timeout=15.0)


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
        "By institution: 大连理工大学 2",
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
        "Materials Science: 1 open demands, 0 specialists available",
        "",
        "To act: /match DEMAND SPECIALIST proposes a specialist yourself · /pending · "
        "/stats 30 · /export",
    ]
    assert chart.caption == (
        "Last 8 weeks, per week: 🟦 new demands · 🟧 proposals sent · 🟩 engagements started"
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
    assert zh_chart.photo == png  # the same chart, sent again by its file id
    assert j.emulator.stats.sent["sendPhoto"] == 2


async def test_one_digest_a_day_across_runs_and_a_restart_at_the_scheduled_minute(
    journey: Journey,
) -> None:
    j = journey
    english, chinese = await coordinators(j)
    application = j.bot.application
    assert application is not None and application.job_queue is not None
    [job] = application.job_queue.get_jobs_by_name(DAILY_DIGEST)
    shanghai = local(2026, 3, 3).tzinfo
    assert job.next_t is not None
    assert job.next_t.astimezone(shanghai).time() == dt.time(8, 30)

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
    assert len(texts) == 2 and sent[-1].kind == "photo"
    assert all(utf16_len(t) <= 4096 for t in texts)
    assert texts[0].startswith("📊 Daily digest") and not texts[1].startswith("\n")
    assert texts[1].endswith("/stats 30 · /export")
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

"""/export: four CSV documents a spreadsheet opens (UTF-8 with BOM, Chinese intact, no
formulas run), holding what was stored; only for coordinators, and audited."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from channels.telegram.emulator.models import SentMessage
from storage.models import AuditEvent, Enterprise
from tests.e2e.conftest import COORDINATOR_ID, Journey
from tests.storage import programme_scenario


def rows_of(message: SentMessage) -> list[dict[str, str]]:
    document = message.document
    assert document is not None
    _name, data = document
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


@pytest.mark.not_yet_on_wecom
async def test_export_sends_four_csv_files_a_spreadsheet_reads(journey: Journey) -> None:
    j = journey
    boss = j.user(COORDINATOR_ID, "协调员", "zh-hans")
    p = await programme_scenario.build(j.db, j.clock.now())
    async with j.db.transaction() as session:
        enterprise = await session.get(Enterprise, p.enterprises["B"].id)
        assert enterprise is not None
        enterprise.name = '=HYPERLINK("http://x","大连")'

    [intro, *documents] = await j.send(boss, "/export")
    assert intro.text.startswith(
        "以下是项目数据的 CSV 文件（UTF-8，可用 Excel 打开）。文件含有个人信息"
    )
    assert [d.document[0] for d in documents if d.document] == [
        "techmatch-demands-20260302.csv",
        "techmatch-specialists-20260302.csv",
        "techmatch-proposals-20260302.csv",
        "techmatch-engagements-20260302.csv",
        "techmatch-vouchers-20260302.csv",
        "techmatch-units-20260302.csv",
    ]
    assert [d.caption for d in documents] == [
        "需求：6 行",
        "专家：4 行",
        "推荐：9 行",
        "对接：2 行",
        "创新券：0 行（可用金额按已确认的服务天数计算）",
        documents[5].caption,
    ]
    units = rows_of(documents[5])
    assert sum(int(r["unit.active"]) for r in units) == 1  # the dispatching units' figures
    assert sum(int(r["unit.completed"]) for r in units) == 1

    demands = rows_of(documents[0])
    assert [row["demand.title"] for row in demands] == [
        "铸件气孔", "轴承异响", "涂层脱落", "焊缝裂纹", "废水处理", "模具寿命"
    ]  # fmt: skip
    first = demands[0]
    assert first["demand.status"] == "matched" and first["demand.fields"] == "46020"
    assert first["enterprise.name"] == "鞍山精密铸造有限公司"
    assert first["enterprise.contact_name"] == "刘经理"
    assert first["enterprise.phone"] == "'+8613800000001"  # text, not a number or a formula
    assert first["demand.created_at"] == "2026-02-10 09:00"  # BOT_TIMEZONE, 20 days before
    assert demands[1]["enterprise.name"] == '\'=HYPERLINK("http://x","大连")'

    specialists = rows_of(documents[1])
    assert [(r["specialist.name"], r["specialist.status"]) for r in specialists] == [
        ("陈教授", "approved"), ("李研究员", "approved"), ("王工", "pending"), ("赵教授", "approved")
    ]  # fmt: skip
    assert specialists[3]["specialist.not_responding_since"] == "2026-02-21 09:00"
    assert specialists[0]["specialist.cities"] == "dalian; anshan"
    assert specialists[0]["specialist.remote_only"] == "no"

    proposals = rows_of(documents[2])
    reasons = {r["proposal.id"]: r["proposal.decline_reason"] for r in proposals}
    assert reasons[str(p.proposals["p7"].id)] == "too_far"
    assert [r["proposal.status"] for r in proposals].count("declined") == 3

    engagements = rows_of(documents[3])
    assert [
        (r["engagement.status"], r["demand.title"], r["enterprise.city"], r["specialist.name"])
        for r in engagements
    ] == [
        ("active", "铸件气孔", "anshan", "陈教授"),
        ("completed", "模具寿命", "shenyang", "陈教授"),
    ]

    async with j.db.transaction() as session:
        [event] = list(await session.scalars(select(AuditEvent)))
    assert event.action == "coordinator.export"
    assert event.detail == {
        "demands": 6, "specialists": 4, "proposals": 9, "engagements": 2, "vouchers": 0,
        "units": len(units),
    }  # fmt: skip


@pytest.mark.not_yet_on_wecom
async def test_an_empty_programme_exports_headers_only(journey: Journey) -> None:
    j = journey
    boss = j.user(COORDINATOR_ID, "Coordinator", "en")
    [_, *documents] = await j.send(boss, "/export")
    assert [d.caption for d in documents] == [
        "Demands: 0 rows", "Specialists: 0 rows", "Proposals: 0 rows", "Engagements: 0 rows",
        "Innovation vouchers: 0 rows (usable amount from confirmed service days)",
        "Dispatching units: 0 rows (specialists dispatched, engagements active and completed, "
        "confirmed service days, average rating)",
    ]  # fmt: skip
    assert all(rows_of(d) == [] for d in documents)
    _, data = documents[2].document or (None, b"")
    assert data.decode("utf-8-sig").startswith("proposal.id,proposal.demand_id,")


async def test_personal_data_only_to_coordinators(journey: Journey) -> None:
    j = journey
    stranger = j.user(4101, "陈工")
    await programme_scenario.build(j.db, j.clock.now())
    [reply] = await j.send(stranger, "/export")
    assert reply.text == "抱歉，这个命令只供项目协调员使用。" and reply.kind == "text"
    assert [m for m in j.emulator.chat(stranger.id) if m.kind == "document"] == []

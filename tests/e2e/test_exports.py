"""/export: an Excel workbook in the coordinator's language (a sheet per table, frozen
headers, real dates) and CSV documents for other tools (UTF-8 with BOM, Chinese intact,
stable id headers and stored codes, no formulas run); only for coordinators, audited, and
without the personal data of people who were erased."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select

from channels.telegram.emulator.models import SentMessage
from storage.models import AuditEvent, Engagement, Enterprise, WorkLog
from storage.privacy import erase_personal_data
from tests.e2e.conftest import COORDINATOR_ID, Journey
from tests.storage import programme_scenario
from tests.storage.programme_scenario import Programme

D = dt.timedelta(days=1)
XLSX_NAME = "techmatch-20260302.xlsx"


def rows_of(message: SentMessage) -> list[dict[str, str]]:
    document = message.document
    assert document is not None
    _name, data = document
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def rows_of_bytes(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def workbook_of(message: SentMessage) -> Workbook:
    document = message.document
    assert document is not None and document[0] == XLSX_NAME
    return load_workbook(io.BytesIO(document[1]))


def records(sheet: Worksheet) -> list[dict[str, Any]]:
    """The sheet's rows as dicts by header, as an officer reads them."""
    [headers, *rows] = list(sheet.iter_rows(values_only=True))
    return [dict(zip(headers, row, strict=True)) for row in rows]


def documents_in(messages: list[SentMessage]) -> dict[str, bytes]:
    """The files among what the bot sent, by name (on WeCom a caption is a text of its own)."""
    return {m.document[0] or "": m.document[1] for m in messages if m.document}


async def worked_and_rated(j: Journey, p: Programme) -> None:
    """Work logged on both engagements; the completed one (模具寿命, 沈阳) rated both ways."""
    now = j.clock.now()
    async with j.db.transaction() as session:
        [active, completed] = list(
            await session.scalars(select(Engagement).order_by(Engagement.id))
        )
        session.add_all(
            [
                WorkLog(
                    engagement_id=active.id, work_date=(now - 3 * D).date(), mode="onsite",
                    hours=6, summary="现场检查浇注系统", status="confirmed",
                    created_at=now - 3 * D, decided_at=now - 2 * D,
                ),
                WorkLog(
                    engagement_id=completed.id, work_date=(now - 8 * D).date(), mode="remote",
                    hours=2.5, summary="远程讨论模具钢选型", status="disputed",
                    created_at=now - 8 * D, decided_at=now - 7 * D, dispute_reason="那天没有讨论",
                ),
            ]
        )  # fmt: skip
        completed.rating_of_specialist, completed.comment_on_specialist = 5, "解决了大问题"
        completed.outcome, completed.results = "solved", ["patent"]
        completed.rating_of_enterprise, completed.comment_on_enterprise = 4, "配合很好"


async def test_export_sends_a_workbook_and_csv_files_other_tools_read(journey: Journey) -> None:
    j = journey
    boss = j.user(COORDINATOR_ID, "协调员", "zh-hans")
    p = await programme_scenario.build(j.db, j.clock.now())
    async with j.db.transaction() as session:
        enterprise = await session.get(Enterprise, p.enterprises["B"].id)
        assert enterprise is not None
        enterprise.name = '=HYPERLINK("http://x","大连")'

    [intro, *documents] = await j.send(boss, "/export")
    assert intro.text.startswith("以下是项目数据：一个 Excel 工作簿（每张表一个工作表")
    assert "文件含有个人信息" in intro.text
    assert [d.document[0] for d in documents if d.document] == [
        "techmatch-20260302.xlsx",
        "techmatch-demands-20260302.csv",
        "techmatch-enterprises-20260302.csv",
        "techmatch-specialists-20260302.csv",
        "techmatch-proposals-20260302.csv",
        "techmatch-engagements-20260302.csv",
        "techmatch-work_logs-20260302.csv",
        "techmatch-ratings-20260302.csv",
        "techmatch-vouchers-20260302.csv",
        "techmatch-units-20260302.csv",
    ]
    [book, *documents] = documents
    assert book.caption.startswith("Excel 工作簿：需求、企业、专家")
    assert [d.caption for d in documents] == [
        "需求：6 行",
        "企业：3 行",
        "专家：4 行",
        "推荐：9 行",
        "对接：2 行",
        "工作记录：0 行",
        "评价：0 行（服务完成后双方互评，每个评价一行）",
        "创新券：0 行（可用金额按已确认的服务天数计算）",
        documents[8].caption,
    ]
    units = rows_of(documents[8])
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

    enterprises = rows_of(documents[1])
    assert [(r["enterprise.name"], r["enterprise.city"]) for r in enterprises] == [
        ("鞍山精密铸造有限公司", "anshan"),
        ('\'=HYPERLINK("http://x","大连")', "dalian"),
        ("沈阳新材料科技有限公司", "shenyang"),
    ]
    assert enterprises[0]["enterprise.industry_code"] == "C33"  # codes, as stored

    specialists = rows_of(documents[2])
    assert [(r["specialist.name"], r["specialist.status"]) for r in specialists] == [
        ("陈教授", "approved"), ("李研究员", "approved"), ("王工", "pending"), ("赵教授", "approved")
    ]  # fmt: skip
    assert specialists[3]["specialist.not_responding_since"] == "2026-02-21 09:00"
    assert specialists[0]["specialist.cities"] == "dalian; anshan"
    assert specialists[0]["specialist.remote_only"] == "no"

    proposals = rows_of(documents[3])
    reasons = {r["proposal.id"]: r["proposal.decline_reason"] for r in proposals}
    assert reasons[str(p.proposals["p7"].id)] == "too_far"
    assert [r["proposal.status"] for r in proposals].count("declined") == 3

    engagements = rows_of(documents[4])
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
        "demands": 6, "enterprises": 3, "specialists": 4, "proposals": 9, "engagements": 2,
        "work_logs": 0, "ratings": 0, "vouchers": 0, "units": len(units),
    }  # fmt: skip


async def test_an_empty_programme_exports_headers_only(journey: Journey) -> None:
    j = journey
    boss = j.user(COORDINATOR_ID, "Coordinator", "en")
    [_, book, *documents] = await j.send(boss, "/export")
    assert [d.caption for d in documents] == [
        "Demands: 0 rows", "Enterprises: 0 rows", "Specialists: 0 rows", "Proposals: 0 rows",
        "Engagements: 0 rows", "Work logs: 0 rows",
        "Ratings: 0 rows (both sides rate each other once the work is completed, a row per "
        "rating)",
        "Innovation vouchers: 0 rows (usable amount from confirmed service days)",
        "Dispatching units: 0 rows (specialists dispatched, engagements active and completed, "
        "confirmed service days, average rating)",
    ]  # fmt: skip
    assert all(rows_of(d) == [] for d in documents)
    _, data = documents[3].document or (None, b"")
    assert data.decode("utf-8-sig").startswith("proposal.id,proposal.demand_id,")
    sheets = workbook_of(book)
    assert sheets.sheetnames == [
        "Demands", "Enterprises", "Specialists", "Proposals", "Engagements", "Work logs",
        "Ratings", "Innovation vouchers", "Dispatching units",
    ]  # fmt: skip
    assert all(sheet.max_row == 1 and sheet.freeze_panes == "A2" for sheet in sheets)


async def test_personal_data_only_to_coordinators(journey: Journey) -> None:
    j = journey
    stranger = j.user(4101, "陈工")
    await programme_scenario.build(j.db, j.clock.now())
    [reply] = await j.send(stranger, "/export")
    assert reply.text == "抱歉，这个命令只供项目协调员使用。" and reply.kind == "text"
    assert [m for m in j.emulator.chat(stranger.id) if m.kind == "document"] == []


async def test_a_chinese_reading_coordinator_gets_a_workbook_in_chinese(journey: Journey) -> None:
    """An officer opens the workbook: a sheet per table, the header row frozen, headers and
    coded values (cities, fields, kinds, urgency, states) in Chinese, times as dates,
    enterprises, work logs and ratings with their rows, formula-like text kept as text."""
    j = journey
    boss = j.user(COORDINATOR_ID, "协调员", "zh-hans")
    p = await programme_scenario.build(j.db, j.clock.now())
    await worked_and_rated(j, p)
    async with j.db.transaction() as session:
        enterprise = await session.get(Enterprise, p.enterprises["B"].id)
        assert enterprise is not None
        enterprise.name = '=HYPERLINK("http://x","大连")'

    files = documents_in(await j.send(boss, "/export"))
    book = load_workbook(io.BytesIO(files[XLSX_NAME]))
    assert book.sheetnames == [
        "需求", "企业", "专家", "推荐", "对接", "工作记录", "评价", "创新券", "派出单位"
    ]  # fmt: skip
    for sheet in book:
        assert sheet.freeze_panes == "A2", sheet.title  # the header row stays on screen
        assert all(cell.font.bold for cell in sheet[1])
        widths = [sheet.column_dimensions[c.column_letter].width for c in sheet[1]]
        assert all(6 <= width <= 60 for width in widths), (sheet.title, widths)

    demands = records(book["需求"])
    assert list(demands[0])[:6] == [
        "需求编号",
        "需求状态",
        "需求标题",
        "问题描述",
        "需求类型",
        "学科领域",
    ]
    last = demands[5]  # 模具寿命, of 沈阳新材料科技有限公司
    assert (last["需求标题"], last["所在城市"], last["学科领域"]) == (
        "模具寿命",
        "沈阳",
        "机械设计",
    )
    assert (last["需求状态"], last["需求类型"], last["紧急程度"]) == (
        "已对接", "技术难题", "一般（三个月内）"
    )  # fmt: skip
    assert demands[0]["需求提交时间"] == dt.datetime(2026, 2, 10, 9, 0)  # a date, BOT_TIMEZONE
    assert book["需求"]["N2"].number_format == "yyyy-mm-dd hh:mm"
    assert demands[0]["企业联系电话"] == "+8613800000001"
    assert demands[4]["需求状态"] == "已关闭"

    enterprises = records(book["企业"])
    assert [(e["企业名称"], e["所在城市"], e["所属行业"], e["企业规模"]) for e in enterprises] == [
        ("鞍山精密铸造有限公司", "鞍山", "金属制品业", "小型"),
        ('=HYPERLINK("http://x","大连")', "大连", "金属制品业", "小型"),
        ("沈阳新材料科技有限公司", "沈阳", "金属制品业", "小型"),
    ]
    shown = book["企业"]["B3"]
    assert shown.data_type == "s"  # text Excel shows, not a formula it runs

    specialists = records(book["专家"])
    assert specialists[0]["可到现场的城市"] == "大连、鞍山"
    assert [s["专家状态"] for s in specialists] == ["已通过", "已通过", "待审核", "已通过"]
    assert (specialists[0]["单位类型"], specialists[0]["仅远程"]) == ("高校", "否")

    proposals = records(book["推荐"])
    assert {r["推荐状态"] for r in proposals} >= {"企业已选择", "专家已谢绝", "已超时"}
    assert {r["谢绝原因"] for r in proposals} >= {"距离太远", "没有时间", "不是我的领域"}

    logs = records(book["工作记录"])
    assert [
        (w["企业名称"], w["专家姓名"], w["工作方式"], w["小时数"], w["确认状态"], w["异议原因"])
        for w in logs
    ] == [
        ("鞍山精密铸造有限公司", "陈教授", "现场", 6, "已确认", None),
        ("沈阳新材料科技有限公司", "陈教授", "远程", 2.5, "有异议", "那天没有讨论"),
    ]
    assert logs[0]["工作日期"] == dt.datetime(2026, 2, 27)  # a real date (Excel keeps it so)
    assert book["工作记录"]["C2"].number_format == "yyyy-mm-dd"

    ratings = records(book["评价"])
    assert [
        (r["对接编号"], r["评价方向"], r["评分（1–5）"], r["评价意见"], r["服务结果"], r["成果"])
        for r in ratings
    ] == [
        (2, "企业评价专家", 5, "解决了大问题", "已解决", "专利"),
        (2, "专家评价企业", 4, "配合很好", None, None),
    ]
    assert ratings[0]["企业名称"] == "沈阳新材料科技有限公司"

    # The CSV files keep their promise: id headers and stored codes, the new tables too.
    logs_csv = rows_of_bytes(files["techmatch-work_logs-20260302.csv"])
    assert [(r["work_log.mode"], r["work_log.status"]) for r in logs_csv] == [
        ("onsite", "confirmed"), ("remote", "disputed")
    ]  # fmt: skip
    ratings_csv = rows_of_bytes(files["techmatch-ratings-20260302.csv"])
    assert [(r["rating.given_by"], r["rating.stars"], r["rating.outcome"]) for r in ratings_csv] == [
        ("enterprise", "5", "solved"), ("specialist", "4", "")
    ]  # fmt: skip
    assert (
        rows_of_bytes(files["techmatch-demands-20260302.csv"])[5]["enterprise.city"] == "shenyang"
    )


async def test_an_english_reading_coordinator_gets_it_in_english(journey: Journey) -> None:
    j = journey
    boss = j.user(COORDINATOR_ID, "Coordinator", "en")
    p = await programme_scenario.build(j.db, j.clock.now())
    await worked_and_rated(j, p)

    files = documents_in(await j.send(boss, "/export"))
    book = load_workbook(io.BytesIO(files[XLSX_NAME]))
    assert book.sheetnames[:7] == [
        "Demands", "Enterprises", "Specialists", "Proposals", "Engagements", "Work logs", "Ratings"
    ]  # fmt: skip
    last = records(book["Demands"])[5]
    assert (last["City"], last["Fields"], last["Kind"], last["Urgency"]) == (
        "Shenyang", "Mechanical Design", "Technology problem", "Normal (within three months)"
    )  # fmt: skip
    assert records(book["Specialists"])[0]["Cities served on site"] == "Dalian; Anshan"
    ratings = records(book["Ratings"])
    assert [(r["Who rated whom"], r["Outcome"], r["Results"]) for r in ratings] == [
        ("enterprise rates specialist", "Solved", "Patent"),
        ("specialist rates enterprise", None, None),
    ]
    assert [w["Confirmation"] for w in records(book["Work logs"])] == ["confirmed", "disputed"]
    assert all(book[name].freeze_panes == "A2" for name in book.sheetnames)


async def test_an_erased_enterprise_leaves_no_personal_data_in_the_export(
    journey: Journey,
) -> None:
    """沈阳新材料 rated, disputed a log, then deleted its data: its rows stay for the figures,
    marked, with nothing it typed or that names it, in the workbook and in the CSV files."""
    j = journey
    boss = j.user(COORDINATOR_ID, "协调员", "zh-hans")
    p = await programme_scenario.build(j.db, j.clock.now())
    await worked_and_rated(j, p)
    gone = p.enterprises["C"]
    await erase_personal_data(db=j.db, user_id=gone.owner_user_id, now=j.clock.now())

    files = documents_in(await j.send(boss, "/export"))
    everything = b"".join(files[name] if name.endswith(".csv") else b"" for name in files).decode(
        "utf-8-sig", errors="replace"
    )
    book = load_workbook(io.BytesIO(files[XLSX_NAME]))
    cells = {str(v) for sheet in book for row in sheet.iter_rows(values_only=True) for v in row}
    for typed in ("沈阳新材料科技有限公司", "模具寿命", "涂层脱落", "解决了大问题", "那天没有讨论"):
        assert typed not in everything and typed not in cells, typed
    assert "配合很好" not in cells  # what the specialist said about them goes with them too
    enterprises = records(book["企业"])
    assert (enterprises[2]["企业名称"], enterprises[2]["所在城市"]) == ("（资料已删除）", "沈阳")
    assert records(book["需求"])[5]["关闭原因"] == "企业已删除资料"
    ratings = records(book["评价"])
    assert [(r["评分（1–5）"], r["企业名称"]) for r in ratings] == [
        (5, "（资料已删除）"), (4, "（资料已删除）")
    ]  # fmt: skip

"""The workbook's texts and cells: every header, sheet name and value label in both
catalogs, labels without their chat emoji, widths that fit Chinese, and text people typed
that Excel would refuse or run kept as harmless text."""

from __future__ import annotations

import datetime as dt
import io
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook

from handlers.export_workbook import SHOWN, WIDEST, Table, label, message_ids, width, workbook
from handlers.exports import (
    DEMAND_COLUMNS,
    ENGAGEMENT_COLUMNS,
    ENTERPRISE_COLUMNS,
    PROPOSAL_COLUMNS,
    RATING_COLUMNS,
    SPECIALIST_COLUMNS,
    UNIT_COLUMNS,
    VOUCHER_COLUMNS,
    WORK_LOG_COLUMNS,
)
from handlers.i18n import SUPPORTED_LOCALES, Catalogs, read_catalogs
from handlers.specialist_views import LocaleReader

ALL = {
    "demands": DEMAND_COLUMNS, "enterprises": ENTERPRISE_COLUMNS,
    "specialists": SPECIALIST_COLUMNS, "proposals": PROPOSAL_COLUMNS,
    "engagements": ENGAGEMENT_COLUMNS, "work_logs": WORK_LOG_COLUMNS, "ratings": RATING_COLUMNS,
    "vouchers": VOUCHER_COLUMNS, "units": UNIT_COLUMNS,
}  # fmt: skip
TABLES = [Table(name, columns, []) for name, columns in ALL.items()]
UTC = dt.UTC


def reader(locale: str) -> LocaleReader:
    return LocaleReader(Catalogs.load("zh_CN"), locale)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_header_and_sheet_name_is_in_the_catalog(locale: str) -> None:
    missing = message_ids(TABLES) - set(read_catalogs()[locale])
    assert not missing, sorted(missing)
    assert set(SHOWN) <= {column for columns in ALL.values() for column in columns}


def test_a_chat_label_loses_its_emoji_in_a_cell() -> None:
    assert label(reader("zh_CN"), "demand.status_open") == "征集中"
    assert label(reader("en"), "engagement.status_cancelled") == "ended"
    assert label(reader("zh_CN"), "demand.kind_services") == "技术服务（检测、认证、咨询等）"


def test_chinese_characters_count_twice_for_a_column_width() -> None:
    assert width("沈阳") == 4 and width("Shenyang") == 8
    assert width(dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)) == len("yyyy-mm-dd hh:mm")
    assert width("一行\n很长的第二行文字") == 2 * len("很长的第二行文字")


def test_typed_text_excel_would_refuse_or_run_stays_harmless_text() -> None:
    typed = SimpleNamespace(
        id=1, name="=cmd|' /C calc'!A0", city="dalian", industry_code="33", size="micro",
        credit_code="#N/A", contact_name="李\x07经理", phone="+86 138",
        created_at=dt.datetime(2026, 3, 1, 16, 30, tzinfo=UTC), updated_at=None,
    )  # fmt: skip
    data = workbook(
        reader("zh_CN"),
        [Table("enterprises", ENTERPRISE_COLUMNS, [{"enterprise": typed}])],
        dt.timezone(dt.timedelta(hours=8)),
    )
    sheet = load_workbook(io.BytesIO(data))["企业"]
    row = {header.value: cell for header, cell in zip(sheet[1], sheet[2], strict=True)}
    assert row["企业名称"].value == "=cmd|' /C calc'!A0" and row["企业名称"].data_type == "s"
    assert row["统一社会信用代码"].data_type == "s"  # not an Excel error value
    assert row["联系人"].value == "李经理"  # a control character Excel refuses, dropped
    assert (row["所在城市"].value, row["企业规模"].value) == ("大连", "微型")
    assert row["企业注册时间"].value == dt.datetime(2026, 3, 2, 0, 30)  # BOT_TIMEZONE, a date
    assert sheet.column_dimensions["B"].width <= WIDEST

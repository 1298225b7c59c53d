"""/export's Excel workbook: the same tables as the CSV files, for a programme officer to
read, in the coordinator's language.

One sheet per table with a frozen, filterable header row and columns as wide as their
content (capped). Headers, sheet names and the values of codes come from the catalogs
(export.sheet.*, export.column.*, and the labels the chat shows: statuses, kinds,
urgency, reasons) or from the taxonomy (cities, disciplines, industries), as they read in
the chat, without the emoji that mark them on screen. What people typed stays as typed.
Times are real Excel dates in BOT_TIMEZONE. Text that looks like a formula is stored as
text, so Excel shows it and never runs it.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from handlers.core.views import plain
from handlers.engagement_views import END_REASONS, LOG_STATUSES, MODES, OUTCOMES, RESULTS
from handlers.proposal_views import DECLINE_REASONS
from handlers.specialist_views import (
    INSTITUTION_TYPES,
    LOCATIONS,
    REASONS,
    STATUSES,
    TITLES,
    Reader,
)
from matching import taxonomy
from storage.demands import CLOSE_REASONS
from storage.models import DemandStatus, EngagementStatus, ProposalStatus, Role
from storage.privacy import ERASED

WIDEST = 60  # characters: a long description does not make its column wider than a screen
NARROWEST = 6
DATE_FORMAT = "yyyy-mm-dd"
TIME_FORMAT = "yyyy-mm-dd hh:mm"
# The emoji or sign in front of a label in the chat ("🟢 征集中"): not for a spreadsheet cell.
_MARK = re.compile(r"^[^\w(（]+")
# East Asian wide characters (Han, kana, Hangul, full-width forms) take two columns.
_WIDE = re.compile(
    r"[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60]"
)


@dataclass(frozen=True)
class Table:
    """One exported table: its name (file, sheet and caption), its columns as
    record.field, and its records (a dict of the rows each joins, by record name)."""

    name: str
    columns: tuple[str, ...]
    records: list[dict[str, Any]]

    def values(self, record: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
        """(column, stored value) of one record, in column order."""
        for column in self.columns:
            name, field = column.split(".")
            yield column, getattr(record[name], field)


Shown = Callable[[Reader, Any], Any]


def label(reader: Reader, msgid: str) -> str:
    """A chat label as a cell shows it: plain text, without its emoji."""
    return _MARK.sub("", plain(reader.t(msgid))).strip()


def coded(labels: Mapping[str, str]) -> Shown:
    """A code shown by its label; anything else (a typed title) as it was typed."""

    def show(reader: Reader, code: Any) -> Any:
        return label(reader, labels[code]) if code in labels else code

    return show


def listed(reader: Reader, items: Sequence[str]) -> str:
    return str(reader.t("export.list_separator")).join(items)


def cities(reader: Reader, codes: Sequence[str]) -> str:
    return listed(reader, [city(reader, code) for code in codes])


def city(reader: Reader, code: str) -> str:
    found = taxonomy.city(code)
    return found.name(reader.locale) if found else code  # "other": the name as typed


def disciplines(reader: Reader, codes: Sequence[str]) -> str:
    found = ((code, taxonomy.discipline(code)) for code in codes)
    return listed(reader, [d.name(reader.locale) if d else code for code, d in found])


def industry(reader: Reader, code: str) -> str:
    found = taxonomy.industry(code)
    return found.name(reader.locale) if found else code


def typed_list(reader: Reader, words: Sequence[str]) -> str:
    return listed(reader, [str(word) for word in words])


def team(reader: Reader, members: Sequence[Mapping[str, str]]) -> str:
    return listed(
        reader,
        [plain(reader.t("export.team_member", name=m["name"], field=m["field"])) for m in members],
    )


def yes_no(reader: Reader, value: Any) -> str:
    return label(reader, "proposal.yes" if value else "proposal.no")


def name(reader: Reader, value: Any) -> str:
    """A person's or enterprise's name; blank only once their data was erased."""
    return value or label(reader, "export.erased")


def rounded(places: int) -> Shown:
    return lambda reader, value: None if value is None else round(value, places)


def results(reader: Reader, codes: Sequence[str]) -> str:
    return listed(reader, [label(reader, RESULTS[c]) if c in RESULTS else c for c in codes])


DEMAND_STATUSES: dict[str, str] = {
    DemandStatus.OPEN: "demand.status_open",
    DemandStatus.MATCHED: "demand.status_matched",
    DemandStatus.PAUSED: "demand.status_paused",
    DemandStatus.CLOSED: "export.demand_status_closed",  # the chat's label says why, in brackets
}
CLOSED_BECAUSE = {reason: f"demand.close_{reason}" for reason in CLOSE_REASONS} | {
    ERASED: "export.closed_erased"
}
PROPOSAL_STATUSES: dict[str, str] = {
    status: f"export.proposal_status_{status.value}" for status in ProposalStatus
}
ENGAGEMENT_STATUSES: dict[str, str] = {
    status: f"engagement.status_{status.value}" for status in EngagementStatus
}
DECLINED_BECAUSE = {reason: f"proposal.reason_{reason}" for reason in DECLINE_REASONS}
SIZES = ("micro", "small", "medium", "large")
GIVEN_BY: dict[str, str] = {
    role: f"export.given_by_{role.value}" for role in (Role.ENTERPRISE, Role.SPECIALIST)
}
# How each coded or listed column reads; the others are shown as stored.
SHOWN: dict[str, Shown] = {
    "demand.status": coded(DEMAND_STATUSES),
    "demand.kind": coded({k: f"demand.kind_{k}" for k in ("technology", "talent", "services")}),
    "demand.fields": disciplines,
    "demand.keywords": typed_list,
    "demand.work_mode": coded({m: f"demand.mode_{m}" for m in ("onsite", "remote", "either")}),
    "demand.urgency": coded({u: f"demand.urgency_{u}" for u in ("urgent", "normal", "flexible")}),
    "demand.voucher_interest": lambda r, v: label(r, f"demand.voucher_{'yes' if v else 'no'}"),
    "demand.close_reason": coded(CLOSED_BECAUSE),
    "enterprise.name": name,
    "enterprise.city": city,
    "enterprise.industry_code": industry,
    "enterprise.size": coded({s: f"enterprise.size_{s}" for s in SIZES}),
    "specialist.status": coded(STATUSES),
    "specialist.name": name,
    "specialist.institution_type": coded(INSTITUTION_TYPES),
    "specialist.location": coded(LOCATIONS),
    "specialist.title": coded(TITLES),
    "specialist.disciplines": disciplines,
    "specialist.keywords": typed_list,
    "specialist.team": team,
    "specialist.cities": cities,
    "specialist.remote_only": yes_no,
    "specialist.status_reason": coded(REASONS),
    "proposal.status": coded(PROPOSAL_STATUSES),
    "proposal.score": rounded(3),
    "proposal.decline_reason": coded(DECLINED_BECAUSE),
    "engagement.status": coded(ENGAGEMENT_STATUSES),
    "engagement.end_reason": coded(END_REASONS),
    "work_log.mode": coded(MODES),
    "work_log.status": coded(LOG_STATUSES),
    "rating.given_by": coded(GIVEN_BY),
    "rating.outcome": coded(OUTCOMES),
    "rating.results": results,
    "line.engagement_status": coded(ENGAGEMENT_STATUSES),
    "line.enterprise_name": name,
    "line.specialist_name": name,
    "line.city": city,
    "line.service_days": rounded(2),
    "unit.service_days": rounded(2),
    "unit.average_rating": rounded(2),
}


def message_ids(tables: Sequence[Table]) -> set[str]:
    """Every header and sheet id the tables need, for the catalog check."""
    return {f"export.sheet.{t.name}" for t in tables} | {
        f"export.column.{column}" for t in tables for column in t.columns
    }


def workbook(reader: Reader, tables: Sequence[Table], timezone: dt.tzinfo) -> bytes:
    """The tables as one .xlsx file in the reader's language."""
    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for table in tables:
        sheet = book.create_sheet(label(reader, f"export.sheet.{table.name}")[:31])
        headers = [label(reader, f"export.column.{column}") for column in table.columns]
        sheet.append(headers)
        for record in table.records:
            sheet.append(
                [cell_value(reader, column, value) for column, value in table.values(record)]
            )
        fit(sheet, timezone)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def cell_value(reader: Reader, column: str, value: Any) -> Any:
    shown = SHOWN.get(column)
    if value is None:
        return None
    value = shown(reader, value) if shown else value
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)  # control characters Excel refuses
    if isinstance(value, list):
        return listed(reader, [str(v) for v in value])
    return value


def fit(sheet: Worksheet, timezone: dt.tzinfo) -> None:
    """Bold frozen header with filters, dates as Excel dates, every text as text, and
    columns as wide as their longest value."""
    widths: dict[int, int] = {}
    for row in sheet.iter_rows():
        for index, cell in enumerate(row, start=1):
            value = cell.value
            if isinstance(value, dt.datetime):
                cell.value = value.astimezone(timezone).replace(tzinfo=None)
                cell.number_format = TIME_FORMAT
            elif isinstance(value, dt.date):
                cell.number_format = DATE_FORMAT
            elif isinstance(value, str):
                cell.data_type = "s"  # never a formula or an error code
            widths[index] = max(widths.get(index, 0), width(cell.value))
    for index, chars in widths.items():
        sheet.column_dimensions[get_column_letter(index)].width = min(
            WIDEST, max(NARROWEST, chars + 2)
        )
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions


def width(value: Any) -> int:
    """How many character widths a value takes: Chinese characters take two."""
    if value is None:
        return 0
    if isinstance(value, dt.datetime):
        return len(TIME_FORMAT)
    if isinstance(value, dt.date):
        return len(DATE_FORMAT)
    text = str(value)
    longest = max(text.splitlines() or [""], key=len)
    return len(longest) + len(_WIDE.findall(longest))

"""/export: the programme's records, as one Excel workbook for people and CSV files for
other tools.

    /export ─> a note on what the files hold ─> the workbook (a sheet per table) ─> CSV:
               demands, enterprises, specialists, proposals, engagements, work logs,
               ratings, vouchers, dispatching units

The workbook is in the coordinator's language: headers, sheet names and the values of
codes (cities, disciplines, kinds, states) read as in the chat (handlers.export_workbook).
The CSV files stay machine-readable, as other tools have read them: UTF-8 with a
byte-order mark (Excel opens Chinese text on a double click), column names are stable ids,
record.field, values are the stored codes; times are in BOT_TIMEZONE; lists are joined
with "; ". Both hold personal data (names, phones), so only coordinators may ask, every
export is audited, and the files go only to the chat of the coordinator who asked. A CSV
cell that starts like a formula (= + - @) gets an apostrophe in front, so a spreadsheet
shows it instead of running it (CSV injection); the workbook stores such text as text.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

from handlers.access import coordinators_only
from handlers.actor import Actor
from handlers.core.chat import Chat
from handlers.core.router import Router
from handlers.core.views import File
from handlers.export_workbook import Table, workbook
from storage.coordinators import record_action
from storage.engagements import unit_figures, voucher_lines
from storage.exports import (
    demands_for_export,
    engagements_for_export,
    enterprises_for_export,
    proposals_for_export,
    ratings_for_export,
    specialists_for_export,
    work_logs_for_export,
)

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CAPTIONS = {
    "demands": "export.caption_demands",
    "enterprises": "export.caption_enterprises",
    "specialists": "export.caption_specialists",
    "proposals": "export.caption_proposals",
    "engagements": "export.caption_engagements",
    "work_logs": "export.caption_work_logs",
    "ratings": "export.caption_ratings",
    "vouchers": "export.caption_vouchers",
    "units": "export.caption_units",
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Column names say where each value comes from: record.field.
DEMAND_COLUMNS = (
    "demand.id", "demand.status", "demand.title", "demand.description", "demand.kind",
    "demand.fields", "demand.keywords", "demand.work_mode", "demand.urgency",
    "demand.desired_start", "demand.expected_outcome", "demand.voucher_interest",
    "demand.close_reason", "demand.created_at", "demand.updated_at", "enterprise.id",
    "enterprise.name", "enterprise.credit_code", "enterprise.city", "enterprise.industry_code",
    "enterprise.size", "enterprise.contact_name", "enterprise.phone",
)  # fmt: skip
ENTERPRISE_COLUMNS = (
    "enterprise.id", "enterprise.name", "enterprise.credit_code", "enterprise.city",
    "enterprise.industry_code", "enterprise.size", "enterprise.contact_name", "enterprise.phone",
    "enterprise.created_at", "enterprise.updated_at",
)  # fmt: skip
SPECIALIST_COLUMNS = (
    "specialist.id", "specialist.status", "specialist.name", "specialist.institution",
    "specialist.institution_type", "specialist.location", "specialist.title",
    "specialist.disciplines", "specialist.expertise", "specialist.keywords", "specialist.team",
    "specialist.cities", "specialist.remote_only", "specialist.days_per_month",
    "specialist.available_from", "specialist.available_to", "specialist.capacity",
    "specialist.phone", "specialist.status_reason", "specialist.paused_until",
    "specialist.not_responding_since", "specialist.created_at", "specialist.updated_at",
)  # fmt: skip
PROPOSAL_COLUMNS = (
    "proposal.id", "proposal.demand_id", "proposal.specialist_id", "proposal.status",
    "proposal.score", "proposal.decline_reason", "proposal.decline_text", "proposal.proposed_at",
    "proposal.notified_at", "proposal.answered_at", "proposal.decided_at",
)  # fmt: skip
ENGAGEMENT_COLUMNS = (
    "engagement.id", "engagement.proposal_id", "engagement.status", "engagement.started_at",
    "engagement.ended_at", "engagement.end_reason", "demand.id", "demand.title",
    "enterprise.id", "enterprise.name", "enterprise.city", "specialist.id", "specialist.name",
    "specialist.institution",
)  # fmt: skip
WORK_LOG_COLUMNS = (
    "work_log.id", "work_log.engagement_id", "work_log.work_date", "work_log.mode",
    "work_log.hours", "work_log.summary", "work_log.status", "work_log.dispute_reason",
    "work_log.created_at", "work_log.decided_at", "demand.id", "demand.title", "enterprise.id",
    "enterprise.name", "specialist.id", "specialist.name", "specialist.institution",
)  # fmt: skip
# Both sides rate each other once an engagement is completed: one row per rating given.
RATING_COLUMNS = (
    "rating.engagement_id", "rating.given_by", "rating.stars", "rating.comment",
    "rating.outcome", "rating.results", "rating.ended_at", "demand.id", "demand.title",
    "enterprise.id", "enterprise.name", "specialist.id", "specialist.name",
    "specialist.institution",
)  # fmt: skip
VOUCHER_COLUMNS = (
    "voucher.id", "voucher.engagement_id", "voucher.amount", "line.usable", "voucher.daily_rate",
    "line.service_days", "voucher.purpose", "voucher.recorded_at", "line.engagement_status",
    "line.demand_title", "line.enterprise_id", "line.enterprise_name", "line.city",
    "line.specialist_name", "line.institution",
)  # fmt: skip
# Dispatching units: what each university or institute delivered, for the programme's rewards.
UNIT_COLUMNS = (
    "unit.institution", "unit.specialists", "unit.dispatched", "unit.active", "unit.completed",
    "unit.service_days", "unit.average_rating", "unit.ratings",
)  # fmt: skip


def cell(value: Any, timezone: dt.tzinfo) -> str:
    """One value as spreadsheet text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return f"{value.astimezone(timezone):%Y-%m-%d %H:%M}"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        text = "; ".join(
            " ".join(str(v) for v in item.values()) if isinstance(item, dict) else str(item)
            for item in value
        )
    else:
        text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def to_csv(table: Table, timezone: dt.tzinfo) -> bytes:
    """A CSV file: one row per record (a dict of the rows it joins, by name), each column
    named record.field."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.columns)
    for record in table.records:
        writer.writerow([cell(value, timezone) for _, value in table.values(record)])
    return out.getvalue().encode("utf-8-sig")


@dataclass(frozen=True)
class Exported:
    """What /export sends: the workbook and, per table, its CSV file and row count."""

    workbook: bytes
    files: list[tuple[str, bytes, int]]  # table name, CSV, rows


async def tables(actor: Actor) -> list[Table]:
    """Every exported table, in the order the files are sent and the sheets stand."""
    db = actor.services.db
    demands = [{"demand": d, "enterprise": e} for d, e in await demands_for_export(db=db)]
    enterprises = [{"enterprise": e} for e in await enterprises_for_export(db=db)]
    specialists = [{"specialist": s} for s in await specialists_for_export(db=db)]
    proposals = [{"proposal": p} for p in await proposals_for_export(db=db)]
    engagements = [
        {"engagement": g, "demand": d, "enterprise": e, "specialist": s}
        for g, d, e, s in await engagements_for_export(db=db)
    ]
    work_logs = [
        {"work_log": w, "demand": d, "enterprise": e, "specialist": s}
        for w, d, e, s in await work_logs_for_export(db=db)
    ]
    ratings = [
        {"rating": r, "demand": d, "enterprise": e, "specialist": s}
        for r, d, e, s in await ratings_for_export(db=db)
    ]
    vouchers = [{"voucher": line.voucher, "line": line} for line in await voucher_lines(db=db)]
    units = [{"unit": unit} for unit in await unit_figures(db=db)]
    return [
        Table("demands", DEMAND_COLUMNS, demands),
        Table("enterprises", ENTERPRISE_COLUMNS, enterprises),
        Table("specialists", SPECIALIST_COLUMNS, specialists),
        Table("proposals", PROPOSAL_COLUMNS, proposals),
        Table("engagements", ENGAGEMENT_COLUMNS, engagements),
        Table("work_logs", WORK_LOG_COLUMNS, work_logs),
        Table("ratings", RATING_COLUMNS, ratings),
        Table("vouchers", VOUCHER_COLUMNS, vouchers),
        Table("units", UNIT_COLUMNS, units),
    ]


async def export(actor: Actor) -> Exported:
    """The workbook in the actor's language, and the CSV files."""
    found = await tables(actor)
    tz = actor.services.timezone
    return Exported(
        workbook=workbook(actor, found, tz),
        files=[(t.name, to_csv(t, tz), len(t.records)) for t in found],
    )


@coordinators_only
async def export_command(chat: Chat) -> None:
    """/export: the workbook and the CSV files, to the coordinator who asked."""
    actor = chat.actor
    svc = actor.services
    exported = await export(actor)
    await record_action(
        db=svc.db,
        actor_user_id=actor.user_id,
        action="coordinator.export",
        now=svc.clock.now(),
        detail={name: rows for name, _, rows in exported.files},
    )
    await chat.reply(actor.t("export.intro"))
    today = svc.today()
    await chat.send_file(
        File(
            name=f"techmatch-{today:%Y%m%d}.xlsx",
            mime=XLSX,
            data=exported.workbook,
            caption=actor.t("export.caption_workbook"),
        )
    )
    for name, data, rows in exported.files:
        await chat.send_file(
            File(
                name=f"techmatch-{name}-{today:%Y%m%d}.csv",
                mime="text/csv",
                data=data,
                caption=actor.t(CAPTIONS[name], count=rows),
            )
        )


def register(router: Router) -> None:
    router.command("export", export_command)

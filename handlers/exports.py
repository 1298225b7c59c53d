"""/export: the programme's records as CSV files, one document per table.

    /export ─> a note on what the files hold ─> demands, specialists, proposals,
               engagements, vouchers, dispatching units

UTF-8 with a byte-order mark, so Excel opens Chinese text correctly on a double click.
Column names are stable ids, record.field (other tools read them); times are in BOT_TIMEZONE;
lists are joined with "; ". The files hold personal data (names, phones), so only
coordinators may ask, every export is audited, and the files go only to the chat of
the coordinator who asked. A cell that starts like a formula (= + - @) gets an
apostrophe in front, so a spreadsheet shows it instead of running it (CSV injection).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from typing import Any

from handlers.access import coordinators_only
from handlers.actor import Actor
from handlers.core.chat import Chat
from handlers.core.router import Router
from handlers.core.views import File
from storage.coordinators import record_action
from storage.engagements import unit_figures, voucher_lines
from storage.exports import (
    demands_for_export,
    engagements_for_export,
    proposals_for_export,
    specialists_for_export,
)

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CAPTIONS = {
    "demands": "export.caption_demands",
    "specialists": "export.caption_specialists",
    "proposals": "export.caption_proposals",
    "engagements": "export.caption_engagements",
    "vouchers": "export.caption_vouchers",
    "units": "export.caption_units",
}

# Column names say where each value comes from: record.field.
DEMAND_COLUMNS = (
    "demand.id", "demand.status", "demand.title", "demand.description", "demand.kind",
    "demand.fields", "demand.keywords", "demand.work_mode", "demand.urgency",
    "demand.desired_start", "demand.expected_outcome", "demand.voucher_interest",
    "demand.close_reason", "demand.created_at", "demand.updated_at", "enterprise.id",
    "enterprise.name", "enterprise.credit_code", "enterprise.city", "enterprise.industry_code",
    "enterprise.size", "enterprise.contact_name", "enterprise.phone",
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


def to_csv(columns: Sequence[str], records: Iterable[dict[str, Any]], timezone: dt.tzinfo) -> bytes:
    """A CSV file: one row per record (a dict of the rows it joins, by name), `columns`
    naming each value as record.field."""
    fields = [column.split(".") for column in columns]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for record in records:
        writer.writerow([cell(getattr(record[name], field), timezone) for name, field in fields])
    return out.getvalue().encode("utf-8-sig")


async def tables(actor: Actor) -> list[tuple[str, bytes, int]]:
    """(name, CSV bytes, rows) of each exported table."""
    db, tz = actor.services.db, actor.services.timezone
    demands = [{"demand": d, "enterprise": e} for d, e in await demands_for_export(db=db)]
    specialists = [{"specialist": s} for s in await specialists_for_export(db=db)]
    proposals = [{"proposal": p} for p in await proposals_for_export(db=db)]
    engagements = [
        {"engagement": g, "demand": d, "enterprise": e, "specialist": s}
        for g, d, e, s in await engagements_for_export(db=db)
    ]
    vouchers = [{"voucher": line.voucher, "line": line} for line in await voucher_lines(db=db)]
    units = [{"unit": unit} for unit in await unit_figures(db=db)]
    return [
        ("demands", to_csv(DEMAND_COLUMNS, demands, tz), len(demands)),
        ("specialists", to_csv(SPECIALIST_COLUMNS, specialists, tz), len(specialists)),
        ("proposals", to_csv(PROPOSAL_COLUMNS, proposals, tz), len(proposals)),
        ("engagements", to_csv(ENGAGEMENT_COLUMNS, engagements, tz), len(engagements)),
        ("vouchers", to_csv(VOUCHER_COLUMNS, vouchers, tz), len(vouchers)),
        ("units", to_csv(UNIT_COLUMNS, units, tz), len(units)),
    ]


@coordinators_only
async def export_command(chat: Chat) -> None:
    """/export: the CSV files, to the coordinator who asked."""
    actor = chat.actor
    svc = actor.services
    exported = await tables(actor)
    await record_action(
        db=svc.db,
        actor_user_id=actor.user_id,
        action="coordinator.export",
        now=svc.clock.now(),
        detail={name: rows for name, _, rows in exported},
    )
    await chat.reply(actor.t("export.intro"))
    today = svc.today()
    for name, data, rows in exported:
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

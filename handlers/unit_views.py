"""How dispatching units read, in /units and in the coordinators' digest: the programme's
totals, then one entry per university, institute or agency (a listed one by its official
name in the reader's language)."""

from __future__ import annotations

from collections.abc import Sequence

from handlers.engagement_views import number
from handlers.i18n import Markup, shorten
from handlers.specialist_views import Reader
from storage.engagements import UnitFigures
from storage.institutions import unit_name

NAME_SHOWN = 40
PARTS_SHOWN = 3  # schools or departments named after a unit; more are '…'


def units_heading(reader: Reader, units: Sequence[UnitFigures]) -> Markup:
    """How many units, specialists dispatched and confirmed service days, all told."""
    return reader.t(
        "units.heading",
        count=len(units),
        dispatched=sum(u.dispatched for u in units),
        days=number(sum(u.service_days for u in units)),
    )


def unit_text(reader: Reader, rank: int, unit: UnitFigures) -> Markup:
    rating = (
        reader.t("units.rating", average=f"{unit.average_rating:.1f}", count=unit.ratings)
        if unit.average_rating is not None
        else reader.t("units.no_rating")
    )
    name = shorten(unit_name(unit.institution, reader.locale), NAME_SHOWN)
    if unit.parts:  # the schools and departments counted in, without the unit's own name
        parts = [p.removeprefix(unit.institution).strip() or p for p in unit.parts]
        shown = reader.t("list.sep").join(shorten(p, NAME_SHOWN) for p in parts[:PARTS_SHOWN])
        if len(parts) > PARTS_SHOWN:
            shown += "…"
        name = reader.t("units.with_parts", unit=name, parts=shown)
    return reader.t(
        "units.line",
        rank=rank,
        institution=name,
        specialists=unit.specialists,
        dispatched=unit.dispatched,
        active=unit.active,
        completed=unit.completed,
        count=number(unit.service_days),
        rating=rating,
    )

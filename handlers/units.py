"""/units: the dispatching units (universities, institutes, agencies) and what their
specialists have done, for coordinators deciding whom to reward.

Per institution, as its specialists spelled it: specialists approved, specialists
dispatched (with an active or completed engagement), engagements active and
completed, confirmed service days (confirmed hours / 8) and the enterprises'
average rating. The busiest units first; the same figures feed /stats and /export
through storage.engagements.unit_figures.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackContext, CommandHandler

from handlers.access import coordinators_only
from handlers.actor import Actor
from handlers.engagement_views import number
from handlers.i18n import Markup, shorten
from storage.engagements import UnitFigures, unit_figures

SHOWN = 15
NAME_SHOWN = 40


def unit_text(actor: Actor, rank: int, unit: UnitFigures) -> Markup:
    rating = (
        actor.t("units.rating", average=f"{unit.average_rating:.1f}", count=unit.ratings)
        if unit.average_rating is not None
        else actor.t("units.no_rating")
    )
    return actor.t(
        "units.line",
        rank=rank,
        institution=shorten(unit.institution, NAME_SHOWN),
        specialists=unit.specialists,
        dispatched=unit.dispatched,
        active=unit.active,
        completed=unit.completed,
        days=number(unit.service_days),
        rating=rating,
    )


@coordinators_only
async def units_command(update: Update, context: CallbackContext, actor: Actor) -> None:
    """/units: the busiest dispatching units first, with the programme's totals."""
    message = update.effective_message
    assert message is not None
    units = await unit_figures(db=actor.services.db)
    if not units:
        await message.reply_text(actor.t("units.none"))
        return
    lines = [
        actor.t(
            "units.heading",
            count=len(units),
            dispatched=sum(u.dispatched for u in units),
            days=number(sum(u.service_days for u in units)),
        )
    ]
    lines += [unit_text(actor, rank, unit) for rank, unit in enumerate(units[:SHOWN], 1)]
    if len(units) > SHOWN:
        lines.append(actor.t("units.more", count=len(units) - SHOWN))
    await message.reply_text(Markup("\n\n".join(lines)))


def register(application: Application, group: int) -> None:
    application.add_handler(CommandHandler("units", units_command), group)

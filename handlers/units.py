"""/units: the dispatching units (universities, institutes, agencies) and what their
specialists have done, for coordinators deciding whom to reward.

Per institution, as its specialists spelled it: specialists approved, specialists
dispatched (with an active or completed engagement), engagements active and
completed, confirmed service days (confirmed hours / 8) and the enterprises'
average rating. The busiest units first. The figures are storage.engagements.unit_figures,
as in /export; the digest and /stats show the top units in the same words
(handlers.unit_views).
"""

from __future__ import annotations

from handlers.access import coordinators_only
from handlers.core.chat import Chat
from handlers.core.router import Router
from handlers.i18n import Markup
from handlers.unit_views import unit_text, units_heading
from storage.engagements import unit_figures

SHOWN = 15


@coordinators_only
async def units_command(chat: Chat) -> None:
    """/units: the busiest dispatching units first, with the programme's totals."""
    actor = chat.actor
    units = await unit_figures(db=actor.services.db)
    if not units:
        await chat.reply(actor.t("units.none"))
        return
    lines = [units_heading(actor, units)]
    lines += [unit_text(actor, rank, unit) for rank, unit in enumerate(units[:SHOWN], 1)]
    if len(units) > SHOWN:
        lines.append(actor.t("units.more", count=len(units) - SHOWN))
    await chat.reply(Markup("\n\n".join(lines)))


def register(router: Router) -> None:
    router.command("units", units_command)

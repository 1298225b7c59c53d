"""How a proposal reads to each side: the demand for the specialist, the candidate for
the enterprise. Each text is rendered in its reader's language, also when the bot
writes first (a round, a reminder), so readers are built from the stored user."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from handlers.i18n import Markup, escape
from handlers.services import Services
from handlers.specialist_views import (
    TITLES,
    LocaleReader,
    Reader,
    disciplines_text,
    label,
    team_text,
)
from matching import taxonomy
from matching.explain import render
from matching.types import Reason
from storage.institutions import unit_name
from storage.models import User
from storage.proposals import ProposalContext

PROBLEM_SHOWN = 400  # characters of the description in the card; Details shows it all
_HAN = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")
DECLINE_REASONS = ("not_my_field", "no_time", "too_far", "other")


def reader_for(svc: Services, user: User) -> LocaleReader:
    """Someone the bot writes to outside their own update: their saved language."""
    return LocaleReader(svc.catalogs, svc.catalogs.locale_for(user.locale, None))


def city_name(reader: Reader, code: str) -> str:
    city = taxonomy.city(code)
    return city.name(reader.locale) if city else code


def reasons_text(reader: Reader, stored: list[dict[str, Any]]) -> str:
    """The engine's reasons (kept as data with the proposal) as one line in the reader's words."""
    parts = []
    for item in stored:
        msgid, params = render(Reason(item["kind"], tuple(item.get("values", ()))), reader.locale)
        parts.append(str(reader.t(msgid, **params)))
    return reader.t("list.groups").join(parts) or str(reader.t("proposal.reasons_none"))


def deadline_text(svc: Services, proposed_at: dt.datetime, hours: float) -> str:
    return (
        (proposed_at + dt.timedelta(hours=hours))
        .astimezone(svc.timezone)
        .strftime("%Y-%m-%d %H:%M")
    )


def written_in(text: str) -> str:
    """The language people's own words are in, as a locale: Chinese when Han characters
    make at least a fifth of the letters (English words sit in Chinese text often)."""
    han, latin = len(_HAN.findall(text)), len(_LATIN.findall(text))
    return "zh_CN" if han and han * 5 >= han + latin else "en"


def proposal_card(reader: Reader, ctx: ProposalContext) -> Markup:
    """The demand as a specialist sees it before agreeing: no enterprise contact details.
    Its own words stay as written, marked when they are not in the reader's language."""
    demand = ctx.demand
    problem = demand.description
    if len(problem) > PROBLEM_SHOWN:
        problem = problem[: PROBLEM_SHOWN - 1] + "…"
    language = written_in(f"{demand.title} {demand.description}")
    if language != reader.locale:
        note = reader.t(f"proposal.written_in_{language}")
        problem = Markup("\n".join([escape(problem), note]))  # both already markup
    return reader.t(
        "proposal.card",
        ref=ctx.proposal.id,
        title=demand.title,
        problem=problem,
        fields=disciplines_text(reader, demand.fields) or "—",
        city=city_name(reader, ctx.enterprise.city),
        kind=reader.t(f"demand.kind_{demand.kind}"),
        mode=reader.t(f"demand.mode_{demand.work_mode}"),
        reasons=reasons_text(reader, ctx.proposal.reasons),
    )


def details_text(reader: Reader, ctx: ProposalContext) -> Markup:
    demand = ctx.demand
    unspecified = reader.t("proposal.unspecified")
    return reader.t(
        "proposal.details_text",
        title=demand.title,
        description=demand.description,
        outcome=demand.expected_outcome or unspecified,
        urgency=reader.t(f"demand.urgency_{demand.urgency}"),
        start=demand.desired_start.isoformat() if demand.desired_start else unspecified,
        voucher=reader.t("proposal.yes") if demand.voucher_interest else reader.t("proposal.no"),
    )


def candidate_card(reader: Reader, ctx: ProposalContext) -> Markup:
    """The specialist as the enterprise sees them before choosing: no phone yet."""
    s = ctx.specialist
    return reader.t(
        "candidate.card",
        demand=ctx.demand.title,
        name=s.name,
        rank=label(reader, TITLES, s.title) if s.title else "—",
        institution=unit_name(s.institution, reader.locale),
        fields=disciplines_text(reader, s.disciplines) or "—",
        team=team_text(reader, s.team) or reader.t("candidate.none_team"),
        reasons=reasons_text(reader, ctx.proposal.reasons),
    )

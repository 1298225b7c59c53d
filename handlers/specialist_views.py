"""How a specialist's details read, in any language: the labels of their codes, the
values of the registration form, and the card coordinators decide on.

Shared by the registration form (the user's own language), the approval cards
(each coordinator's language) and the monthly check, so a profile reads the same
everywhere. Renderers return plain text; the message templates escape it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from handlers.i18n import Catalogs, Markup
from matching import taxonomy
from storage.models import Specialist, SpecialistStatus
from storage.specialists import REJECT_REASONS

INSTITUTION_TYPES = {
    "university": "specialist.type_university",
    "institute": "specialist.type_institute",
    "agency": "specialist.type_agency",
    "enterprise": "specialist.type_enterprise",
    "other": "specialist.type_other",
}
LOCATIONS = {
    "liaoning": "specialist.location_liaoning",
    "other_province": "specialist.location_other_province",
    "abroad": "specialist.location_abroad",
}
TITLES = {
    "professor": "specialist.title_professor",
    "associate_professor": "specialist.title_associate_professor",
    "researcher": "specialist.title_researcher",
    "associate_researcher": "specialist.title_associate_researcher",
    "senior_engineer": "specialist.title_senior_engineer",
    "engineer": "specialist.title_engineer",
}
REACH = {"onsite": "specialist.reach_onsite", "remote": "specialist.reach_remote"}
STATUSES: dict[str, str] = {
    SpecialistStatus.PENDING: "specialist.status_pending",
    SpecialistStatus.APPROVED: "specialist.status_approved",
    SpecialistStatus.REJECTED: "specialist.status_rejected",
    SpecialistStatus.SUSPENDED: "specialist.status_suspended",
    SpecialistStatus.WITHDRAWN: "specialist.status_withdrawn",
}
REASONS = {
    "incomplete": "approvals.reason_incomplete",
    "unverifiable": "approvals.reason_unverifiable",
    "out_of_scope": "approvals.reason_out_of_scope",
    "duplicate": "approvals.reason_duplicate",
}
assert set(REASONS) == set(REJECT_REASONS)
EXPERTISE_SHOWN = 600  # characters of the expertise text on a card


class Reader(Protocol):
    """Whoever a text is for: an Actor, or a coordinator or specialist told by the bot."""

    @property
    def locale(self) -> str: ...

    def t(self, msgid: str, **params: object) -> Markup: ...


@dataclass(frozen=True)
class LocaleReader:
    """A reader known only by language: someone the bot writes to outside their update."""

    catalogs: Catalogs
    locale: str

    def t(self, msgid: str, **params: object) -> Markup:
        return self.catalogs.translate(self.locale, msgid, **params)


def label(reader: Reader, labels: Mapping[str, str], code: str) -> str:
    """The label of a code; text that is not a code (a typed title) reads as itself."""
    return reader.t(labels[code]) if code in labels else code


def disciplines_text(reader: Reader, codes: Sequence[str]) -> str:
    found = (taxonomy.discipline(code) for code in codes)
    return reader.t("list.items").join(d.name(reader.locale) for d in found if d is not None)


def cities_text(reader: Reader, codes: Sequence[str]) -> str:
    found = (taxonomy.city(code) for code in codes)
    return reader.t("list.items").join(c.name(reader.locale) for c in found if c is not None)


def team_text(reader: Reader, members: Sequence[Mapping[str, str]]) -> Markup:
    return Markup(
        reader.t("list.groups").join(
            reader.t("export.team_member", name=m["name"], field=m["field"]) for m in members
        )
    )


def days_text(reader: Reader, days: object) -> str:
    return reader.t("specialist.days_value", count=days)


def capacity_text(reader: Reader, capacity: object) -> str:
    return reader.t("specialist.capacity_value", capacity=capacity)


def period_text(reader: Reader, start: dt.date | None, end: dt.date | None) -> str:
    return reader.t(
        "specialist.period_value",
        start=start.isoformat() if start else reader.t("specialist.period_now"),
        end=end.isoformat() if end else reader.t("specialist.period_open"),
    )


def reach_text(reader: Reader, specialist: Specialist) -> str:
    if specialist.remote_only:
        return reader.t("specialist.reach_remote")
    return cities_text(reader, specialist.cities) or reader.t("form.empty_value")


def status_text(reader: Reader, specialist: Specialist, today: dt.date) -> Markup:
    """The status with what it means now: why rejected, paused until when, silent since when."""
    parts = [reader.t(STATUSES[specialist.status])]
    reason = specialist.status_reason
    if reason:
        parts.append(reader.t("specialist.status_reason", reason=label(reader, REASONS, reason)))
    if specialist.paused_until and specialist.paused_until > today:
        parts.append(reader.t("specialist.paused_until", date=specialist.paused_until.isoformat()))
    if specialist.not_responding_since:
        parts.append(
            reader.t(
                "specialist.not_responding",
                date=specialist.not_responding_since.date().isoformat(),
            )
        )
    return Markup(" · ".join(parts))


def card(reader: Reader, specialist: Specialist, today: dt.date) -> Markup:
    """A specialist's whole profile on one screen, for a coordinator to decide on."""
    s = specialist
    expertise = s.expertise
    if len(expertise) > EXPERTISE_SHOWN:
        expertise = expertise[: EXPERTISE_SHOWN - 1] + "…"
    institution = reader.t(
        "specialist.institution_value",
        institution=s.institution,
        type=label(reader, INSTITUTION_TYPES, s.institution_type),
        location=label(reader, LOCATIONS, s.location),
    )
    rows = [
        ("specialist.label_institution", institution),
        ("specialist.label_title", label(reader, TITLES, s.title) if s.title else ""),
        ("specialist.label_disciplines", disciplines_text(reader, s.disciplines)),
        ("specialist.label_expertise", expertise),
        ("specialist.label_keywords", reader.t("list.items").join(s.keywords)),
        ("specialist.label_team", team_text(reader, s.team)),
        ("specialist.label_cities", reach_text(reader, s)),
        ("specialist.label_days", days_text(reader, s.days_per_month)),
        ("specialist.label_period", period_text(reader, s.available_from, s.available_to)),
        ("specialist.label_capacity", capacity_text(reader, s.capacity)),
        ("specialist.label_phone", s.phone),
    ]
    lines = [reader.t("specialist.card_heading", id=s.id, name=s.name)]
    lines += [
        reader.t(
            "form.summary_line", label=reader.t(msgid), value=value or reader.t("form.empty_value")
        )
        for msgid, value in rows
    ]
    lines.append(reader.t("specialist.card_status", status=status_text(reader, s, today)))
    return Markup("\n".join(lines))

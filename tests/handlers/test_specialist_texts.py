"""Message ids the specialist flows build from codes exist in every locale, and the small
parsers of the registration form read what people type."""

from __future__ import annotations

import datetime as dt

import pytest

from handlers import approvals, availability, checkins
from handlers.dates import first_working_day, months_after
from handlers.i18n import SUPPORTED_LOCALES, read_catalogs
from handlers.specialist import institution_key, parse_team
from handlers.specialist_views import (
    INSTITUTION_TYPES,
    LOCATIONS,
    REACH,
    REASONS,
    STATUSES,
    TITLES,
)
from handlers.validators import Invalid
from storage.models import SpecialistStatus

MAPPED = [INSTITUTION_TYPES, LOCATIONS, TITLES, REACH, STATUSES, REASONS]
MAPPED += [approvals.TOLD, approvals.DONE, checkins.NOTED]


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_ids_built_from_codes_are_translated(locale: str) -> None:
    ids = {msgid for mapping in MAPPED for msgid in mapping.values()}
    ids |= {msgid for _code, msgid in availability.PAUSE_CHOICES}
    missing = ids - set(read_catalogs()[locale])
    assert not missing, f"{locale} lacks {sorted(missing)}"


def test_every_status_has_a_label() -> None:
    assert set(STATUSES) == {status.value for status in SpecialistStatus}


@pytest.mark.parametrize(
    ("year", "month", "expected"),
    [
        (2026, 4, dt.date(2026, 4, 1)),  # a Wednesday
        (2026, 8, dt.date(2026, 8, 3)),  # the 1st is a Saturday
        (2026, 11, dt.date(2026, 11, 2)),  # the 1st is a Sunday
        (2026, 10, dt.date(2026, 10, 1)),  # National Day: holidays are ignored on purpose
    ],
)
def test_first_working_day(year: int, month: int, expected: dt.date) -> None:
    assert first_working_day(year, month) == expected


def test_months_after_keeps_the_day_or_takes_the_month_end() -> None:
    assert months_after(dt.date(2026, 3, 2), 1) == dt.date(2026, 4, 2)
    assert months_after(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert months_after(dt.date(2026, 11, 30), 3) == dt.date(2027, 2, 28)
    assert months_after(dt.date(2026, 3, 2), 12) == dt.date(2027, 3, 2)


def test_team_lines_with_any_common_separator() -> None:
    members = parse_team(
        "李明 - 焊接工艺\n王芳：材料检测\n\nJean-Pierre Dupont - welding\nAnna Berg, corrosion",
        None,  # type: ignore[arg-type]
        {},
    )
    assert members == [
        {"name": "李明", "field": "焊接工艺"},
        {"name": "王芳", "field": "材料检测"},
        {"name": "Jean-Pierre Dupont", "field": "welding"},
        {"name": "Anna Berg", "field": "corrosion"},
    ]


@pytest.mark.parametrize(
    ("text", "msgid"),
    [
        ("李明", "specialist.invalid_team_line"),
        ("李 - 焊接", "specialist.invalid_team_line"),
        ("\n".join(f"成员{i} - 方向" for i in range(11)), "specialist.invalid_team_size"),
    ],
)
def test_team_lines_that_are_refused(text: str, msgid: str) -> None:
    with pytest.raises(Invalid) as refused:
        parse_team(text, None, {})  # type: ignore[arg-type]
    assert refused.value.msgid == msgid


def test_institution_spellings_that_are_one_institution() -> None:
    assert institution_key("Dalian University  of Technology") == institution_key(
        "dalian university of technology."
    )
    assert institution_key("大连理工大学") == institution_key("大连理工大学 ")
    assert institution_key("大连理工大学") != institution_key("大连大学")

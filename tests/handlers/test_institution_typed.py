"""The institution a specialist types at registration: Liaoning's listed universities and
institutes and the spellings already stored are offered, and any other name is kept."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from handlers.form import Option
from handlers.specialist import KEEP_TYPED, parse_institution
from storage.db import Database
from tests.storage import factories


def stub_actor(db: Database) -> SimpleNamespace:
    """What parse_institution reads of an actor: the database and a text."""
    return SimpleNamespace(services=SimpleNamespace(db=db), t=lambda msgid: f"[{msgid}]")


async def typed(db: Database, text: str) -> str | list[Option]:
    return await parse_institution(text, stub_actor(db), {})  # type: ignore[arg-type]


def offered(answer: str | list[Option]) -> list[str | None]:
    assert isinstance(answer, list), answer
    return [option.keeps for option in answer]


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("大连理工大学", "大连理工大学"),  # Chinese, exact
        ("Dalian University of Technology", "Dalian University of Technology"),  # English, exact
        ("dalian university  of technology.", "Dalian University of Technology"),
        ("中国科学院金属研究所", "中国科学院金属研究所"),
    ],
)
async def test_an_official_name_is_taken_at_once_in_the_language_typed(
    db: Database, text: str, stored: str
) -> None:
    assert await typed(db, text) == stored


async def test_a_loose_english_name_on_a_fresh_database_offers_the_institution(
    db: Database,
) -> None:
    answer = await typed(db, "dalian univ of tech")
    assert offered(answer) == ["Dalian University of Technology", "dalian univ of tech"]
    assert isinstance(answer, list) and answer[-1].value == KEEP_TYPED
    assert offered(await typed(db, "大连里工大学")) == ["大连理工大学", "大连里工大学"]
    assert offered(await typed(db, "大工")) == ["大连理工大学", "大工"]


@pytest.mark.parametrize(
    "text",
    [
        "大连理工大学材料科学与工程学院",
        "大连理工大学盘锦校区",
        "School of Materials, Dalian University of Technology",
    ],
)
async def test_a_school_of_a_listed_university_is_kept_as_typed(db: Database, text: str) -> None:
    assert await typed(db, text) == text


async def test_an_unknown_name_is_kept_as_typed(db: Database) -> None:
    assert await typed(db, "沈阳市科技服务中心") == "沈阳市科技服务中心"
    assert await typed(db, "Fraunhofer Institute for Laser Technology") == (
        "Fraunhofer Institute for Laser Technology"
    )


async def test_stored_spellings_come_first_and_a_listed_one_is_not_offered_twice(
    db: Database,
) -> None:
    now = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
    row = await factories.specialist(db, now)
    async with db.transaction() as session:
        row = await session.merge(row)
        row.institution = "Dalian University of Technology"  # an English colleague's
    other = await factories.specialist(db, now, name="李教授")
    async with db.transaction() as session:
        other = await session.merge(other)
        other.institution = "大连市农业科学研究院"
    assert offered(await typed(db, "dalian univ. of technology")) == [
        "Dalian University of Technology",  # stored, and listed: offered once
        "dalian univ. of technology",
    ]
    found = offered(await typed(db, "大连"))  # an unlisted stored spelling, then listed ones
    assert found[0] == "大连市农业科学研究院" and found[1:4] == [
        "大连理工大学",
        "大连海事大学",
        "大连工业大学",
    ]

"""The demo programme: valid codes, real counts, and a second load that adds nothing."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from bot.demo import DemoCounts, enterprise_records, load_demo, people, specialist_records
from matching.taxonomy import all_disciplines, cities, industry_divisions
from storage.clock import ManualClock
from storage.db import Database
from storage.models import Demand, Enterprise, Specialist, User
from storage.users import programme_counts


def test_every_code_in_the_demo_data_is_the_taxonomys() -> None:
    disciplines = {d.code for d in all_disciplines()}
    industries = {i.code for i in industry_divisions()}
    city_codes = {c.code for c in cities()}
    for enterprise in enterprise_records():
        assert enterprise["industry"] in industries, enterprise["name"]
        assert enterprise["city"] in city_codes, enterprise["name"]
        for demand in enterprise["demands"]:
            assert set(demand["fields"]) <= disciplines, demand["title"]
            assert demand["kind"] in {"technology", "talent", "services"}
            assert demand["mode"] in {"onsite", "remote", "either"}
            assert demand["urgency"] in {"urgent", "normal", "flexible"}
    for specialist in specialist_records():
        assert set(specialist["disciplines"]) <= disciplines, specialist["name"]
        assert set(specialist["cities"]) <= city_codes, specialist["name"]
        assert specialist["location"] in {"liaoning", "other_province", "abroad"}


def test_the_demo_is_a_varied_programme_in_both_languages() -> None:
    enterprises, specialists = enterprise_records(), specialist_records()
    assert 25 <= len(enterprises) <= 60
    assert 90 <= len(specialists) <= 150
    assert len({e["city"] for e in enterprises}) == 14  # every city of Liaoning
    assert len({e["industry"] for e in enterprises}) >= 15
    locations = Counter(s["location"] for s in specialists)
    assert locations["liaoning"] >= 80 and locations["abroad"] >= 3
    locales = Counter(p.locale for p in people())
    assert locales["en"] >= 5 and locales["zh_CN"] >= 100
    assert len({p.telegram_id for p in people()}) == len(people())


async def _count(db: Database, table: type) -> int:
    async with db.transaction() as session:
        return (await session.execute(select(func.count()).select_from(table))).scalar_one()


async def test_loading_twice_adds_the_programme_once(db: Database, clock: ManualClock) -> None:
    demands = sum(len(e["demands"]) for e in enterprise_records())
    added = await load_demo(db=db, now=clock.now())
    assert added == DemoCounts(
        users=len(people()),
        enterprises=len(enterprise_records()),
        demands=demands,
        specialists=len(specialist_records()),
    )
    assert await load_demo(db=db, now=clock.now()) == DemoCounts()
    assert await _count(db, User) == len(people())
    assert await _count(db, Enterprise) == len(enterprise_records())
    assert await _count(db, Demand) == demands
    assert await _count(db, Specialist) == len(specialist_records())
    counts = await programme_counts(db=db)
    assert counts["specialists_approved"] == len(specialist_records())
    assert counts["demands_open"] == demands

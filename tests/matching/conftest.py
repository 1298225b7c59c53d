"""Small hand-written glossary, cities and profiles for the engine's unit tests.

Nothing here comes from eval/data: the cases are written to show one behaviour
each, and the real glossary is used only where a test says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from matching.index import SpecialistIndex
from matching.lookups import Lookups
from matching.types import SpecialistProfile


@dataclass(frozen=True)
class Term:
    zh: tuple[str, ...]
    en: tuple[str, ...]


GLOSSARY = (
    Term(("焊接", "电焊", "焊缝开裂"), ("welding", "weld")),
    Term(("无损检测", "探伤"), ("non-destructive testing", "NDT", "ultrasonic inspection")),
    Term(("腐蚀", "生锈", "锈蚀"), ("corrosion", "rust")),
    Term(("水产养殖", "养鱼"), ("aquaculture", "fish farming")),
    Term(("热处理", "淬火"), ("heat treatment", "quenching")),
    Term(("结垢", "水垢"), ("fouling", "scale")),
)

CITIES = {
    "沈阳": "shenyang",
    "shenyang": "shenyang",
    "大连": "dalian",
    "dalian": "dalian",
    "鞍山": "anshan",
    "anshan": "anshan",
    "北京": "beijing",
    "munich": "munich",
}
LIAONING = {"shenyang", "dalian", "anshan"}


def _discipline_names(code: str) -> Sequence[str]:
    return {"0805": ("材料科学与工程", "Materials Science and Engineering")}.get(code, ())


LOOKUPS = Lookups(
    discipline_names=_discipline_names,
    city_code=lambda name: CITIES.get(name.strip().lower(), name.strip().lower() or None),
    in_liaoning=LIAONING.__contains__,
)

SPECIALISTS = (
    SpecialistProfile(
        id="weld",
        expertise="从事焊接工艺研究，擅长焊接结构的可靠性评估。",
        keywords=("焊接", "焊接工艺"),
        institution="大连理工大学",
        city="大连",
        cities_served=("鞍山",),
        disciplines=("0805",),
    ),
    SpecialistProfile(
        id="ndt",
        expertise="超声无损检测与压力容器检验。",
        keywords=("无损检测", "压力容器"),
        institution="沈阳工业大学",
        city="沈阳",
    ),
    SpecialistProfile(
        id="fish",
        expertise="海水鱼类养殖与水质调控。",
        keywords=("水产养殖",),
        institution="大连海洋大学",
        city="大连",
        remote=True,
    ),
    SpecialistProfile(
        id="rust-en",
        expertise="Corrosion engineering and protective coatings for offshore steel.",
        keywords=("corrosion", "coatings"),
        institution="University of Manchester",
        city="Manchester",
        remote=True,
    ),
    SpecialistProfile(
        id="heat-en",
        expertise="Heat treatment of tool steels; quenching and tempering.",
        keywords=("heat treatment", "tool steel"),
        institution="TU Munich",
        city="Munich",
    ),
    SpecialistProfile(
        id="boiler",
        expertise="锅炉水处理，防止换热器结垢。",
        keywords=("水处理", "结垢"),
        institution="北京化工大学",
        city="北京",
    ),
)


@pytest.fixture(scope="session")
def index() -> SpecialistIndex:
    return SpecialistIndex(SPECIALISTS, GLOSSARY, LOOKUPS)

"""Typed field words: an enterprise describing a demand and a specialist describing a profile
get the same fields for the same words."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

import pytest

from handlers import demands, specialist
from handlers.actor import Actor

WORDS = [
    "焊接",
    "热处理",
    "铸造",
    "机器学习",
    "污水处理",
    "腐蚀",
    "机械",
    "数控机床",
    "海参育苗",
    "welding",
    "corrosion",
    "heat treatment",
    "injection molding",
    "焊接、裂纹，返修",
    "我们公司生产的焊缝老是开裂怎么办",
]


@pytest.mark.parametrize("locale", ["zh-hans", "en"])
@pytest.mark.parametrize("text", WORDS)
def test_enterprise_and_specialist_get_the_same_fields(text: str, locale: str) -> None:
    actor = cast(Actor, SimpleNamespace(locale=locale))
    for_demand = demands.search_fields(text, actor)
    for_profile = specialist.search_disciplines(text, actor)
    assert for_demand, text
    assert [o.value for o in for_demand] == [o.value for o in for_profile]
    assert [o.label for o in for_demand] == [o.label for o in for_profile]


def test_welding_is_a_manufacturing_process_on_both_sides() -> None:
    actor = cast(Actor, SimpleNamespace(locale="zh-hans"))
    assert [o.label for o in demands.search_fields("焊接", actor)] == ["机械制造工艺与设备"]
    assert [o.label for o in specialist.search_disciplines("焊接", actor)] == ["机械制造工艺与设备"]


@pytest.mark.parametrize(
    ("word", "field"),
    [
        ("机械", "机械工程"),
        ("化工", "化学工程"),
        ("材料", "材料科学"),
        ("电气", "电气工程"),
        ("医药", "药学"),
        ("食品", "食品科学技术"),
        ("mechanical", "机械工程"),
        ("materials", "材料科学"),
    ],
)
def test_a_trades_broad_word_is_its_broad_field(word: str, field: str) -> None:
    """ "机械" is mechanical engineering, not 机械学 or 矿山机械工程, whose names hold it."""
    actor = cast(Actor, SimpleNamespace(locale="zh-hans"))
    assert [o.label for o in demands.search_fields(word, actor)] == [field]

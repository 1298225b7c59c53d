"""Retrieval in Chinese, in English, across the two, through typos; score meaning."""

from __future__ import annotations

import numpy as np

from matching.index import SpecialistIndex
from matching.types import DemandProfile


def best(index: SpecialistIndex, title: str, description: str = "") -> str:
    return index.rank(DemandProfile(id="d", title=title, description=description), top=1)[
        0
    ].specialist_id


def test_chinese_demand_in_lay_words_finds_the_chinese_specialist(index: SpecialistIndex) -> None:
    assert best(index, "焊的地方老是开裂", "钢结构件焊缝开裂，想找人看看") == "weld"
    assert best(index, "管道探伤", "需要超声检查压力容器") == "ndt"


def test_english_demand_finds_the_english_specialist(index: SpecialistIndex) -> None:
    assert best(index, "Quenching cracks", "Our tool steel parts crack after heat treating") == (
        "heat-en"
    )


def test_chinese_demand_reaches_an_english_profile_through_the_glossary(
    index: SpecialistIndex,
) -> None:
    assert best(index, "腐蚀", "海上平台钢结构腐蚀") == "rust-en"


def test_english_demand_reaches_a_chinese_profile(index: SpecialistIndex) -> None:
    assert best(index, "Ultrasonic inspection", "non-destructive testing of vessels") == "ndt"


def test_homophone_typo_still_finds_the_specialist(index: SpecialistIndex) -> None:
    assert best(index, "汗接开裂") == "weld"
    assert best(index, "无损检侧") == "ndt"


def test_scores_are_in_range_and_ordered(index: SpecialistIndex) -> None:
    ranked = index.rank(DemandProfile(id="d", title="焊接工艺", description="焊接结构"), top=6)
    scores = [candidate.score for candidate in ranked]
    assert all(0 <= score <= 1 for score in scores)
    assert scores[0] == max(scores)
    assert scores[0] > 0.5 > scores[-1]


def test_a_score_does_not_depend_on_the_other_demands_of_the_batch(
    index: SpecialistIndex,
) -> None:
    demand = DemandProfile(id="a", title="水产养殖", description="养鱼的水质不好")
    others = [DemandProfile(id=str(i), title=f"焊接问题{i}") for i in range(5)]
    alone = index.score_all([demand]).edges
    together = index.score_all([*others, demand]).edges
    fish = index.position["fish"]
    first = alone.score[(alone.demand == 0) & (alone.specialist == fish)]
    second = together.score[(together.demand == 5) & (together.specialist == fish)]
    np.testing.assert_allclose(first, second)


def test_scores_compare_across_demands(index: SpecialistIndex) -> None:
    strong = index.rank(DemandProfile(id="a", title="焊接工艺", description="焊接结构可靠性"))
    weak = index.rank(DemandProfile(id="b", title="市场营销", description="想拓展销售渠道"))
    assert strong[0].score > 0.6
    assert weak[0].score < 0.2


def test_allowed_mask_limits_who_is_ranked(index: SpecialistIndex) -> None:
    allowed = np.ones(len(index), dtype=bool)
    allowed[index.position["weld"]] = False
    ranked = index.rank(DemandProfile(id="d", title="焊接"), top=3, allowed=allowed)
    assert "weld" not in [candidate.specialist_id for candidate in ranked]


def test_empty_texts_are_allowed(index: SpecialistIndex) -> None:
    ranked = index.rank(DemandProfile(id="d"), top=2)
    assert all(candidate.score == 0 for candidate in ranked)

"""Schools, departments and labs count for the university or institute they belong to."""

from __future__ import annotations

import pytest

from storage.institutions import dispatching_unit


@pytest.mark.parametrize(
    ("typed", "unit"),
    [
        ("大连理工大学材料科学与工程学院", "大连理工大学"),
        ("大连理工大学", "大连理工大学"),
        ("东北大学 冶金学院", "东北大学"),
        ("大连理工大学材料研究所", "大连理工大学"),
        ("中国科学院金属研究所", "中国科学院金属研究所"),
        ("中国科学院大连化学物理研究所催化基础国家重点实验室", "中国科学院大连化学物理研究所"),
        ("辽宁省农业科学院", "辽宁省农业科学院"),
        ("鞍钢集团钢铁研究院", "鞍钢集团钢铁研究院"),
        ("辽宁科技学院机械工程系", "辽宁科技学院"),
        ("School of Materials, Dalian University of Technology", "Dalian University of Technology"),
        ("Dalian University of Technology", "Dalian University of Technology"),
        ("沈阳市科技服务中心", "沈阳市科技服务中心"),
    ],
)
def test_a_name_counts_for_its_unit(typed: str, unit: str) -> None:
    assert dispatching_unit(typed) == unit

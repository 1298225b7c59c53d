"""Schools, departments and labs count for the university or institute they belong to;
Liaoning's universities and institutes ship with the bot, by their official names."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from setuptools import find_namespace_packages

from handlers.specialist_views import INSTITUTION_TYPES
from matching import taxonomy
from storage.institutions import (
    close_institutions,
    dispatching_unit,
    institution_key,
    institutions,
    listed_institution,
    unit_name,
)

ROOT = Path(__file__).resolve().parents[2]


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
        # A listed institution spelled in English counts for the same unit as in Chinese.
        ("School of Materials, Dalian University of Technology", "大连理工大学"),
        ("Dalian University of Technology", "大连理工大学"),
        ("dalian univ. of tech.", "大连理工大学"),
        ("Institute of Metal Research, Chinese Academy of Sciences", "中国科学院金属研究所"),
        (
            "Catalysis lab, Dalian Institute of Chemical Physics, CAS",
            "中国科学院大连化学物理研究所",
        ),
        ("School of Business, Dalian University", "大连大学"),  # not Dalian Univ. of Technology
        ("沈阳市科技服务中心", "沈阳市科技服务中心"),
        ("Fraunhofer Institute for Laser Technology", "Fraunhofer Institute for Laser Technology"),
    ],
)
def test_a_name_counts_for_its_unit(typed: str, unit: str) -> None:
    assert dispatching_unit(typed) == unit


def test_the_shipped_list_names_real_places_and_types_once_each() -> None:
    listed = institutions()
    assert 40 <= len(listed) <= 70
    cities = {city.code for city in taxonomy.cities()}
    assert {i.city for i in listed} <= cities
    assert {i.type for i in listed} == {"university", "institute"} <= set(INSTITUTION_TYPES)
    keys = [institution_key(name) for i in listed for name in (i.zh, i.en, *i.aliases)]
    assert len(keys) == len(set(keys)), "a name or short form belongs to two institutions"
    for i in listed:  # every official name is its own unit: nothing listed rolls up elsewhere
        assert dispatching_unit(i.zh) == i.zh and dispatching_unit(i.en) == i.zh


def test_the_list_is_package_data() -> None:
    """storage/data is found as a namespace package, and every package ships its JSON."""
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = settings["tool"]["setuptools"]
    found = find_namespace_packages(where=str(ROOT), **setuptools["packages"]["find"])
    assert "storage.data" in found and "*.json" in setuptools["package-data"]["*"]


@pytest.mark.parametrize(
    ("typed", "official"),
    [
        ("大连理工大学", "大连理工大学"),
        ("Dalian University of Technology", "大连理工大学"),
        ("dalian  university of technology.", "大连理工大学"),
        ("中国科学院金属研究所", "中国科学院金属研究所"),
        ("University of Science and Technology Liaoning", "辽宁科技大学"),
    ],
)
def test_an_official_name_in_either_language_is_the_institution(typed: str, official: str) -> None:
    listed = listed_institution(typed)
    assert listed is not None and listed.zh == official


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("dalian univ of tech", "大连理工大学"),  # abbreviated English
        ("Dalian Univercity of Tecnology", "大连理工大学"),  # misspelt English
        ("Shenyang Univ. of Tech.", "沈阳工业大学"),
        ("Northeast University", "东北大学"),
        ("大连里工大学", "大连理工大学"),  # a homophone from pinyin input
        ("沈阳航空大学", "沈阳航空航天大学"),
        ("大工", "大连理工大学"),  # short forms
        ("DUT", "大连理工大学"),
        ("大化所", "中国科学院大连化学物理研究所"),
        ("Institute of Metal Research, CAS", "中国科学院金属研究所"),
    ],
)
def test_a_loosely_typed_name_finds_the_institution(typed: str, meant: str) -> None:
    assert [i.zh for i in close_institutions(typed, limit=4)] == [meant]


def test_a_city_or_the_academy_alone_offers_a_few_of_its_institutions() -> None:
    dalian = close_institutions("大连", limit=4)
    assert len(dalian) == 4 and all(i.city == "dalian" for i in dalian)
    academy = close_institutions("Chinese Academy of Sciences", limit=4)
    assert len(academy) == 4 and all(i.zh.startswith("中国科学院") for i in academy)


@pytest.mark.parametrize("typed", ["山东大学", "沈阳市科技服务中心", "Fraunhofer ILT", "辽宁工大"])
def test_an_unlisted_or_ambiguous_name_finds_nothing(typed: str) -> None:
    assert close_institutions(typed, limit=4) == []
    assert listed_institution(typed) is None


def test_a_unit_reads_in_the_readers_language_when_it_is_listed() -> None:
    assert unit_name("大连理工大学", "en") == "Dalian University of Technology"
    assert unit_name("大连理工大学", "zh_CN") == "大连理工大学"
    assert unit_name("沈阳市科技服务中心", "en") == "沈阳市科技服务中心"

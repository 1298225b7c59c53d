"""The relevance floor: a proposal needs subject evidence, not a city or generic words.

The specialists and demands are those a demo programme showed as filler
(a welding professor for refractory bricks on 优化 and 氧化; a battery
recycler for blast-furnace heat on 回收), with the shipped glossary.
"""

from __future__ import annotations

import datetime as dt

from matching.index import SpecialistIndex
from matching.round import plan_round
from matching.types import DemandProfile, MatchConfig, SpecialistProfile, SpecialistState

TODAY = dt.date(2026, 12, 7)
CONFIG = MatchConfig(top_k=3)

SPECIALISTS = (
    SpecialistProfile(
        id="weld",
        expertise="焊接工艺优化与焊接冶金研究，焊缝金属氧化与夹杂物控制，焊接接头性能分析。",
        keywords=("焊接工艺", "焊接冶金"),
        institution="大连理工大学",
        cities_served=("营口", "鞍山"),
        remote=True,
    ),
    SpecialistProfile(
        id="refractory",
        expertise="耐火材料研究，镁碳砖和镁质耐火材料的抗热震性与抗氧化性。",
        keywords=("耐火材料", "镁碳砖"),
        institution="辽宁科技大学",
        cities_served=("鞍山", "营口"),
        remote=True,
    ),
    SpecialistProfile(
        id="battery",
        expertise="湿法冶金与废旧锂电池中镍钴锰的回收技术研究。",
        keywords=("湿法冶金", "电池回收"),
        institution="东北大学",
        cities_served=("鞍山",),
        remote=True,
    ),
    SpecialistProfile(
        id="heat",
        expertise="冶金热能工程，高炉煤气与冲渣水余热回收，工业窑炉节能诊断。",
        keywords=("余热回收", "高炉"),
        institution="东北大学",
        cities_served=("鞍山",),
        remote=True,
    ),
    SpecialistProfile(
        id="moulding",
        expertise="高分子材料成型加工，注塑工艺优化与模具流动模拟。",
        keywords=("注塑", "模具"),
        institution="沈阳化工大学",
        cities_served=("沈阳",),
        remote=True,
    ),
)
STATES = {s.id: SpecialistState(capacity=3) for s in SPECIALISTS}


def proposed(*demands: DemandProfile) -> tuple[dict[str, set[str]], tuple[str, ...]]:
    """Who each demand is proposed, and the demands nobody suits."""
    index = SpecialistIndex.build(SPECIALISTS, background=demands)
    chosen: dict[str, set[str]] = {d.id: set() for d in demands}
    plan = plan_round(index, demands, STATES, today=TODAY, config=CONFIG)
    for proposal in plan.proposals:
        chosen[proposal.demand_id].add(proposal.specialist_id)
    return chosen, plan.unsuited


def test_shared_generic_words_and_a_city_make_no_proposal() -> None:
    bricks = DemandProfile(
        id="bricks",
        title="镁碳砖抗热震性能差",
        description="镁碳砖用在转炉上热震后开裂剥落，想优化配方和抗氧化剂。",
        city="营口",
    )
    heat = DemandProfile(
        id="heat",
        title="高炉煤气余热回收利用",
        description="高炉煤气放散和冲渣水余热浪费大，想评估余热发电的可行性。",
        city="鞍山",
    )
    herbs = DemandProfile(
        id="herbs",
        title="中药提取工艺放大",
        description="黄芪提取工艺放大到中试时得率下降，想优化提取和浓缩参数。",
        city="沈阳",
    )
    chosen, unsuited = proposed(bricks, heat, herbs)
    assert chosen["bricks"] == {"refractory"}
    assert chosen["heat"] == {"heat"}
    # Nobody here extracts herbs: the moulding expert's 工艺 and 优化 are not enough.
    assert chosen["herbs"] == set()
    assert unsuited == ("herbs",)


def test_a_proposal_names_its_subject_evidence_not_generic_words() -> None:
    bricks = DemandProfile(
        id="bricks", title="镁碳砖抗氧化工艺优化", description="转炉用镁碳砖寿命短。"
    )
    index = SpecialistIndex.build(SPECIALISTS)
    [best] = index.rank(bricks, top=1)
    assert best.specialist_id == "refractory"
    terms = next(reason.values for reason in best.reasons if reason.kind == "terms")
    assert "镁碳砖" in terms
    assert not {"工艺", "优化"} & set(terms)


def test_a_demand_of_generic_words_only_gets_nobody_whatever_its_score() -> None:
    generic = DemandProfile(id="g", title="工艺优化", description="技术研究，分析系统，提高质量")
    index = SpecialistIndex.build(SPECIALISTS)
    anyone = MatchConfig(top_k=3, min_score=0.0, min_evidence=0.0)
    assert plan_round(index, [generic], STATES, today=TODAY, config=anyone).proposals
    floor = MatchConfig(top_k=3, min_score=0.0)
    plan = plan_round(index, [generic], STATES, today=TODAY, config=floor)
    assert (plan.proposals, plan.unsuited) == ([], ("g",))


def test_a_demand_with_a_proposal_open_is_not_unsuited() -> None:
    herbs = DemandProfile(id="herbs", title="中药提取工艺放大", description="黄芪提取得率下降。")
    index = SpecialistIndex.build(SPECIALISTS)
    plan = plan_round(
        index, [herbs], STATES, today=TODAY, open_pairs=[("herbs", "moulding")], config=CONFIG
    )
    assert (plan.proposals, plan.unsuited) == ([], ())

"""What the programme learnt changes later rounds: no near copy of a "not my field",
lower after a pass, first after an engagement that went well."""

from __future__ import annotations

import datetime as dt

from matching.index import SpecialistIndex
from matching.round import plan_round
from matching.signals import Signal
from matching.types import DemandProfile, MatchConfig, SpecialistProfile, SpecialistState

TODAY = dt.date(2026, 12, 7)
TWO_WELDERS = (
    SpecialistProfile(id="a", expertise="焊接工艺与焊接缺陷分析，焊缝裂纹与气孔控制。"),
    SpecialistProfile(id="b", expertise="焊接工艺与焊缝质量控制，焊接裂纹与气孔分析。"),
    SpecialistProfile(id="c", expertise="铸造工艺与铸件缩孔缩松控制。"),
)
STATES = {s.id: SpecialistState(capacity=5) for s in TWO_WELDERS}
CRACKS = DemandProfile(id="old", title="焊缝开裂", description="不锈钢管道焊缝焊后开裂，想找专家。")
AGAIN = DemandProfile(id="new", title="焊缝老开裂", description="不锈钢管道的焊缝焊完就开裂。")
PORES = DemandProfile(
    id="pores", title="铸件缩孔", description="铸件厚大处有缩孔缩松，焊补也不行。"
)


def proposed(demand: DemandProfile, *signals: Signal, top_k: int = 3) -> list[str]:
    index = SpecialistIndex.build(TWO_WELDERS)
    plan = plan_round(
        index, [demand], STATES, today=TODAY, config=MatchConfig(top_k=top_k), signals=signals
    )
    return [p.specialist_id for p in plan.proposals]


def test_a_near_copy_of_a_demand_declined_as_not_my_field_is_never_proposed_to_them() -> None:
    assert set(proposed(AGAIN)) == {"a", "b"}
    declined = Signal(CRACKS, "a", "not_my_field")
    assert proposed(AGAIN, declined) == ["b"]
    # A demand unlike the declined one is still proposed to them where they fit.
    assert "c" in proposed(PORES, Signal(CRACKS, "c", "not_my_field"))


def test_an_engagement_that_went_well_puts_them_first_for_a_like_demand() -> None:
    [first] = proposed(AGAIN, top_k=1)
    other = "b" if first == "a" else "a"
    assert proposed(AGAIN, Signal(CRACKS, other, "worked"), top_k=1) == [other]


def test_a_pass_lowers_them_for_a_like_demand() -> None:
    [first] = proposed(AGAIN, top_k=1)
    other = "b" if first == "a" else "a"
    assert proposed(AGAIN, Signal(CRACKS, first, "passed"), top_k=1) == [other]

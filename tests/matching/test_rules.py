"""Each eligibility rule on its own."""

from __future__ import annotations

import datetime as dt

import numpy as np

from matching.index import SpecialistIndex
from matching.rules import Eligibility, new_slots
from matching.types import DemandProfile, MatchConfig, SpecialistState

TODAY = dt.date(2025, 3, 1)


def allowed_ids(
    index: SpecialistIndex,
    demand: DemandProfile,
    states: dict[str, SpecialistState] | None = None,
    excluded: tuple[tuple[str, str], ...] = (),
) -> set[str]:
    everyone = {sid: SpecialistState() for sid in index.ids}
    rules = Eligibility(index, {**everyone, **(states or {})}, TODAY, excluded=excluded)
    mask = rules.allowed(demand)
    return {index.ids[i] for i in np.flatnonzero(mask)}


ANYWHERE = DemandProfile(id="d", title="焊接", city="鞍山", mode="either")


def test_unapproved_paused_and_out_of_period_specialists_are_never_proposed(
    index: SpecialistIndex,
) -> None:
    states = {
        "weld": SpecialistState(approved=False),
        "ndt": SpecialistState(paused_until=TODAY),
        "fish": SpecialistState(period_to=TODAY - dt.timedelta(days=1)),
        "boiler": SpecialistState(period_from=TODAY + dt.timedelta(days=1)),
    }
    assert allowed_ids(index, ANYWHERE, states) == {"rust-en", "heat-en"}


def test_a_pause_that_ended_yesterday_is_over(index: SpecialistIndex) -> None:
    states = {"weld": SpecialistState(paused_until=TODAY - dt.timedelta(days=1))}
    assert "weld" in allowed_ids(index, ANYWHERE, states)


def test_a_specialist_at_capacity_gets_nothing_new(index: SpecialistIndex) -> None:
    states = {"weld": SpecialistState(capacity=2, open_count=2)}
    assert "weld" not in allowed_ids(index, ANYWHERE, states)


def test_on_site_demand_needs_a_specialist_serving_its_city(index: SpecialistIndex) -> None:
    onsite = DemandProfile(id="d", city="鞍山", mode="onsite")
    assert allowed_ids(index, onsite) == {"weld"}  # serves 鞍山
    home = DemandProfile(id="d", city="沈阳", mode="onsite")
    assert allowed_ids(index, home) == {"ndt"}  # own city counts as served


def test_remote_demand_takes_remote_workers_and_local_ones(index: SpecialistIndex) -> None:
    remote = DemandProfile(id="d", city="沈阳", mode="remote")
    assert allowed_ids(index, remote) == {"fish", "rust-en", "ndt"}


def test_declined_pair_is_never_proposed_again(index: SpecialistIndex) -> None:
    assert "weld" not in allowed_ids(index, ANYWHERE, excluded=(("d", "weld"),))
    other = DemandProfile(id="other", title="焊接", mode="either")
    assert "weld" in allowed_ids(index, other, excluded=(("d", "weld"),))


def test_new_slots_are_capped_per_round_and_by_capacity() -> None:
    config = MatchConfig(max_new_per_specialist=2)
    assert new_slots(SpecialistState(capacity=5, open_count=0), config) == 2
    assert new_slots(SpecialistState(capacity=5, open_count=4), config) == 1
    assert new_slots(SpecialistState(capacity=3, open_count=3), config) == 0


def test_liaoning_institutions_are_preferred_when_configured(index: SpecialistIndex) -> None:
    demand = DemandProfile(id="d", title="corrosion", description="rust 生锈 腐蚀")
    neutral = index.rank(demand, top=6, config=MatchConfig(liaoning_bonus=0, same_city_bonus=0))
    strong = index.rank(demand, top=6, config=MatchConfig(liaoning_bonus=1, same_city_bonus=0))
    local = {"weld", "ndt", "fish"}
    assert neutral[0].specialist_id == "rust-en"
    assert strong[0].specialist_id in local
    assert {c.specialist_id: c.score for c in neutral} == {c.specialist_id: c.score for c in strong}

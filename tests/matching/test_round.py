"""A round: the assignment maximises the total under the limits, unlike greedy."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from matching.index import Edges, SpecialistIndex
from matching.round import plan_round, solve
from matching.types import DemandProfile, MatchConfig, SpecialistState

TODAY = dt.date(2025, 3, 1)


def greedy(edges: Edges, demand_slots: list[int], specialist_slots: list[int]) -> list[int]:
    """Best pair first while both sides have room: the approach a round must beat."""
    left, right = list(demand_slots), list(specialist_slots)
    taken = []
    for i in np.argsort(-edges.score, kind="stable"):
        d, s = edges.demand[i], edges.specialist[i]
        if left[d] and right[s]:
            left[d] -= 1
            right[s] -= 1
            taken.append(int(i))
    return taken


def test_assignment_beats_greedy_where_greedy_takes_the_contested_specialist() -> None:
    # Demand 0 likes A (0.9) nearly as much as B (0.8); demand 1 can only use A (0.85).
    # Greedy gives A to demand 0 and leaves demand 1 with B at 0.1.
    edges = Edges(
        demand=np.array([0, 0, 1, 1]),
        specialist=np.array([0, 1, 0, 1]),
        score=np.array([0.9, 0.8, 0.85, 0.1], dtype=np.float32),
        evidence=np.ones(4, dtype=np.float32),
    )
    greedy_total = sum(edges.score[greedy(edges, [1, 1], [1, 1])])
    chosen = solve(edges, edges.score.astype(float), np.array([1, 1]), np.array([1, 1]))
    assert np.flatnonzero(chosen).tolist() == [1, 2]
    assert sum(edges.score[chosen]) > greedy_total + 0.5


def test_solution_respects_both_sides_limits() -> None:
    rng = np.random.default_rng(7)
    demand = np.repeat(np.arange(30), 8)
    specialist = np.concatenate([rng.permutation(10)[:8] for _ in range(30)])
    edges = Edges(
        demand,
        specialist,
        rng.random(demand.size).astype(np.float32),
        np.ones(demand.size, dtype=np.float32),
    )
    demand_slots = rng.integers(0, 4, 30)
    specialist_slots = rng.integers(0, 3, 10)
    chosen = solve(edges, edges.score.astype(float), demand_slots, specialist_slots)
    assert np.all(np.bincount(demand[chosen], minlength=30) <= demand_slots)
    assert np.all(np.bincount(specialist[chosen], minlength=10) <= specialist_slots)
    taken = greedy(edges, demand_slots.tolist(), specialist_slots.tolist())
    assert edges.score[chosen].astype(float).sum() >= edges.score[taken].astype(float).sum() - 1e-6


def test_a_specialists_lesser_edge_wins_when_their_best_demands_are_served_elsewhere() -> None:
    # Specialist 0 (one slot) likes demands 0-2 best, but each has a specialist of its own
    # scoring 1.0; the best total gives specialist 0 demand 3, its fourth choice, which the
    # first restricted programme (three edges per slot) leaves out.
    edges = Edges(
        demand=np.array([0, 1, 2, 3, 0, 1, 2]),
        specialist=np.array([0, 0, 0, 0, 1, 2, 3]),
        score=np.array([0.9, 0.8, 0.7, 0.6, 1.0, 1.0, 1.0], dtype=np.float32),
        evidence=np.ones(7, dtype=np.float32),
    )
    chosen = solve(edges, edges.score.astype(float), np.ones(4, np.int64), np.ones(4, np.int64))
    assert np.flatnonzero(chosen).tolist() == [3, 4, 5, 6]


def test_solution_is_the_whole_problems_optimum() -> None:
    rng = np.random.default_rng(11)
    for _ in range(20):
        demand = np.repeat(np.arange(40), 10)
        specialist = np.concatenate([rng.permutation(12)[:10] for _ in range(40)])
        edges = Edges(
            demand,
            specialist,
            rng.random(demand.size).astype(np.float32),
            np.ones(demand.size, dtype=np.float32),
        )
        value = edges.score.astype(float)
        demand_slots, specialist_slots = rng.integers(0, 4, 40), rng.integers(0, 4, 12)
        rows = np.zeros((52, demand.size))
        rows[demand, np.arange(demand.size)] = 1
        rows[40 + specialist, np.arange(demand.size)] = 1
        best = milp(
            c=-value,
            constraints=LinearConstraint(rows, -np.inf, np.r_[demand_slots, specialist_slots]),
            integrality=np.ones(demand.size),
            bounds=Bounds(0, 1),
        )
        chosen = solve(edges, value, demand_slots, specialist_slots)
        assert value[chosen].sum() == pytest.approx(-best.fun)


def states(index: SpecialistIndex, **overrides: SpecialistState) -> dict[str, SpecialistState]:
    return {sid: overrides.get(sid, SpecialistState(capacity=3)) for sid in index.ids}


def test_round_proposes_up_to_k_minus_open_candidates(index: SpecialistIndex) -> None:
    demand = DemandProfile(id="d", title="焊接 无损检测 腐蚀", description="焊缝探伤，生锈")
    config = MatchConfig(top_k=3, min_score=0.0)
    fresh = plan_round(index, [demand], states(index), today=TODAY, config=config).proposals
    assert len(fresh) == 3
    again = plan_round(
        index, [demand], states(index), today=TODAY, open_pairs=[("d", "weld")], config=config
    ).proposals
    assert len(again) == 2
    assert "weld" not in {p.specialist_id for p in again}


def test_round_honours_declines_capacity_and_the_per_round_limit(
    index: SpecialistIndex,
) -> None:
    demands = [DemandProfile(id=f"d{i}", title="焊接工艺", description="焊接") for i in range(4)]
    config = MatchConfig(top_k=1, min_score=0.0, min_evidence=0.0, max_new_per_specialist=2)
    proposals = plan_round(
        index,
        demands,
        states(index, ndt=SpecialistState(capacity=1, open_count=1)),
        today=TODAY,
        declined=[("d0", "weld")],
        config=config,
    )
    chosen = [(p.demand_id, p.specialist_id) for p in proposals.proposals]
    assert ("d0", "weld") not in chosen
    assert sum(1 for _, s in chosen if s == "weld") == 2
    assert all(s != "ndt" for _, s in chosen)
    assert len(chosen) == 4  # every demand still gets someone


def test_round_drops_pairs_below_the_minimum_score(index: SpecialistIndex) -> None:
    demand = DemandProfile(id="d", title="市场营销", description="销售渠道")
    config = MatchConfig(min_score=0.3)
    assert plan_round(index, [demand], states(index), today=TODAY, config=config).proposals == []

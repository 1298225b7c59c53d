"""A match round: proposals for all open demands at once, best total under the limits.

Proposing demand by demand (greedy) lets the first demand take a specialist
that a later demand needed more, while the first had a near-equal
alternative. The round instead solves a bipartite b-matching: choose pairs
(x = 1) to maximise the sum of their values, with each demand getting at most
its open slots (K minus the candidates it already has) and each specialist
at most their new slots (capacity left, capped per round). The constraint
matrix is that of a bipartite graph, hence totally unimodular, so the linear
programme has an integral optimum: HiGHS's dual simplex (scipy's linprog)
ends on a vertex, which is integral, in about 0.1 s for 40,000 pairs, where
the same problem posed as a MIP took 6 s. Should a solution ever come back
fractional, the MIP solver is asked instead.

Pairs come from each demand's shortlist and each specialist's best demands
(the index's cheap stage), limited to the programme's minimum score and to
pairs with subject evidence (the relevance floor): a demand whose only
candidates share a city or generic words gets nobody, and the digest says so.
A pair's value is its score plus the configured preferences (Liaoning
institution, same city), which only break near-ties.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from matching.index import DEFAULT_CONFIG, Edges, SpecialistIndex
from matching.rules import Eligibility, Pair, new_slots
from matching.semantic import Vectors
from matching.signals import Signal, adjust
from matching.types import DemandProfile, MatchConfig, Proposal, SpecialistState


def solve(
    edges: Edges,
    value: NDArray[np.float64],
    demand_slots: NDArray[np.int64],
    specialist_slots: NDArray[np.int64],
) -> NDArray[np.bool_]:
    """Which edges to take: maximum total value, within both sides' slots.

    Most edges cannot win (a specialist with three slots has about ninety), so
    the programme is first solved on each specialist's best few edges, then any
    left-out edge the duals say would raise the total is added and it is solved
    again (column generation). It ends with no such edge, which makes the
    restricted optimum the whole problem's.
    """
    count = edges.demand.size
    if count == 0:
        return np.zeros(0, dtype=bool)
    limits = np.concatenate((demand_slots, specialist_slots)).astype(np.float64)
    taken = _best_of_each(edges.specialist, value, specialist_slots * _FIRST_EDGES)
    while True:
        subset = np.flatnonzero(taken)
        relaxed = linprog(
            -value[subset],
            A_ub=_incidence(edges, subset, demand_slots.size, specialist_slots.size),
            b_ub=limits,
            bounds=(0, 1),
            method="highs-ds",
        )
        if relaxed.x is None:
            break
        duals = relaxed.ineqlin.marginals  # <= 0: what one more slot would add, negated
        reduced = -value - duals[edges.demand] - duals[demand_slots.size + edges.specialist]
        better = ~taken & (reduced < -_TOLERANCE)
        if not better.any():
            break
        taken |= better
    x = np.zeros(count)
    if relaxed.x is not None:
        x[subset] = relaxed.x
    if relaxed.x is None or np.any(np.abs(x - np.round(x)) > 1e-6):
        everything = np.arange(count)
        exact = milp(
            c=-value,
            constraints=LinearConstraint(
                _incidence(edges, everything, demand_slots.size, specialist_slots.size),
                -np.inf,
                limits,
            ),
            integrality=np.ones(count),
            bounds=Bounds(0, 1),
        )
        if exact.x is None:
            raise RuntimeError(f"assignment failed: {exact.message}")
        x = exact.x
    return np.asarray(x > 0.5)


_FIRST_EDGES = 3
"""Edges per specialist's slot in the first restricted programme: on the long-round
benchmark it already holds the optimum, and solves in a fifth of the whole problem's time."""
_TOLERANCE = 1e-9


def _best_of_each(
    owner: NDArray[np.int64], value: NDArray[np.float64], keep: NDArray[np.int64]
) -> NDArray[np.bool_]:
    """Each owner's ``keep[owner]`` best edges."""
    order = np.lexsort((-value, owner))
    grouped = owner[order]
    first = np.searchsorted(grouped, grouped)  # where each owner's run starts
    chosen = np.zeros(owner.size, dtype=bool)
    chosen[order] = np.arange(owner.size) - first < keep[grouped]
    return chosen


def _incidence(
    edges: Edges, subset: NDArray[np.int64], demands: int, specialists: int
) -> sp.csr_matrix:
    """One row per demand then per specialist, one column per edge of ``subset``."""
    columns = np.arange(subset.size)
    ones = np.ones(subset.size)
    return sp.vstack(
        (
            sp.csr_matrix((ones, (edges.demand[subset], columns)), shape=(demands, subset.size)),
            sp.csr_matrix(
                (ones, (edges.specialist[subset], columns)), shape=(specialists, subset.size)
            ),
        )
    ).tocsr()


@dataclass(frozen=True, slots=True)
class RoundPlan:
    """A round's choice, and the demands nobody suits.

    ``unsuited``: demands with no proposal open for which no eligible
    specialist has subject evidence: what a programme officer recruits for.
    """

    proposals: list[Proposal]
    unsuited: tuple[str, ...]


def plan_round(
    index: SpecialistIndex,
    demands: Sequence[DemandProfile],
    states: Mapping[str, SpecialistState],
    *,
    today: dt.date,
    open_pairs: Collection[Pair] = (),
    declined: Collection[Pair] = (),
    config: MatchConfig = DEFAULT_CONFIG,
    meanings: Vectors | None = None,
    signals: Sequence[Signal] = (),
) -> RoundPlan:
    """New proposals for the open demands, best total score first per demand.

    ``open_pairs`` are proposals still open (they use up the demand's K and
    are not proposed again); ``declined`` pairs are never proposed again.
    ``meanings``: the demands' vectors, if the index has the semantic channel
    and they were embedded already. ``signals``: outcomes of earlier pairings
    (matching.signals), which bar near copies of a "not my field" and move
    scores and order for demands like theirs.
    """
    eligibility = Eligibility(index, states, today, excluded={*open_pairs, *declined})
    already = Counter(demand_id for demand_id, _ in open_pairs)
    demand_slots = np.array([max(0, config.top_k - already[d.id]) for d in demands], dtype=np.int64)
    specialist_slots = np.array(
        [new_slots(states[sid], config) if sid in states else 0 for sid in index.ids],
        dtype=np.int64,
    )
    wanted = [i for i, slots in enumerate(demand_slots) if slots > 0]
    open_demands = [demands[i] for i in wanted]
    scored = index.score_all(
        open_demands,
        per_demand=config.shortlist,
        per_specialist=config.max_new_per_specialist * 2,
        mask=eligibility.mask(open_demands),
        meanings=None if meanings is None else meanings[wanted],
    )
    learnt = adjust(
        index.corpus.analyzer,
        scored.texts,
        signals,
        scored.edges.demand,
        scored.edges.specialist,
        index.position,
    )
    everything = dataclasses.replace(scored.edges, score=scored.edges.score * learnt.factor)
    good = np.flatnonzero(
        (everything.score >= config.min_score)
        & (everything.evidence >= config.min_evidence)
        & ~learnt.barred
    )
    edges = everything.taking(good)
    value = edges.score.astype(np.float64) + (index.preference(scored, config) + learnt.bonus)[good]
    chosen = np.flatnonzero(solve(edges, value, demand_slots[wanted], specialist_slots))
    picked = chosen[np.lexsort((-value[chosen], edges.demand[chosen]))]
    reasons = index.reasons(scored, good[picked])
    evident = np.zeros(len(open_demands), dtype=bool)
    evident[everything.demand[(everything.evidence >= config.min_evidence) & ~learnt.barred]] = True
    return RoundPlan(
        [
            Proposal(
                demand_id=open_demands[edges.demand[i]].id,
                specialist_id=index.ids[edges.specialist[i]],
                score=round(float(edges.score[i]), 4),
                reasons=why,
            )
            for i, why in zip(picked, reasons, strict=True)
        ],
        tuple(
            d.id
            for d, found in zip(open_demands, evident, strict=True)
            if not (found or already[d.id])
        ),
    )
